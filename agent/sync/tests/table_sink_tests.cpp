// The table sink against the real SQLite3 ODBC driver; contents are read back with sqlite3.
#include <doctest/doctest.h>

#include <filesystem>

#include "adapters/base/clock.h"
#include "adapters/base/files.h"
#include "agent/store/sqlite_db.h"
#include "agent/sync/table_sink.h"

using namespace fep;

namespace {

struct Fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("fep-sink-" + new_uuid());
  TargetConfig target;
  ResourceConfig resource = [] {
    ResourceConfig r;
    r.id = "R-1";
    r.target = "local_db";
    return r;
  }();
  int64_t seq = 0;

  Fixture() {
    std::filesystem::create_directories(dir);
    target.name = "local_db";
    target.connection = "Driver=SQLite3;Database=" + (dir / "local.db").string();
  }
  ~Fixture() { std::filesystem::remove_all(dir); }

  Manifest manifest(BatchMode mode, uint64_t rows) {
    Manifest m;
    m.batch_id = "B-" + std::to_string(++seq);
    m.resource_id = "R-1";
    m.seq = seq;
    m.mode = mode;
    m.payload = {"csv", "none", "UTF-8", 0, "", std::nullopt};
    sql::TableSchema t;
    t.name = "ent";
    t.columns = {{"id", {sql::ColumnKind::bigint_}, false},
                 {"name", {sql::ColumnKind::varchar_, 200}, true},
                 {"capital", {sql::ColumnKind::decimal_, 0, 18, 2}, true}};
    t.primary_key = {"id"};
    m.table = t;
    m.row_count = rows;
    return m;
  }

  std::filesystem::path payload(const std::string& csv) {
    auto p = dir / ("payload-" + std::to_string(seq) + ".csv");
    REQUIRE(write_file_atomic(p, csv).ok());
    return p;
  }

  std::vector<std::string> rows() {
    auto db = store::Database::open(dir / "local.db");
    REQUIRE(db.ok());
    std::vector<std::string> out;
    auto st =
        db->query("SELECT id, name, capital FROM ent ORDER BY id", {}, [&](const store::Row& r) {
          out.push_back(r.text(0) + "|" + r.optional_text(1).value_or("NULL") + "|" +
                        r.optional_text(2).value_or("NULL"));
        });
    REQUIRE(st.ok());
    return out;
  }
};

}  // namespace

TEST_CASE("working tables of two long names that share their start are two tables") {
  const std::string a = std::string(50, 'a') + "_2025";
  const std::string b = std::string(50, 'a') + "_2026";
  CHECK(TableSink::work_table_name("_fep_new_", "ent") == "_fep_new_ent");
  CHECK(TableSink::work_table_name("_fep_new_", a).size() == 63);
  CHECK(TableSink::work_table_name("_fep_new_", a).starts_with("_fep_new_aaaa"));
  CHECK(TableSink::work_table_name("_fep_new_", a) != TableSink::work_table_name("_fep_new_", b));
  CHECK(TableSink::work_table_name("_fep_old_", a) == TableSink::work_table_name("_fep_old_", a));
  const std::string fits(54, 'x');  // 9 + 54 = 63: whole
  CHECK(TableSink::work_table_name("_fep_old_", fits) == "_fep_old_" + fits);
}

TEST_CASE("full then incremental batches, with the bookkeeping row in the target") {
  Fixture fx;
  TableSink sink(fx.target);
  auto full = fx.manifest(BatchMode::full, 3);
  auto r = sink.apply(
      full, fx.payload("id,name,capital\n1,河南省安阳市,100.10\n2,\"a,b\",\n3,\"\",0.00\n"),
      fx.resource);
  REQUIRE(r.ok());
  CHECK(r->rows == 3);
  CHECK(fx.rows() == std::vector<std::string>{"1|河南省安阳市|100.10", "2|a,b|NULL", "3||0.00"});

  auto inc = fx.manifest(BatchMode::incremental, 3);
  r = sink.apply(inc, fx.payload("_op,id,name,capital\nU,2,新,5.50\nD,3,,\nU,4,x,1.00\n"),
                 fx.resource);
  REQUIRE(r.ok());
  CHECK(r->rows == 2);
  CHECK(r->deleted == 1);
  CHECK(fx.rows() == std::vector<std::string>{"1|河南省安阳市|100.10", "2|新|5.50", "4|x|1.00"});

  auto found = sink.find_applied(inc.batch_id);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->rows == 2);
  CHECK((*found)->deleted == 1);
  // Applying a batch the target already holds changes nothing.
  auto again = sink.apply(inc, fx.payload("_op,id,name,capital\nU,9,y,1.00\n"), fx.resource);
  REQUIRE(again.ok());
  CHECK(again->already_in_target);
  CHECK(fx.rows().size() == 3);
}

