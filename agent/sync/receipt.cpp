#include "agent/sync/receipt.h"

#include <nlohmann/json.hpp>

#include "adapters/base/clock.h"

namespace fep {

std::string receipt_body(const ReceiptFields& r) {
  nlohmann::ordered_json counts;
  if (r.kind == ResourceKind::table) {
    counts["rows"] = r.rows_or_files;
    counts["deleted"] = r.deleted;
  } else {
    counts["files"] = r.rows_or_files;
    counts["deleted"] = r.deleted;
    counts["bytes"] = r.bytes;
  }
  nlohmann::ordered_json body;
  body["receipt_id"] = r.receipt_id;
  body["batch_id"] = r.batch_id;
  body["resource_id"] = r.resource_id;
  body["seq"] = r.seq;
  body["node"] = r.node;
  body["status"] = r.status;
  body["counts"] = counts;
  body["payload_sha256"] = r.payload_sha256 ? nlohmann::ordered_json(*r.payload_sha256) : nullptr;
  body["applied_at"] = r.applied_at;
  if (r.error)
    body["error"] = {{"code", std::string(to_string(r.error->code))},
                     {"message", r.error->message}};
  else
    body["error"] = nullptr;
  body["agent"] = "fep-agent/" FEP_VERSION;
  // Messages may quote bytes from a payload: never let invalid UTF-8 break the receipt.
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

store::BatchOutcome make_outcome(const std::string& node, const std::string& resource_id,
                                 const BatchListing& listing, ResourceKind kind,
                                 std::string_view status, const AppliedCounts& counts,
                                 const std::optional<std::string>& payload_sha256,
                                 const std::optional<Rejection>& error) {
  ReceiptFields r;
  r.receipt_id = new_uuid();
  r.batch_id = listing.batch_id;
  r.resource_id = resource_id;
  r.seq = listing.seq;
  r.node = node;
  r.status = std::string(status);
  r.kind = kind;
  r.rows_or_files = counts.rows;
  r.deleted = counts.deleted;
  r.bytes = counts.bytes;
  r.payload_sha256 = payload_sha256;
  r.applied_at = rfc3339_now();
  r.error = error;

  store::BatchOutcome o;
  o.batch_id = r.batch_id;
  o.resource_id = r.resource_id;
  o.seq = r.seq;
  o.status = r.status;
  o.rows = counts.rows;
  o.deleted = counts.deleted;
  if (error) {
    o.error_code = std::string(to_string(error->code));
    o.error_message = error->message;
  }
  o.outcome_at = r.applied_at;
  o.receipt_id = r.receipt_id;
  o.receipt_body = receipt_body(r);
  return o;
}

}  // namespace fep
