// The receipt (回执) body of protocol section 5: every field, always, in the protocol's order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "agent/batch/manifest.h"
#include "agent/batch/rejection.h"
#include "agent/store/state_store.h"
#include "agent/sync/apply_result.h"

namespace fep {

struct ReceiptFields {
  std::string receipt_id;
  std::string batch_id;
  std::string resource_id;
  int64_t seq = 0;
  std::string node;
  std::string status;  // applied | rejected | superseded
  ResourceKind kind = ResourceKind::table;
  int64_t rows_or_files = 0;  // rows (tables) or files (folders)
  int64_t deleted = 0;
  int64_t bytes = 0;  // folders only
  std::optional<std::string> payload_sha256;
  std::string applied_at;
  std::optional<Rejection> error;
};

std::string receipt_body(const ReceiptFields& r);

// A batch's outcome with its receipt, built once: the state store records both together and
// the outbox posts that exact body until the platform acknowledges it.
store::BatchOutcome make_outcome(const std::string& node, const std::string& resource_id,
                                 const BatchListing& listing, ResourceKind kind,
                                 std::string_view status, const AppliedCounts& counts,
                                 const std::optional<std::string>& payload_sha256,
                                 const std::optional<Rejection>& error);

}  // namespace fep
