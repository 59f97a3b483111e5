#include "agent/store/audit_log.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "adapters/base/clock.h"
#include "adapters/base/digest.h"

namespace fep::store {
namespace {

constexpr const char* kEntryColumns =
    "id, at, actor, action, resource_id, batch_id, detail, alg, prev_hash, hash";

// How far from its place `verify_audit` looks for the id an entry was written with.
constexpr int64_t kMoveSearch = 100000;

AuditEntry entry_from(const Row& r) {
  return AuditEntry{r.integer(0),       r.text(1), r.text(2), r.text(3), r.optional_text(4),
                    r.optional_text(5), r.text(6), r.text(7), r.text(8), r.text(9)};
}

const char* openssl_name(std::string_view alg) {
  if (alg == "sm3") return "SM3";
  if (alg == "sha256") return "SHA256";
  return nullptr;
}

void put(std::string& out, const std::optional<std::string_view>& field) {
  if (!field) {
    out += "-\n";
    return;
  }
  out += std::to_string(field->size());
  out += ':';
  out += *field;
  out += '\n';
}

std::optional<std::string> non_empty(const std::optional<std::string>& s) {
  return s && !s->empty() ? s : std::nullopt;
}

// A savepoint: a transaction of its own when none is open, a nested one inside the caller's.
// Rolled back on destruction unless released.
class Savepoint {
 public:
  Savepoint(Database& db, std::string name)
      : db_(db), name_(std::move(name)), begun_(db.exec("SAVEPOINT " + name_)) {}
  ~Savepoint() {
    if (begun_.ok() && !done_) {
      (void)db_.exec("ROLLBACK TO " + name_);
      (void)db_.exec("RELEASE " + name_);
    }
  }
  Savepoint(const Savepoint&) = delete;
  Savepoint& operator=(const Savepoint&) = delete;
  const Status& begun() const { return begun_; }
  Status release() {
    auto st = db_.exec("RELEASE " + name_);
    if (st.ok()) done_ = true;
    return st;
  }

