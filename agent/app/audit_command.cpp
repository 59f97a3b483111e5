#include "agent/app/audit_command.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <ctime>
#include <iostream>
#include <system_error>

#include "agent/store/sqlite_db.h"

namespace fep::app {
namespace {

constexpr int kAuditSchemaVersion = 2;  // the migration that created audit_log

bool number(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// The state database, read-only, with an audit log in it.
Expected<store::Database> open_state(const std::filesystem::path& state_db) {
  std::error_code ec;
  if (!std::filesystem::exists(state_db, ec))
    return fail("no state database at " + state_db.string() +
                ": has fep-agent run with this state_dir?");
  auto db = store::Database::open_read_only(state_db);
  if (!db) return Unexpected{db.error()};
  int version = 0;
  auto st = db->query("PRAGMA user_version", {},
                      [&](const store::Row& r) { version = static_cast<int>(r.integer(0)); });
  if (!st) return Unexpected{st.error()};
  if (version < kAuditSchemaVersion)
    return fail("the state database " + state_db.string() + " has no audit log yet (schema " +
                std::to_string(version) + "): run this fep-agent once to bring it up to date");
  return db;
}

std::string csv_field(const std::optional<std::string>& value) {
  if (!value) return "";
  const std::string& v = *value;
  if (!v.empty() && v.find_first_of("\",\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

bool AuditArgs::parsed() const {
  return command && command->parsed();
}

void add_audit_command(CLI::App& cli, AuditArgs& args) {
  args.command = cli.add_subcommand(
      "audit", "check the tamper-evident audit log, or export it for an inspector");
  args.command->require_subcommand(1);
  args.verify = args.command->add_subcommand(
      "verify", "walk the hash chain; exit 2 naming the first edited, deleted or moved entry");
  args.verify->add_option(
      "--anchor", args.anchor,
      "ID:HASH of an entry seen earlier (as verify prints it): also check it is still there");
  args.export_ = args.command->add_subcommand(
      "export", "print the entries (with their hashes) as JSON lines or CSV");
  args.export_->add_option("--since", args.since,
                           "only entries from this date (YYYY-MM-DD, local) or RFC 3339 time");
  args.export_->add_option("--format", args.format, "jsonl (default) or csv")
      ->check(CLI::IsMember({"jsonl", "csv"}));
}

int run_audit(const Config& config, const AuditArgs& args) {
  const auto state_db = config.state_dir / "state.db";
  if (args.verify && args.verify->parsed())
    return run_audit_verify(state_db, args.anchor, std::cout, std::cerr);
  return run_audit_export(state_db, args.since, args.format, std::cout, std::cerr);
}

int run_audit_verify(const std::filesystem::path& state_db, const std::string& anchor_text,
                     std::ostream& out, std::ostream& err) {
  std::optional<store::AuditAnchor> anchor;
  if (!anchor_text.empty()) {
    auto parsed = store::parse_audit_anchor(anchor_text);
    if (!parsed) {
      err << "fep-agent: " << parsed.error().message << "\n";
      return 1;
    }
    anchor = *parsed;
  }
  auto db = open_state(state_db);
  if (!db) {
    err << "fep-agent: " << db.error().message << "\n";
    return 1;
  }
  auto v = store::verify_audit(*db, anchor);
  if (!v) {
    err << "fep-agent: " << v.error().message << "\n";
    return 1;
  }
  if (v->problem) {
    out << "audit log broken: " << v->problem->message << "\n";
    return 2;
  }
  out << v->head.entries << (v->head.entries == 1 ? " entry" : " entries") << ", chain intact";
  if (v->head.entries > 0) out << "; head " << v->head.last_id << ":" << v->head.hash;
  if (anchor) out << "; anchor " << anchor->id << " found";
  out << "\n";
  return 0;
}

int run_audit_export(const std::filesystem::path& state_db, const std::string& since_text,
                     const std::string& format, std::ostream& out, std::ostream& err) {
  std::optional<int64_t> since;
  if (!since_text.empty()) {
    since = parse_audit_time(since_text, true);
    if (!since) {
      err << "fep-agent: --since " << since_text
          << ": not a date (YYYY-MM-DD) or an RFC 3339 time (2026-11-20T08:00:00+08:00)\n";
      return 1;
    }
  }
  if (format != "jsonl" && format != "csv") {
    err << "fep-agent: --format " << format << ": jsonl or csv\n";
    return 1;
  }
  auto db = open_state(state_db);
  if (!db) {
    err << "fep-agent: " << db.error().message << "\n";
    return 1;
  }
  const bool csv = format == "csv";
  if (csv) out << kAuditCsvHeader;
  auto st = store::read_audit(*db, [&](const store::AuditEntry& e) {
    if (since) {
      // An entry whose time cannot be read is shown: it is for the inspector to judge.
      auto at = parse_audit_time(e.at, false);
      if (at && *at < *since) return;
    }
    out << (csv ? audit_csv(e) : audit_jsonl(e));
  });
  out.flush();
  if (!st) {
    err << "fep-agent: " << st.error().message << "\n";
    return 1;
  }
  return 0;
}

std::optional<int64_t> parse_audit_time(std::string_view s, bool date_allowed) {
  int year = 0, month = 0, day = 0;
  if (!number(s, 0, 4, year) || s.size() < 10 || s[4] != '-' || !number(s, 5, 2, month) ||
      s[7] != '-' || !number(s, 8, 2, day) || month < 1 || month > 12 || day < 1 || day > 31)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  const auto same_day = [&](const std::tm& t) {
    return t.tm_year == year - 1900 && t.tm_mon == month - 1 && t.tm_mday == day;
  };
  if (s.size() == 10) {
    if (!date_allowed) return std::nullopt;
    tm.tm_isdst = -1;
    const std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1) || !same_day(tm)) return std::nullopt;
    return static_cast<int64_t>(t);
  }
  int hour = 0, minute = 0, second = 0;
  if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !number(s, 11, 2, hour) || s.size() < 19 ||
      s[13] != ':' || !number(s, 14, 2, minute) || s[16] != ':' || !number(s, 17, 2, second) ||
      hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    const size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;  // RFC 3339 needs the offset
  int64_t offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh = 0, om = 0;
    if (!number(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !number(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = (s[pos] == '-' ? -1 : 1) * (int64_t{oh} * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  if (!same_day(tm) && second != 60) return std::nullopt;
  return static_cast<int64_t>(t) - offset;
}

std::string audit_jsonl(const store::AuditEntry& e) {
  const auto opt = [](const std::optional<std::string>& s) {
    return s ? nlohmann::ordered_json(*s) : nlohmann::ordered_json(nullptr);
  };
  nlohmann::ordered_json line{{"id", e.id},
                              {"at", e.at},
                              {"actor", e.actor},
                              {"action", e.action},
                              {"resource_id", opt(e.resource_id)},
                              {"batch_id", opt(e.batch_id)},
                              {"detail", e.detail},
                              {"alg", e.alg},
                              {"prev_hash", e.prev_hash},
                              {"hash", e.hash}};
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::string audit_csv(const store::AuditEntry& e) {
  std::string out = std::to_string(e.id);
  for (const auto& field :
       {std::optional<std::string>(e.at), std::optional<std::string>(e.actor),
        std::optional<std::string>(e.action), e.resource_id, e.batch_id,
        std::optional<std::string>(e.detail), std::optional<std::string>(e.alg),
        std::optional<std::string>(e.prev_hash), std::optional<std::string>(e.hash)}) {
    out += ',';
    out += csv_field(field);
  }
  return out + "\r\n";
}

}  // namespace fep::app
