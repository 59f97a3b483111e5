#include <doctest/doctest.h>

#include <filesystem>

#include "adapters/base/clock.h"
#include "agent/store/migrations.h"
#include "agent/store/state_store.h"
#include "agent/store/tests/store_fixture.h"

using namespace fep;
using namespace fep::store;

namespace {

using store_test::outcome;
using store_test::TempDir;

StateStore open_with_resource(const TempDir& dir) {
  auto store = StateStore::open(dir.path / "state.db");
  REQUIRE(store.ok());
  REQUIRE(store
              ->upsert_subscription(
                  {"R-1", "企业登记信息", "table", "市场监督管理局", "unconditional", "approved"})
              .ok());
  return std::move(store).value();
}

}  // namespace

TEST_CASE("a new store is migrated to the latest schema version, and reopening keeps it") {
  TempDir dir;
  {
    auto store = StateStore::open(dir.path / "state.db");
    REQUIRE(store.ok());
    CHECK(*store->schema_version() == StateStore::kSchemaVersion);
  }
  auto again = StateStore::open(dir.path / "state.db");
  REQUIRE(again.ok());
  CHECK(*again->schema_version() == StateStore::kSchemaVersion);
}

TEST_CASE("a store written by a newer agent is refused") {
  TempDir dir;
  {
    auto db = Database::open(dir.path / "state.db");
    REQUIRE(db.ok());
    REQUIRE(db->exec("PRAGMA user_version = 99").ok());
  }
  auto store = StateStore::open(dir.path / "state.db");
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().message.find("newer") != std::string::npos);
}

TEST_CASE("the store runs in WAL mode") {
  TempDir dir;
  auto store = open_with_resource(dir);
  auto db = Database::open(dir.path / "state.db");
  std::string mode;
  REQUIRE(db->query("PRAGMA journal_mode", {}, [&](const Row& r) { mode = r.text(0); }).ok());
  CHECK(mode == "wal");
}

TEST_CASE("an applied outcome moves progress and queues exactly one receipt") {
  TempDir dir;
  auto store = open_with_resource(dir);
  REQUIRE(store.record_listed({"B-1", "R-1", 1, "full", "", {}}).ok());
  REQUIRE(store.set_batch_state("B-1", "applying").ok());
  auto o = outcome("B-1", 1, "applied");
  REQUIRE(store.record_outcome(o).ok());

  auto r = store.resource("R-1");
  REQUIRE((r.ok() && r->has_value()));
  CHECK((*r)->last_seq == 1);
  CHECK((*r)->rows == 10);
  CHECK((*r)->subscription.name == "企业登记信息");
  CHECK((*store.batch("B-1"))->state == "applied");

  // A second outcome for the same batch changes nothing: one batch, one receipt.
  auto again = outcome("B-1", 1, "rejected");
  REQUIRE(store.record_outcome(again).ok());
  auto pending = store.outbox("pending");
  REQUIRE(pending.ok());
  REQUIRE(pending->size() == 1);
  CHECK((*pending)[0].receipt_id == o.receipt_id);
  CHECK((*store.batch("B-1"))->state == "applied");
}

TEST_CASE("a rejection blocks the resource and records an error event") {
  TempDir dir;
  auto store = open_with_resource(dir);
  REQUIRE(store.record_listed({"B-2", "R-1", 2, "incremental", "", {}}).ok());
  REQUIRE(store.record_outcome(outcome("B-2", 2, "rejected")).ok());
  auto r = store.resource("R-1");
  CHECK((*r)->state == "blocked");
  CHECK((*r)->last_error.value().find("PAYLOAD_INVALID") != std::string::npos);
  CHECK_FALSE((*r)->last_seq.has_value());
  auto events = store.recent_events(10);
  REQUIRE(events.ok());
  REQUIRE_FALSE(events->empty());
  CHECK(events->front().level == "error");
}

