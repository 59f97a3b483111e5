// Housekeeping against a real state database and real files.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "adapters/base/clock.h"
#include "agent/store/audit_log.h"
#include "agent/store/sqlite_db.h"
#include "agent/sync/housekeeping.h"

using namespace fep;
using std::chrono::hours;
using std::chrono::system_clock;

namespace {

struct Fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("fep-house-" + new_uuid());
  Config config;
  Fixture() {
    std::filesystem::create_directories(dir / "rejected");
    config.state_dir = dir;
  }
  ~Fixture() { std::filesystem::remove_all(dir); }

  std::filesystem::path payload(const std::string& batch, hours age) {
    const auto file = dir / "rejected" / (batch + ".payload");
    { std::ofstream(file) << "id,name\n1,a\n"; }
    std::filesystem::last_write_time(file, std::filesystem::file_time_type::clock::now() - age);
    return file;
  }

  std::vector<store::AuditEntry> audit() {
    auto db = store::Database::open(dir / "state.db");
    REQUIRE(db.ok());
    std::vector<store::AuditEntry> out;
    REQUIRE(store::read_audit(*db, [&](const store::AuditEntry& e) { out.push_back(e); }).ok());
    auto check = store::verify_audit(*db);
    REQUIRE(check.ok());
    CHECK_FALSE(check->problem);
    return out;
  }
};

}  // namespace

TEST_CASE("events older than their retention go, with an audit entry; newer ones stay") {
  Fixture f;
  auto store = store::StateStore::open(f.dir / "state.db");
  REQUIRE(store.ok());
  REQUIRE(store->add_event("error", "R-1", std::nullopt, "exchange unreachable").ok());
  REQUIRE(store->add_event("info", "R-1", "B-1", "applied").ok());

  // 180 days (the default) have not passed yet: nothing goes.
  auto early = housekeep(f.config, *store, system_clock::now() + hours(24 * 179));
  CHECK(early.events_deleted == 0);
  CHECK(early.problems.empty());
  CHECK(store->recent_events(10)->size() == 2);

  auto late = housekeep(f.config, *store, system_clock::now() + hours(24 * 181));
  CHECK(late.events_deleted == 2);
  CHECK(store->recent_events(10)->empty());
  const auto entries = f.audit();
  REQUIRE_FALSE(entries.empty());
  CHECK(entries.back().action == "housekeeping.events_deleted");
  CHECK(entries.back().detail.find("\"count\":2") != std::string::npos);
}

TEST_CASE("rejected payloads go once their retention has passed since the rejection") {
  Fixture f;
  f.config.retention.rejected_payloads = hours(24 * 30);
  auto store = store::StateStore::open(f.dir / "state.db");
  REQUIRE(store.ok());
  const auto old_one = f.payload("B-OLD", hours(24 * 31));
  const auto new_one = f.payload("B-NEW", hours(24 * 29));

  auto done = housekeep(f.config, *store, system_clock::now());
  CHECK(done.payloads_deleted == 1);
  CHECK(done.problems.empty());
  CHECK_FALSE(std::filesystem::exists(old_one));
  CHECK(std::filesystem::exists(new_one));
  const auto entries = f.audit();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].action == "housekeeping.payload_deleted");
  CHECK(entries[0].batch_id == "B-OLD");

  // Without a rejected folder there is nothing to do.
  std::filesystem::remove_all(f.dir / "rejected");
  CHECK(housekeep(f.config, *store, system_clock::now()).problems.empty());
}

TEST_CASE("spool files of finished or unknown batches go; held and recent ones stay") {
  Fixture f;
  auto store = store::StateStore::open(f.dir / "state.db");
  REQUIRE(store.ok());
  REQUIRE(store->upsert_subscription({"R-1", "r", "table", "p", "unconditional", "approved"}).ok());
  REQUIRE(store->record_listed({"B-HELD", "R-1", 1, "full", "", std::nullopt}).ok());
  REQUIRE(store->record_listed({"B-DONE", "R-1", 2, "full", "", std::nullopt}).ok());
  REQUIRE(store->set_batch_state("B-DONE", "superseded").ok());
  const auto spool = f.dir / "spool";
  std::filesystem::create_directories(spool);
  auto file = [&](const std::string& batch, hours age) {
    const auto p = spool / (batch + ".payload");
    { std::ofstream(p) << "x"; }
    std::filesystem::last_write_time(p, std::filesystem::file_time_type::clock::now() - age);
    return p;
  };
  const auto held = file("B-HELD", hours(24 * 30));   // known, no outcome: kept
  const auto fresh = file("B-NEW", hours(1));         // unknown, being downloaded: kept
  const auto orphan = file("B-GONE", hours(24 * 8));  // unknown, untouched for a week: goes
  const auto finished = file("B-DONE", hours(1));     // has an outcome: goes
  auto done = housekeep(f.config, *store, system_clock::now());
  CHECK(done.spool_files_deleted == 2);
  CHECK_FALSE(std::filesystem::exists(finished));
  CHECK(std::filesystem::exists(held));
  CHECK(std::filesystem::exists(fresh));
  CHECK_FALSE(std::filesystem::exists(orphan));
}
