// `fep-agent audit verify|export`: checks the tamper-evident audit log and exports it for
// inspectors. Reads the state database read-only, so it works while the daemon runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "agent/config/config.h"
#include "agent/store/audit_log.h"

namespace CLI {
class App;
}

namespace fep::app {

// What the command line asked for; filled while the command line is parsed.
struct AuditArgs {
  CLI::App* command = nullptr;
  CLI::App* verify = nullptr;
  CLI::App* export_ = nullptr;
  std::string anchor;  // verify --anchor ID:HASH
  std::string since;   // export --since DATE
  std::string format = "jsonl";
  bool parsed() const;
};

// Adds `audit` with its `verify` and `export` subcommands to `cli`; `args` must outlive parsing.
void add_audit_command(CLI::App& cli, AuditArgs& args);
// Runs the parsed `audit` subcommand: 0, 2 when the chain is broken, 1 on an error.
int run_audit(const Config& config, const AuditArgs& args);

int run_audit_verify(const std::filesystem::path& state_db, const std::string& anchor,
                     std::ostream& out, std::ostream& err);
int run_audit_export(const std::filesystem::path& state_db, const std::string& since,
                     const std::string& format, std::ostream& out, std::ostream& err);

// Seconds since the epoch of an RFC 3339 time (2026-11-20T02:03:11+08:00, fractions allowed) or,
// with `date_allowed`, of a date (YYYY-MM-DD: its start in the local time zone).
std::optional<int64_t> parse_audit_time(std::string_view text, bool date_allowed);

// One entry as a JSON line (detail as the exact text the hash covers) or a CSV record (RFC
// 4180: quoted when needed, CRLF; NULL is an empty field, an empty string is "").
std::string audit_jsonl(const store::AuditEntry& e);
std::string audit_csv(const store::AuditEntry& e);
inline constexpr std::string_view kAuditCsvHeader =
    "id,at,actor,action,resource_id,batch_id,detail,alg,prev_hash,hash\r\n";

}  // namespace fep::app