TEST_CASE("receipts move from pending to delivered or refused") {
  TempDir dir;
  auto store = open_with_resource(dir);
  auto a = outcome("B-1", 1, "applied");
  auto b = outcome("B-2", 2, "applied");
  REQUIRE(store.record_listed({"B-1", "R-1", 1, "full", "", {}}).ok());
  REQUIRE(store.record_listed({"B-2", "R-1", 2, "full", "", {}}).ok());
  REQUIRE(store.record_outcome(a).ok());
  REQUIRE(store.record_outcome(b).ok());
  REQUIRE(store.receipt_attempt_failed(a.receipt_id, "connection refused").ok());
  CHECK(store.receipt_delivered(a.receipt_id, 201).value());
  // Another thread posted the same receipt meanwhile and is answered 200: recorded once; an
  // error it met on the way changes nothing either.
  CHECK_FALSE(store.receipt_delivered(a.receipt_id, 200).value());
  REQUIRE(store.receipt_refused(a.receipt_id, 409, "already answered").ok());
  REQUIRE(store.receipt_attempt_failed(a.receipt_id, "connection reset").ok());
  REQUIRE(store.receipt_refused(b.receipt_id, 409, "a different receipt is held").ok());

  auto all = store.outbox(std::nullopt);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].state == "delivered");
  CHECK((*all)[0].attempts == 2);
  CHECK((*all)[0].last_http_status == 201);
  CHECK((*all)[1].state == "refused");
  CHECK((*all)[1].last_http_status == 409);
  CHECK(store.outbox("pending")->empty());
}

TEST_CASE("a failed outcome transaction leaves nothing behind") {
  TempDir dir;
  auto store = open_with_resource(dir);
  REQUIRE(store.record_listed({"B-1", "R-1", 1, "full", "", {}}).ok());
  REQUIRE(store.record_listed({"B-2", "R-1", 2, "full", "", {}}).ok());
  auto a = outcome("B-1", 1, "applied");
  REQUIRE(store.record_outcome(a).ok());
  auto b = outcome("B-2", 2, "applied");
  b.receipt_id = a.receipt_id;  // the outbox insert fails on the duplicate receipt id
  CHECK_FALSE(store.record_outcome(b).ok());
  CHECK((*store.batch("B-2"))->state == "listed");
  CHECK((*store.resource("R-1"))->last_seq == 1);
}

TEST_CASE("the backlog's oldest waiting batch is the earliest instant, whatever its offset") {
  Backlog b;
  b.add_waiting("2026-11-20T09:00:00+08:00");  // 01:00 UTC
  b.add_waiting("2026-11-20T02:00:00Z");       // earlier as text, later as an instant
  b.add_waiting(std::nullopt);                 // listed without a publication time
  CHECK(b.waiting_batches == 3);
  CHECK(b.oldest_waiting_at == "2026-11-20T09:00:00+08:00");
  CHECK(b.lag_seconds(*parse_rfc3339("2026-11-20T01:10:00Z")) == 600);
  CHECK(b.lag_seconds(*parse_rfc3339("2026-11-20T00:00:00Z")) == 0);  // clocks disagree

  CHECK(Backlog{}.lag_seconds(0) == 0);  // nothing waits
  Backlog unknown;
  unknown.add_waiting(std::nullopt);
  CHECK_FALSE(unknown.lag_seconds(0));
}

namespace {

// batch_totals next to the sums it stands for, as "resource state batches rows deleted bytes".
std::pair<std::string, std::string> totals_and_sums(const std::filesystem::path& db_path) {
  auto db = Database::open(db_path);
  REQUIRE(db.ok());
  auto lines = [&](const std::string& sql) {
    std::string out;
    REQUIRE(db->query(sql, {}, [&](const Row& r) {
                for (int i = 0; i < 6; ++i) out += (i ? " " : "") + r.text(i);
                out += "\n";
              }).ok());
    return out;
  };
  return {lines("SELECT resource_id, state, batches, rows, deleted, payload_bytes FROM "
                "batch_totals WHERE batches > 0 ORDER BY resource_id, state"),
          lines("SELECT resource_id, state, count(*), sum(rows), sum(deleted), "
                "coalesce(sum(payload_bytes), 0) FROM batches GROUP BY resource_id, state "
                "ORDER BY resource_id, state")};
}

}  // namespace