 private:
  Database& db_;
  std::string name_;
  Status begun_;
  bool done_ = false;
};

std::string entries_range(int64_t first, int64_t last) {
  return first == last ? "entry " + std::to_string(first)
                       : "entries " + std::to_string(first) + " to " + std::to_string(last);
}

// The first place the walk found wrong, before it is explained.
struct Suspect {
  enum class Kind { gap, bad_alg, hash_mismatch, link_mismatch } kind;
  AuditEntry entry;
  int64_t expected_id = 0;    // the id the entry should have had
  std::string expected_prev;  // the hash of the entry before (or the genesis value)
  std::string computed;       // hash_mismatch: the hash of its contents
};

Expected<std::optional<int64_t>> id_where(Database& db, const char* column,
                                          const std::string& value, int64_t except) {
  std::optional<int64_t> out;
  auto st = db.query(std::string("SELECT id FROM audit_log WHERE ") + column +
                         " = ? AND id <> ? ORDER BY id LIMIT 1",
                     {value, except}, [&](const Row& r) { out = r.integer(0); });
  if (!st) return Unexpected{st.error()};
  return out;
}

// The id, other than its own, under which `e`'s contents hash to its stored hash.
std::optional<int64_t> written_as(AuditEntry e) {
  const int64_t at = e.id;
  for (int64_t d = 1; d <= kMoveSearch; ++d) {
    for (int64_t j : {at + d, at - d}) {
      if (j < 1) continue;
      e.id = j;
      if (audit_hash(e) == e.hash) return j;
    }
  }
  return std::nullopt;
}

Expected<AuditProblem> explain(Database& db, const Suspect& s) {
  const AuditEntry& e = s.entry;
  const std::string id = std::to_string(e.id);
  switch (s.kind) {
    case Suspect::Kind::gap: {
      // The entry that followed the last good one may have been moved elsewhere.
      auto moved = id_where(db, "prev_hash", s.expected_prev, -1);
      if (!moved) return Unexpected{moved.error()};
      const std::string before =
          s.expected_id == 1
              ? "the log starts at entry " + id
              : "the log goes from entry " + std::to_string(s.expected_id - 1) + " to entry " + id;
      if (*moved)
        return AuditProblem{s.expected_id, "reordered",
                            "entry " + std::to_string(s.expected_id) + ": reordered: it is now " +
                                "entry " + std::to_string(**moved) + " (" + before + ")"};
      return AuditProblem{s.expected_id, "deleted",
                          entries_range(s.expected_id, e.id - 1) + ": deleted: " + before};
    }
    case Suspect::Kind::bad_alg:
      return AuditProblem{e.id, "edited",
                          "entry " + id + ": edited: unknown hash algorithm \"" + e.alg + "\""};
    case Suspect::Kind::hash_mismatch: {
      auto j = written_as(e);
      if (!j)
        return AuditProblem{e.id, "edited",
                            "entry " + id +
                                ": edited: its contents do not match its hash (stored " + e.hash +
                                ", computed " + s.computed + ")"};
      auto linked = id_where(db, "hash", e.prev_hash, e.id);
      if (!linked) return Unexpected{linked.error()};
      const bool predecessor_kept = *linked || e.prev_hash == kAuditGenesis;
      if (*j > e.id && !predecessor_kept)
        return AuditProblem{e.id, "deleted",
                            "entry " + id + ": deleted before it: it was written as entry " +
                                std::to_string(*j) + "; the entry before it is gone and the " +
                                "later ones were renumbered"};
      return AuditProblem{
          e.id, "reordered",
          "entry " + id + ": reordered: it was written as entry " + std::to_string(*j)};
    }
    case Suspect::Kind::link_mismatch: {
      auto linked = id_where(db, "hash", e.prev_hash, e.id);
      if (!linked) return Unexpected{linked.error()};
      if (*linked && **linked != e.id - 1)
        return AuditProblem{e.id, "reordered",
                            "entry " + id + ": reordered: it follows entry " +
                                std::to_string(**linked) + " in the chain, not entry " +
                                std::to_string(e.id - 1)};
      if (e.id == 1)
        return AuditProblem{1, "edited",
                            "entry 1: edited: its prev_hash is not the genesis value (it was "
                            "rewritten with a recomputed hash, or entries before it were "
                            "deleted and the log renumbered)"};
      const std::string before = std::to_string(e.id - 1);
      return AuditProblem{e.id - 1, "edited",
                          "entry " + before + ": edited: entry " + id +
                              " recorded a different hash for it (it was rewritten with a "
                              "recomputed hash, or replaced)"};
    }
  }
  return fail("audit log: unexpected verification state");
}

Expected<std::optional<AuditProblem>> check_anchor(Database& db, const AuditHead& head,
                                                   const AuditAnchor& anchor) {
  const std::string id = std::to_string(anchor.id);
  if (anchor.id > head.last_id) {
    const std::string ends = head.last_id == 0
                                 ? "the log is empty"
                                 : "the log ends at entry " + std::to_string(head.last_id);
    return std::optional<AuditProblem>{AuditProblem{head.last_id + 1, "truncated",
                                                    entries_range(head.last_id + 1, anchor.id) +
                                                        ": deleted: entry " + id +
                                                        " was in the log (anchor), but " + ends}};
  }
  std::optional<std::string> hash;
  auto st = db.query("SELECT hash FROM audit_log WHERE id = ?", {anchor.id},
                     [&](const Row& r) { hash = r.text(0); });
  if (!st) return Unexpected{st.error()};
  if (hash == anchor.hash) return std::optional<AuditProblem>{};
  return std::optional<AuditProblem>{AuditProblem{
      anchor.id, "edited",
      "entry " + id + ": edited: its hash is " + hash.value_or("missing") + ", not the anchor's " +
          anchor.hash + " (the log was rewritten up to this entry, hashes recomputed)"}};
}

}  // namespace

std::string audit_canonical(const AuditEntry& e) {
  std::string out = "fep-agent audit v1\n";
  out.reserve(out.size() + e.at.size() + e.actor.size() + e.action.size() + e.detail.size() +
              e.prev_hash.size() + 160);
  const std::string id = std::to_string(e.id);
  put(out, id);
  put(out, e.at);
  put(out, e.actor);
  put(out, e.action);
  put(out, e.resource_id);
  put(out, e.batch_id);
  put(out, e.detail);
  put(out, e.alg);
  put(out, e.prev_hash);
  return out;
}

std::optional<std::string> audit_hash(const AuditEntry& entry) {
  const char* name = openssl_name(entry.alg);
  if (!name) return std::nullopt;
  Hasher hasher(name);
  if (!hasher.available()) return std::nullopt;
  hasher.update(audit_canonical(entry));
  return hasher.hex_digest();
}

std::string audit_detail(const nlohmann::json& object) {
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string operator_actor() {
  const uid_t uid = getuid();
  std::vector<char> buf(4096);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found && found->pw_name &&
      *found->pw_name)
    return std::string("operator:") + found->pw_name;
  return "operator:uid " + std::to_string(uid);
}

Status append_audit(Database& db, const AuditRecord& record) {
  if (record.action.empty()) return fail("audit log: a record without an action");
  Savepoint sp(db, "audit_append");
  if (!sp.begun()) return sp.begun();
  AuditEntry e;
  e.prev_hash = std::string(kAuditGenesis);
  auto st =
      db.query("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", {}, [&](const Row& r) {
        e.id = r.integer(0);
        e.prev_hash = r.text(1);
      });
  if (!st) return st;
  e.id += 1;
  e.at = rfc3339_now();
  e.actor = record.actor.empty() ? "agent" : record.actor;
  e.action = record.action;
  e.resource_id = non_empty(record.resource_id);
  e.batch_id = non_empty(record.batch_id);
  e.detail = record.detail.empty() ? "{}" : record.detail;
  e.alg = std::string(kAuditAlgorithm);
  auto hash = audit_hash(e);
  if (!hash) {  // an OpenSSL built without SM3
    e.alg = "sha256";
    hash = audit_hash(e);
  }
  if (!hash) return fail("audit log: neither SM3 nor SHA-256 is available from OpenSSL");
  e.hash = *hash;
  auto opt = [](const std::optional<std::string>& s) {
    return s ? SqlValue(*s) : SqlValue(nullptr);
  };
  st = db.run(
      "INSERT INTO audit_log (id, at, actor, action, resource_id, batch_id, detail, alg, "
      "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {e.id, e.at, e.actor, e.action, opt(e.resource_id), opt(e.batch_id), e.detail, e.alg,
       e.prev_hash, e.hash});
  if (!st) return st;
  return sp.release();
}

