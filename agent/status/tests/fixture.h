// A real state database for the status tests, written through fep::store::StateStore.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
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
    REQUIRE(store->record_listed({b, r, seq, "full", "", "2026-11-20T02:00:00+08:00"}).ok());
    REQUIRE(store->record_outcome(outcome(r, b, seq, st, rows)).ok());
  }
  REQUIRE(store->receipt_delivered("rcpt-A-2", 201).ok());
  REQUIRE(store->receipt_delivered("rcpt-B-1", 201).ok());
  REQUIRE(store->receipt_refused("rcpt-A-1", 409, "batch already has a different receipt").ok());
  REQUIRE(store->add_event("warn", std::nullopt, std::nullopt, "a </script> in a message").ok());
}

// RFC 3339 of `seconds_ago` seconds before now.
inline std::string ago(int64_t seconds_ago) {
  return rfc3339(std::chrono::system_clock::now() - std::chrono::seconds(seconds_ago));
}

// Adds, to a populated database, two resources with a backlog:
// R-C 人口基础信息: C-1 (full, published 3 h ago, 4096 payload bytes) applied, its receipt
// pending; C-2 (incremental, published 2 h ago, 2048 bytes) held by the target
// (SCHEMA_MISMATCH): blocked; C-3 (published 1 h ago) listed behind it.
// R-D 法人单位信息: D-1 applied and receipted; then a resync requested, and D-2 (incremental,
// published 30 min ago) listed while the resource waits for the next full batch (paused).
inline void populate_backlog(const std::filesystem::path& db) {
  auto store = store::StateStore::open(db);
  REQUIRE(store.ok());
  REQUIRE(
      store->upsert_subscription({"R-C", "人口基础信息", "table", "公安局", "", "approved"}).ok());
  REQUIRE(
      store->upsert_subscription({"R-D", "法人单位信息", "table", "统计局", "", "approved"}).ok());
  REQUIRE(store->record_listed({"C-1", "R-C", 1, "full", "", ago(3 * 3600)}).ok());
  REQUIRE(store->batch_started("C-1", 4096).ok());
  REQUIRE(store->record_outcome(outcome("R-C", "C-1", 1, "applied", 50)).ok());
  REQUIRE(store->record_listed({"C-2", "R-C", 2, "incremental", "", ago(2 * 3600)}).ok());
  REQUIRE(store->batch_started("C-2", 2048).ok());
  REQUIRE(store
              ->hold_batch("C-2", "R-C", "SCHEMA_MISMATCH",
                           "table people: column name changes from varchar(50) to bigint")
              .ok());
  REQUIRE(store->record_listed({"C-3", "R-C", 3, "incremental", "", ago(3600)}).ok());

  REQUIRE(store->record_listed({"D-1", "R-D", 1, "full", "", ago(86400)}).ok());
  REQUIRE(store->record_outcome(outcome("R-D", "D-1", 1, "applied", 9)).ok());
  REQUIRE(store->receipt_delivered("rcpt-D-1", 201).ok());
  REQUIRE(store->request_resync("R-D", "tester").ok());
  REQUIRE(store->record_listed({"D-2", "R-D", 2, "incremental", "", ago(1800)}).ok());
  REQUIRE(store
              ->set_resource_state("R-D", store::kPaused,
                                   "resync: waiting for the next full batch (1 incremental "
                                   "batches wait)")
              .ok());
}

}  // namespace fep::status::testing