TEST_CASE("the per-state batch totals follow every change of a batch") {
  TempDir dir;
  auto store = open_with_resource(dir);
  REQUIRE(store.record_listed({"B-1", "R-1", 1, "full", "", {}}).ok());
  REQUIRE(store.record_listed({"B-2", "R-1", 2, "incremental", "", {}}).ok());
  REQUIRE(store.record_listed({"B-3", "R-1", 3, "incremental", "", {}}).ok());
  REQUIRE(store.batch_started("B-1", 4096).ok());
  REQUIRE(store.set_batch_state("B-1", "applying").ok());
  REQUIRE(store.record_outcome(outcome("B-1", 1, "applied")).ok());
  REQUIRE(store.batch_started("B-2", 100).ok());
  REQUIRE(store.hold_batch("B-2", "R-1", "TARGET_ERROR", "x").ok());
  REQUIRE(store.retry("R-1", "tester").ok());     // back to listed
  REQUIRE(store.batch_started("B-2", 200).ok());  // downloaded again: the new size counts
  REQUIRE(store.record_outcome(outcome("B-2", 2, "applied")).ok());
  REQUIRE(store.record_outcome(outcome("B-3", 3, "rejected")).ok());
  REQUIRE(store.record_outcome(outcome("B-4", 4, "superseded")).ok());  // never listed

  auto [totals, sums] = totals_and_sums(dir.db());
  CHECK(totals == sums);
  CHECK(totals ==
        "R-1 applied 2 20 0 4296\n"
        "R-1 rejected 1 0 0 0\n"
        "R-1 superseded 1 0 0 0\n");
}

TEST_CASE("a schema 2 database gets its batch totals from the batches it holds") {
  TempDir dir;
  {
    auto db = Database::open(dir.db());
    REQUIRE(db.ok());
    REQUIRE(db->exec(std::string(kMigrations[0]) + std::string(kMigrations[1]) +
                     "PRAGMA user_version = 2;"
                     "INSERT INTO resources (resource_id, updated_at) VALUES ('R-1', 'x');"
                     "INSERT INTO batches (batch_id, resource_id, seq, mode, state, rows, "
                     "deleted, payload_bytes, updated_at) VALUES "
                     "('B-1', 'R-1', 1, 'full', 'applied', 5, 0, 10, 'x'), "
                     "('B-2', 'R-1', 2, 'incremental', 'applied', 3, 2, NULL, 'x'), "
                     "('B-3', 'R-1', 3, 'incremental', 'listed', 0, 0, NULL, 'x');")
                .ok());
  }
  auto store = StateStore::open(dir.db());
  REQUIRE(store.ok());
  auto [totals, sums] = totals_and_sums(dir.db());
  CHECK(totals == sums);
  CHECK(totals == "R-1 applied 2 8 2 10\nR-1 listed 1 0 0 0\n");
}

TEST_CASE("a skip records nothing once the held batch is no longer held") {
  TempDir dir;
  auto store = open_with_resource(dir);
  REQUIRE(store.record_listed({"B-1", "R-1", 1, "full", "", {}}).ok());
  REQUIRE(store.hold_batch("B-1", "R-1", "TARGET_ERROR", "disk refused").ok());
  // Another operator's `retry` sends it to a sync before this skip records its receipt.
  REQUIRE(store.retry("R-1", "other").ok());
  auto skip = outcome("B-1", 1, "rejected");
  skip.only_from_state = "failed";
  auto st = store.record_outcome(skip);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message == "batch B-1 is no longer failed (now listed): nothing recorded");
  CHECK((*store.batch("B-1"))->state == "listed");
  CHECK(store.outbox(std::nullopt)->empty());
  // And the resource is not blocked: the skip itself is refused, not logged.
  auto skipped = store.skipped("R-1", "B-1", "no longer needed", "tester");
  REQUIRE_FALSE(skipped.ok());
  CHECK(skipped.error().message == "R-1 is not blocked (any more): nothing skipped");
}