TEST_CASE("a bad value late in a full batch leaves the previous contents untouched") {
  Fixture fx;
  TableSink sink(fx.target);
  REQUIRE(sink.apply(fx.manifest(BatchMode::full, 1), fx.payload("id,name,capital\n1,a,1.00\n"),
                     fx.resource)
              .ok());
  auto bad = sink.apply(fx.manifest(BatchMode::full, 3),
                        fx.payload("id,name,capital\n5,a,1.00\n6,b,2.00\n7,c,1e5\n"), fx.resource);
  REQUIRE_FALSE(bad.ok());
  CHECK_FALSE(bad.error().transient());
  CHECK(bad.error().rejection.code == RejectCode::payload_invalid);
  CHECK(bad.error().rejection.message.find("line 4") == 0);
  CHECK(fx.rows() == std::vector<std::string>{"1|a|1.00"});
}

TEST_CASE("a row count that differs from the manifest rejects the batch") {
  Fixture fx;
  TableSink sink(fx.target);
  auto bad = sink.apply(fx.manifest(BatchMode::full, 5), fx.payload("id,name,capital\n1,a,1.00\n"),
                        fx.resource);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().rejection.code == RejectCode::payload_invalid);
  CHECK(bad.error().rejection.message.find("row_count is 5") != std::string::npos);
}

TEST_CASE("a duplicate key in a full batch is a constraint violation") {
  Fixture fx;
  TableSink sink(fx.target);
  auto bad = sink.apply(fx.manifest(BatchMode::full, 2),
                        fx.payload("id,name,capital\n1,a,1.00\n1,b,2.00\n"), fx.resource);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().rejection.code == RejectCode::constraint_violation);
  CHECK(bad.error().rejection.message.find("line 3") != std::string::npos);
}

TEST_CASE("a local table that lacks a manifest column is a schema mismatch") {
  Fixture fx;
  {
    auto db = store::Database::open(fx.dir / "local.db");
    REQUIRE(db->exec("CREATE TABLE ent (id INTEGER PRIMARY KEY, name TEXT)").ok());
  }
  TableSink sink(fx.target);
  // A table the agent did not create is only written when the configuration names it.
  auto refused =
      sink.apply(fx.manifest(BatchMode::full, 0), fx.payload("id,name,capital\n"), fx.resource);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ApplyFailure::Kind::unavailable);
  CHECK(refused.error().rejection.message.find("did not create it") != std::string::npos);

  fx.resource.table = "ent";
  auto bad =
      sink.apply(fx.manifest(BatchMode::full, 0), fx.payload("id,name,capital\n"), fx.resource);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().rejection.code == RejectCode::schema_mismatch);
  CHECK(bad.error().rejection.message.find("capital") != std::string::npos);
}

TEST_CASE("a table written by one resource is not written by another") {
  Fixture fx;
  TableSink sink(fx.target);
  REQUIRE(sink.apply(fx.manifest(BatchMode::full, 1), fx.payload("id,name,capital\n1,a,1.00\n"),
                     fx.resource)
              .ok());
  auto other = fx.manifest(BatchMode::full, 0);
  other.resource_id = "R-2";
  auto r = sink.apply(other, fx.payload("id,name,capital\n"), fx.resource);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ApplyFailure::Kind::unavailable);
  CHECK(r.error().rejection.message.find("written by resource R-1") != std::string::npos);
  CHECK(fx.rows().size() == 1);
}

TEST_CASE("an unreachable target is transient, not a rejection") {
  Fixture fx;
  fx.target.connection = "Driver=NoSuchDriver;Database=/nonexistent/x.db";
  TableSink sink(fx.target);
  auto r =
      sink.apply(fx.manifest(BatchMode::full, 0), fx.payload("id,name,capital\n"), fx.resource);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().transient());
}