Expected<AuditHead> audit_head(Database& db) {
  AuditHead head;
  Savepoint sp(db, "audit_head");  // count and last entry from one snapshot
  if (!sp.begun()) return Unexpected{sp.begun().error()};
  auto st = db.query("SELECT count(*) FROM audit_log", {},
                     [&](const Row& r) { head.entries = r.integer(0); });
  if (st)
    st = db.query("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", {}, [&](const Row& r) {
      head.last_id = r.integer(0);
      head.hash = r.text(1);
    });
  if (!st) return Unexpected{st.error()};
  if (auto rel = sp.release(); !rel) return Unexpected{rel.error()};
  return head;
}

Expected<AuditAnchor> parse_audit_anchor(std::string_view text) {
  const auto bad = [&] {
    return fail("audit anchor \"" + std::string(text) +
                "\" is not ID:HASH (an entry id and its 64-digit hex hash, as audit verify "
                "prints them)");
  };
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 18) return bad();
  AuditAnchor anchor;
  for (char c : text.substr(0, colon)) {
    if (c < '0' || c > '9') return bad();
    anchor.id = anchor.id * 10 + (c - '0');
  }
  if (anchor.id < 1) return bad();
  anchor.hash = std::string(text.substr(colon + 1));
  if (anchor.hash.size() != kAuditGenesis.size()) return bad();
  for (char& c : anchor.hash) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return bad();
  }
  return anchor;
}

Status read_audit(Database& db, const std::function<void(const AuditEntry&)>& on_entry) {
  return db.query(std::string("SELECT ") + kEntryColumns + " FROM audit_log ORDER BY id", {},
                  [&](const Row& r) { on_entry(entry_from(r)); });
}

Expected<AuditVerification> verify_audit(Database& db, const std::optional<AuditAnchor>& anchor) {
  Savepoint sp(db, "audit_verify");  // one snapshot while the agent goes on appending
  if (!sp.begun()) return Unexpected{sp.begun().error()};
  AuditVerification out;
  std::optional<Suspect> suspect;
  std::optional<Error> error;
  int64_t expected_id = 1;
  std::string expected_prev(kAuditGenesis);
  auto st = read_audit(db, [&](const AuditEntry& e) {
    ++out.head.entries;
    out.head.last_id = e.id;
    out.head.hash = e.hash;
    if (suspect || error) return;
    auto suspect_as = [&](Suspect::Kind kind, std::string computed = {}) {
      suspect = Suspect{kind, e, expected_id, expected_prev, std::move(computed)};
    };
    if (e.id != expected_id) {
      suspect_as(Suspect::Kind::gap);
    } else if (!openssl_name(e.alg)) {
      suspect_as(Suspect::Kind::bad_alg);
    } else if (auto computed = audit_hash(e); !computed) {
      error = Error{"audit log: entry " + std::to_string(e.id) + " is hashed with " + e.alg +
                    ", which this system's OpenSSL does not provide"};
    } else if (*computed != e.hash) {
      suspect_as(Suspect::Kind::hash_mismatch, *computed);
    } else if (e.prev_hash != expected_prev) {
      suspect_as(Suspect::Kind::link_mismatch);
    }
    expected_id = e.id + 1;
    expected_prev = e.hash;
  });
  if (!st) return Unexpected{st.error()};
  if (error) return Unexpected{*error};
  if (suspect) {
    auto problem = explain(db, *suspect);
    if (!problem) return Unexpected{problem.error()};
    out.problem = std::move(problem).value();
  } else if (anchor) {
    auto problem = check_anchor(db, out.head, *anchor);
    if (!problem) return Unexpected{problem.error()};
    out.problem = std::move(problem).value();
  }
  if (auto rel = sp.release(); !rel) return Unexpected{rel.error()};
  return out;
}

}  // namespace fep::store
