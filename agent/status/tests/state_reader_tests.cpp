#include <doctest/doctest.h>

#include <sqlite3.h>

#include <chrono>
#include <fstream>

#include "agent/status/render.h"
#include "agent/status/state_reader.h"
#include "agent/status/tests/fixture.h"

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
  CHECK(s->schema_version == 1);
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
