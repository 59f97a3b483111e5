#include <doctest/doctest.h>

#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <stdexcept>

#include "agent/status/render.h"
#include "agent/status/state_reader.h"
#include "agent/status/tests/fixture.h"
#include "agent/store/migrations.h"

using namespace fep;
using namespace fep::status;
using namespace fep::status::testing;

TEST_CASE("a missing state database is an error, and the reader does not create it") {
  TempDir dir;
  auto reader = StateReader::open(dir.db());
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.error().message.find("read-only") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir.db()));
}

TEST_CASE("an empty file has no schema: the reader says so") {
  TempDir dir;
  { std::ofstream(dir.db()).flush(); }
  auto reader = StateReader::open(dir.db());
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.error().message.find("no schema") != std::string::npos);
}

TEST_CASE("the reader opens a WAL database that no writer has open, and cannot write") {
  TempDir dir;
  populate(dir.db());  // every writer closed: the -wal file is gone
  auto reader = StateReader::open(dir.db());
  REQUIRE(reader.ok());
  auto s = reader->snapshot("2000-01-01", 5);
  REQUIRE(s.ok());
  CHECK(s->resources.size() == 2);
  CHECK(s->schema_version == store::StateStore::kSchemaVersion);
  CHECK(s->recent_events.size() == 5);

  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(dir.db().c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  CHECK(sqlite3_exec(raw, "DELETE FROM events", nullptr, nullptr, nullptr) == SQLITE_READONLY);
  sqlite3_close(raw);
}

TEST_CASE("reading does not wait for a writer holding its write transaction open") {
  TempDir dir;
  populate(dir.db());
  auto writer = store::StateStore::open(dir.db());  // keeps WAL mode and its files
  REQUIRE(writer.ok());
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(dir.db().c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw,
                       "BEGIN IMMEDIATE; INSERT INTO events (at, level, message) "
                       "VALUES ('2026-01-01T00:00:00Z', 'info', 'uncommitted')",
                       nullptr, nullptr, nullptr) == SQLITE_OK);

  auto reader = StateReader::open(dir.db());
  REQUIRE(reader.ok());
  const auto started = std::chrono::steady_clock::now();
  auto s = reader->snapshot("2000-01-01", 100);
  REQUIRE(s.ok());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(500));
  for (const auto& e : s->recent_events) CHECK(e.message != "uncommitted");

  // ... nor does the writer wait for the reader.
  REQUIRE(sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  auto events = reader->events(1);
  REQUIRE(events.ok());
  CHECK(events->at(0).message == "uncommitted");
}

TEST_CASE("batch history: newest first, limited; an unknown resource is nullopt") {
  TempDir dir;
  populate(dir.db());
  auto reader = StateReader::open(dir.db());
  REQUIRE(reader.ok());
  auto all = reader->batches("R-B", 10);
  REQUIRE(all.ok());
  REQUIRE(all->has_value());
  REQUIRE((*all)->size() == 2);
  CHECK((**all)[0].batch_id == "B-2");
  CHECK((**all)[0].state == "rejected");
  CHECK((**all)[0].error_message == "line 4: expected 5 fields, found 3");
  CHECK((**all)[1].rows == 7);
  auto one = reader->batches("R-B", 1);
  REQUIRE(one.ok());
  CHECK((*one)->size() == 1);
  auto unknown = reader->batches("R-NONE", 10);
  REQUIRE(unknown.ok());
  CHECK_FALSE(unknown->has_value());
}

TEST_CASE("rows per day starts at the given date") {
  TempDir dir;
  populate(dir.db());
  auto reader = StateReader::open(dir.db());
  REQUIRE(reader.ok());
  const auto now = std::chrono::system_clock::now();
  auto today = reader->snapshot(local_date(now), 0);
  REQUIRE(today.ok());
  REQUIRE(today->rows_per_day.size() == 1);
  CHECK(today->rows_per_day[0].rows == 127);
  auto tomorrow = reader->snapshot(local_date(now, -1), 0);
  REQUIRE(tomorrow.ok());
  CHECK(tomorrow->rows_per_day.empty());
}

