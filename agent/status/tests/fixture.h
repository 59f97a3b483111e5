// A real state database for the status tests, written through fep::store::StateStore.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "adapters/base/clock.h"
#include "agent/store/state_store.h"

namespace fep::status::testing {

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("fep-status-" + new_uuid());
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path db() const { return path / "state.db"; }
};

inline store::BatchOutcome outcome(const std::string& resource, const std::string& batch,
                                   int64_t seq, const std::string& status, int64_t rows) {
  store::BatchOutcome o;
  o.batch_id = batch;
  o.resource_id = resource;
  o.seq = seq;
  o.status = status;
  o.rows = rows;
  o.deleted = status == "applied" ? 1 : 0;
  if (status == "rejected") {
    o.error_code = "PAYLOAD_INVALID";
    o.error_message = "line 4: expected 5 fields, found 3";
  }
  o.outcome_at = rfc3339_now();
  o.receipt_id = "rcpt-" + batch;
  o.receipt_body = "{\"batch_id\":\"" + batch + "\"}";
  return o;
}

// R-A 企业登记信息: two applied batches (100 + 20 rows), receipts delivered.
// R-B 不动产登记 "quoted": one applied batch (7 rows), then a rejected one: blocked; its
// rejected receipt still pending. A refused receipt for R-A's first batch. Closed on return.
inline void populate(const std::filesystem::path& db) {
  auto store = store::StateStore::open(db);
  REQUIRE(store.ok());
  REQUIRE(
      store->upsert_subscription({"R-A", "企业登记信息", "table", "市场监督管理局", "", "approved"})
          .ok());
  REQUIRE(store
              ->upsert_subscription(
                  {"R-B", "不动产登记 \"quoted\" \\ x", "table", "自然资源局", "", "approved"})
              .ok());
  for (const auto& [r, b, seq, st, rows] :
       {std::tuple{"R-A", "A-1", 1, "applied", 100}, std::tuple{"R-A", "A-2", 2, "applied", 20},
        std::tuple{"R-B", "B-1", 1, "applied", 7}, std::tuple{"R-B", "B-2", 2, "rejected", 0}}) {
    REQUIRE(store->record_listed({b, r, seq, "full", ""}).ok());
    REQUIRE(store->record_outcome(outcome(r, b, seq, st, rows)).ok());
  }
  REQUIRE(store->receipt_delivered("rcpt-A-2", 201).ok());
  REQUIRE(store->receipt_delivered("rcpt-B-1", 201).ok());
  REQUIRE(store->receipt_refused("rcpt-A-1", 409, "batch already has a different receipt").ok());
  REQUIRE(store->add_event("warn", std::nullopt, std::nullopt, "a </script> in a message").ok());
}

}  // namespace fep::status::testing
