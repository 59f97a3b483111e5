// The tamper-evident audit log: an append-only hash chain in the state database. Every entry
// carries the hash of the one before it, so an edited, deleted or reordered entry shows.
#pragma once

#include <optional>
#include <string>

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

// Appends `record` to the chain. Runs inside the caller's transaction when one is open, so the
// entry commits (or rolls back) with the change it records.
Status append_audit(Database& db, const AuditRecord& record);

}  // namespace fep::store
