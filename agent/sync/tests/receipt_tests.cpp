#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "agent/sync/receipt.h"

using namespace fep;

TEST_CASE("an applied table receipt has every field, error null") {
  ReceiptFields r;
  r.receipt_id = "id-1";
  r.batch_id = "B-1";
  r.resource_id = "R-1";
  r.seq = 12;
  r.node = "N-1";
  r.status = "applied";
  r.rows_or_files = 1000;
  r.deleted = 3;
  r.payload_sha256 = std::string(64, 'a');
  r.applied_at = "2026-11-20T02:03:11+08:00";
  auto j = nlohmann::json::parse(receipt_body(r));
  for (const char* key : {"receipt_id", "batch_id", "resource_id", "seq", "node", "status",
                          "counts", "payload_sha256", "applied_at", "error", "agent"})
    CHECK(j.contains(key));
  CHECK(j.size() == 11);
  CHECK(j["counts"] == nlohmann::json({{"rows", 1000}, {"deleted", 3}}));
  CHECK(j["error"].is_null());
  CHECK(j["agent"].get<std::string>().rfind("fep-agent/", 0) == 0);
}

TEST_CASE("a rejected receipt carries the code and a null sha when nothing was downloaded") {
  ReceiptFields r;
  r.status = "rejected";
  r.error = Rejection{RejectCode::manifest_invalid, "protocol: must be 1"};
  auto j = nlohmann::json::parse(receipt_body(r));
  CHECK(j["payload_sha256"].is_null());
  CHECK(j["error"]["code"] == "MANIFEST_INVALID");
  CHECK(j["counts"] == nlohmann::json({{"rows", 0}, {"deleted", 0}}));
}

TEST_CASE("folder counts have files, deleted and bytes") {
  ReceiptFields r;
  r.kind = ResourceKind::folder;
  r.rows_or_files = 2;
  r.bytes = 10;
  auto j = nlohmann::json::parse(receipt_body(r));
  CHECK(j["counts"] == nlohmann::json({{"files", 2}, {"deleted", 0}, {"bytes", 10}}));
}

TEST_CASE("invalid UTF-8 in a message does not break the receipt") {
  ReceiptFields r;
  r.status = "rejected";
  r.error = Rejection{RejectCode::payload_invalid, std::string("bad \xff byte")};
  CHECK(nlohmann::json::accept(receipt_body(r)));
}