TEST_CASE("the snapshot has each resource's backlog, held batch and receipts") {
  TempDir dir;
  populate(dir.db());
  populate_backlog(dir.db());
  auto reader = StateReader::open(dir.db());
  REQUIRE(reader.ok());
  auto s = reader->snapshot("2000-01-01", 0);
  REQUIRE(s.ok());
  REQUIRE(s->resources.size() == 4);
  auto entry = [&](const std::string& id) -> const ResourceEntry& {
    for (const auto& r : s->resources)
      if (r.row.subscription.resource_id == id) return r;
    FAIL("no resource " << id);
    throw std::logic_error("unreachable");
  };

  const ResourceEntry& c = entry("R-C");
  REQUIRE(c.held);
  CHECK(c.held->batch_id == "C-2");
  CHECK(c.held->state == "failed");
  CHECK(c.held->error_code == "SCHEMA_MISMATCH");
  CHECK_FALSE(c.last_rejected);
  CHECK(c.backlog.waiting_batches == 2);
  CHECK(c.backlog.newest_listed_seq == 3);
  REQUIRE(c.backlog.oldest_waiting_at);
  CHECK(parse_rfc3339(*c.backlog.oldest_waiting_at) ==
        parse_rfc3339(*c.held->created_at));  // the held batch is the oldest waiting
  CHECK(c.backlog.pending_receipts == 1);
  CHECK(c.backlog.refused_receipts == 0);
  CHECK_FALSE(c.backlog.resync_requested);
  CHECK(c.counts.applied == 1);
  CHECK(c.counts.bytes_downloaded == 4096);

  const ResourceEntry& d = entry("R-D");
  CHECK(d.backlog.resync_requested);
  CHECK(d.row.state == "paused");
  CHECK(d.backlog.waiting_batches == 1);
  CHECK_FALSE(d.held);

  const ResourceEntry& a = entry("R-A");
  CHECK(a.backlog.waiting_batches == 0);
  CHECK_FALSE(a.backlog.oldest_waiting_at);
  CHECK(a.backlog.newest_listed_seq == 2);
  CHECK(a.backlog.refused_receipts == 1);
  CHECK(entry("R-B").last_rejected->batch_id == "B-2");
  CHECK(entry("R-B").backlog.pending_receipts == 1);

  CHECK(s->receipts_pending == 2);  // B-2 and C-1
  CHECK(s->receipts_refused == 1);
  CHECK(s->receipts_by_resource.at("R-C").pending == 1);
  CHECK(s->receipts_by_resource.at("R-A").refused == 1);
  CHECK(s->receipts_by_resource.count("R-D") == 0);
}

TEST_CASE("batch history: size, publication, start, duration and the receipt's state") {
  TempDir dir;
  populate(dir.db());
  populate_backlog(dir.db());
  auto reader = StateReader::open(dir.db());
  REQUIRE(reader.ok());
  auto c = reader->batches("R-C", 10);
  REQUIRE(c.ok());
  REQUIRE(c->has_value());
  const auto& list = **c;
  REQUIRE(list.size() == 3);
  CHECK(list[0].batch_id == "C-3");
  CHECK(list[0].state == "listed");
  CHECK_FALSE(list[0].payload_bytes);
  CHECK_FALSE(list[0].started_at);
  CHECK_FALSE(list[0].duration_seconds());
  CHECK_FALSE(list[0].receipt_state);
  CHECK(list[0].created_at);
  CHECK(list[1].state == "failed");
  CHECK(list[1].payload_bytes == 2048);
  CHECK(list[1].started_at);
  CHECK_FALSE(list[1].outcome_at);
  CHECK_FALSE(list[1].duration_seconds());
  CHECK_FALSE(list[1].receipt_state);
  const BatchEntry& applied = list[2];
  CHECK(applied.batch_id == "C-1");
  CHECK(applied.payload_bytes == 4096);
  REQUIRE(applied.duration_seconds());
  CHECK(*applied.duration_seconds() >= 0);
  CHECK(*applied.duration_seconds() < 60);
  CHECK(applied.receipt_state == "pending");
  CHECK_FALSE(applied.receipt_http_status);

  auto a = reader->batches("R-A", 10);
  REQUIRE(a.ok());
  CHECK((**a)[0].receipt_state == "delivered");
  CHECK((**a)[0].receipt_http_status == 201);
  CHECK((**a)[1].receipt_state == "refused");
  CHECK((**a)[1].receipt_http_status == 409);
}

TEST_CASE("a schema 1 database (an agent not yet upgraded) still reads, without the new fields") {
  TempDir dir;
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(dir.db().c_str(), &raw) == SQLITE_OK);
  const std::string sql = std::string(store::kMigrations[0]) +
                          "PRAGMA user_version = 1;"
                          "INSERT INTO resources (resource_id, name, state, updated_at) VALUES "
                          "('R-OLD', '旧资源', 'idle', '2026-01-01T00:00:00Z');"
                          "INSERT INTO batches (batch_id, resource_id, seq, mode, state, rows, "
                          "outcome_at, updated_at) VALUES ('O-1', 'R-OLD', 1, 'full', 'applied', "
                          "5, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), ('O-2', 'R-OLD', 2, "
                          "'incremental', 'listed', 0, NULL, '2026-01-01T00:00:00Z');";
  REQUIRE(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  auto reader = StateReader::open(dir.db());
  REQUIRE(reader.ok());
  auto s = reader->snapshot("2000-01-01", 5);
  REQUIRE(s.ok());
  CHECK(s->schema_version == 1);
  REQUIRE(s->resources.size() == 1);
  const ResourceEntry& r = s->resources[0];
  CHECK(r.backlog.waiting_batches == 1);
  CHECK_FALSE(r.backlog.oldest_waiting_at);  // no publication times in schema 1
  CHECK_FALSE(r.backlog.resync_requested);
  CHECK(r.counts.applied == 1);
  auto batches = reader->batches("R-OLD", 5);
  REQUIRE(batches.ok());
  REQUIRE((*batches)->size() == 2);
  CHECK_FALSE((**batches)[1].payload_bytes);
  CHECK_FALSE((**batches)[1].created_at);
}
