// The tamper-evident audit log: an append-only hash chain in the state database. Every entry
// carries the hash of the one before it, so an edited, deleted or reordered entry shows.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/base/expected.h"
#include "agent/store/sqlite_db.h"

namespace fep::store {

struct AuditRecord {
  std::string action;  // batch.received, batch.applied, receipt.accepted, operator.skip, ...
  std::string actor;   // "agent", or "operator:<user name>"
  std::optional<std::string> resource_id;
  std::optional<std::string> batch_id;
  std::string detail;  // a JSON object with the facts of the action
};

// One stored entry, as the chain hashes it.
struct AuditEntry {
  int64_t id = 0;  // 1, 2, 3 ... without gaps
  std::string at;  // RFC 3339, local offset
  std::string actor;
  std::string action;
  std::optional<std::string> resource_id;
  std::optional<std::string> batch_id;
  std::string detail;
  std::string alg;  // sm3 | sha256
  std::string prev_hash;
  std::string hash;
};

// The prev_hash of the first entry.
inline constexpr std::string_view kAuditGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";
// New entries are hashed with SM3 (GB/T 32905); SHA-256 only where OpenSSL has no SM3.
inline constexpr std::string_view kAuditAlgorithm = "sm3";

// The bytes an entry's hash covers: "fep-agent audit v1\n", then id, at, actor, action,
// resource_id, batch_id, detail, alg and prev_hash, each as "<byte length>:<bytes>\n", or "-\n"
// when NULL.
std::string audit_canonical(const AuditEntry& entry);
// The hash of `entry` under its own `alg`; nullopt when the algorithm is unknown or unavailable.
std::optional<std::string> audit_hash(const AuditEntry& entry);

// Appends `record` to the chain. Runs inside the caller's transaction when one is open, so the
// entry commits (or rolls back) with the change it records. Without one it runs in a
// transaction of its own; StateStore::audit() is the better way then (it takes the write lock
// before reading the chain's end).
Status append_audit(Database& db, const AuditRecord& record);

// A JSON object as `detail` text; invalid UTF-8 in strings (a message quoting payload bytes)
// is replaced, never thrown on.
std::string audit_detail(const nlohmann::json& object);

// "operator:<login name of this process's user>" (or "operator:uid <n>" without a name).
std::string operator_actor();

// The end of the chain: how many entries and the last one's id and hash. An anchor kept
// outside the state database (a log line, an inspector's note) makes a cut-off tail visible.
struct AuditHead {
  int64_t entries = 0;
  int64_t last_id = 0;
  std::string hash{kAuditGenesis};
};
Expected<AuditHead> audit_head(Database& db);

// An entry an earlier verification or log line saw: `verify_audit` checks the log still holds
// it unchanged. Written as "ID:HASH".
struct AuditAnchor {
  int64_t id = 0;
  std::string hash;
};
Expected<AuditAnchor> parse_audit_anchor(std::string_view text);

struct AuditProblem {
  int64_t id = 0;    // the first bad entry (or the first missing one)
  std::string kind;  // edited | deleted | reordered | truncated
  std::string message;
};

struct AuditVerification {
  AuditHead head;
  std::optional<AuditProblem> problem;  // the first one found; none: the chain is intact
};

// Walks the whole chain in id order: every id follows the one before it, every hash matches
// its entry, every prev_hash is the hash of the entry before. Reads one snapshot. An error is a
// failure to read, not a broken chain.
Expected<AuditVerification> verify_audit(Database& db,
                                         const std::optional<AuditAnchor>& anchor = std::nullopt);

// Calls `on_entry` for every entry in id order.
Status read_audit(Database& db, const std::function<void(const AuditEntry&)>& on_entry);

}  // namespace fep::store
