#include "agent/sync/receipt.h"

#include <nlohmann/json.hpp>

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

}  // namespace fep
