// Dialect SQL, checked by text and executed on the real SQLite3 ODBC driver.
#include <doctest/doctest.h>

#include "adapters/dialects/dialect.h"
#include "adapters/odbc/tests/temp_db.h"

using namespace fep::sql;
using fep::odbc::Param;
using fep::odbc::testing::query;
using fep::odbc::testing::run;
using fep::odbc::testing::TempDb;

namespace {

std::unique_ptr<Dialect> sqlite(std::string quote = "\"") {
  auto d = make_dialect("sqlite", std::move(quote), std::nullopt);
  REQUIRE(d.ok());
  return std::move(d).value();
}

Column col(std::string name, std::string_view type, bool nullable = true) {
  auto t = parse_column_type(type);
  REQUIRE(t.ok());
  return {std::move(name), *t, nullable};
}

// Every column type of the protocol, keyed by (region, id).
TableSchema all_types() {
  return {"all_types",
          {col("region", "varchar(20)", false), col("id", "bigint", false),
           col("small", "smallint"), col("num", "integer"), col("amount", "decimal(18,2)"),
           col("ratio", "real"), col("precise", "double"), col("flag", "boolean"),
           col("code", "char(6)"), col("name", "text"), col("day", "date"), col("at", "time"),
           col("ts", "timestamp"), col("tstz", "timestamptz"), col("blob", "binary")},
          {"region", "id"}};
}

std::vector<std::string> names(const TableSchema& s) {
  std::vector<std::string> out;
  for (const auto& c : s.columns) out.push_back(c.name);
  return out;
}

}  // namespace

TEST_CASE("quote doubles the driver's quote inside a name") {
  CHECK(sqlite()->quote("plain") == "\"plain\"");
  CHECK(sqlite()->quote("we\"ird") == "\"we\"\"ird\"");
  CHECK(sqlite("`")->quote("a`b") == "`a``b`");
  CHECK(sqlite(" ")->quote("x") == "\"x\"");  // " " means the driver has no quote
}

TEST_CASE("dialect names from SQL_DBMS_NAME") {
  CHECK(dialect_for_dbms("SQLite").value() == "sqlite");
  CHECK(dialect_for_dbms("PostgreSQL").value() == "postgresql");
  CHECK(dialect_for_dbms("MySQL").value() == "mysql");
  CHECK(dialect_for_dbms("MariaDB").value() == "mysql");
  CHECK(dialect_for_dbms("DM DBMS").value() == "dm");
  CHECK(dialect_for_dbms("DM").value() == "dm");
  CHECK(dialect_for_dbms("KingbaseES").value() == "kingbase");
  auto unknown = dialect_for_dbms("Oracle");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message.find("Oracle") != std::string::npos);

  CHECK(sqlite()->name() == "sqlite");
  for (const char* name : {"postgresql", "mysql", "dm", "kingbase"})
    CHECK(make_dialect(name, "\"", std::nullopt).value()->name() == name);
  CHECK_FALSE(make_dialect("nosuch", "\"", std::nullopt).ok());
  CHECK_FALSE(make_dialect("sqlite", "\"", "ods").ok());  // SQLite has no schemas
}

TEST_CASE("SQLite type mapping keeps decimals exact") {
  auto d = sqlite();
  auto type = [&](std::string_view t) { return d->column_type(*parse_column_type(t)); };
  CHECK(type("smallint") == "INTEGER");
  CHECK(type("bigint") == "INTEGER");
  CHECK(type("boolean") == "INTEGER");
  CHECK(type("decimal(18,2)") == "TEXT");
  CHECK(type("double") == "REAL");
  CHECK(type("varchar(20)") == "TEXT");
  CHECK(type("timestamptz") == "TEXT");
  CHECK(type("binary") == "BLOB");
}

TEST_CASE("statement text") {
  auto d = sqlite();
  TableSchema s{
      "t", {col("k1", "integer", false), col("k2", "text", false), col("v", "text")}, {"k1", "k2"}};
  CHECK(d->create_table(s) ==
        "CREATE TABLE \"t\" (\"k1\" INTEGER NOT NULL, \"k2\" TEXT NOT NULL, \"v\" TEXT, "
        "PRIMARY KEY (\"k1\", \"k2\"))");
  CHECK(d->insert(s) == "INSERT INTO \"t\" (\"k1\", \"k2\", \"v\") VALUES (?, ?, ?)");
  CHECK(d->delete_by_key(s) == "DELETE FROM \"t\" WHERE \"k1\" = ? AND \"k2\" = ?");
  CHECK(d->delete_all("t") == "DELETE FROM \"t\"");
  CHECK(d->upsert(s) ==
        "INSERT INTO \"t\" (\"k1\", \"k2\", \"v\") VALUES (?, ?, ?) ON CONFLICT (\"k1\", \"k2\") "
        "DO UPDATE SET \"v\" = excluded.\"v\"");
  TableSchema keys_only{"t", {col("k1", "integer", false), col("k2", "text", false)}, {"k1", "k2"}};
  CHECK(d->upsert(keys_only) == "INSERT OR REPLACE INTO \"t\" (\"k1\", \"k2\") VALUES (?, ?)");
  CHECK(d->select_bookkeeping() ==
        "SELECT \"row_count\", \"deleted_count\" FROM \"_fep_batches\" WHERE \"batch_id\" = ?");
}

TEST_CASE("a table with every column type: create, insert, upsert, delete") {
  TempDb db;
  auto conn = db.open();
  auto d = sqlite(conn->identifier_quote());
  const TableSchema s = all_types();
  REQUIRE(conn->execute(d->create_table(s)).ok());
  CHECK(conn->table_exists(std::nullopt, "all_types").value());
  CHECK(conn->column_names(std::nullopt, "all_types").value() == names(s));

  const std::string bytes("\x00\xfe\x00", 3);
  std::vector<Param> row = {Param::text("安阳"),
                            Param::text("9007199254740993"),
                            Param::text("-7"),
                            Param::text("42"),
                            Param::text("12.10"),
                            Param::text("0.5"),
                            Param::text("2.25"),
                            Param::text("1"),
                            Param::text("AB12CD"),
                            Param::text("河南省安阳市文峰区"),
                            Param::text("2026-11-20"),
                            Param::text("08:30:00"),
                            Param::text("2026-11-20 08:30:00"),
                            Param::text("2026-11-20T08:30:00+08:00"),
                            Param::binary(bytes)};
  run(*conn, d->insert(s), row);

  auto select = "SELECT id, amount, typeof(amount), name, blob FROM all_types";
  auto rows = query(*conn, select, 5);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0] == "9007199254740993");  // 2^53 + 1: exact as an integer
  CHECK(rows[0][1] == "12.10");             // exact decimal, trailing zero kept
  CHECK(rows[0][2] == "text");
  CHECK(rows[0][3] == "河南省安阳市文峰区");
  CHECK(rows[0][4] == bytes);

  // Upsert: the same key updates the row, NULL included; a new key inserts.
  row[4] = Param::text("99.99");
  row[9] = Param::null_value();
  run(*conn, d->upsert(s), row);
  row[1] = Param::text("2");
  run(*conn, d->upsert(s), row);
  rows = query(*conn, "SELECT id, amount, name FROM all_types ORDER BY id", 3);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][0] == "2");
  CHECK(rows[1][0] == "9007199254740993");
  CHECK(rows[1][1] == "99.99");
  CHECK_FALSE(rows[1][2].has_value());

  // Delete by the composite key: parameters in primary-key order.
  auto del = conn->prepare(d->delete_by_key(s));
  REQUIRE(del.ok());
  REQUIRE((*del)->execute({Param::text("安阳"), Param::text("2")}).ok());
  CHECK((*del)->rows_affected().value() == 1);
  REQUIRE((*del)->execute({Param::text("安阳"), Param::text("404")}).ok());
  CHECK((*del)->rows_affected().value() == 0);
  CHECK(query(*conn, "SELECT id FROM all_types", 1).size() == 1);

  REQUIRE(conn->execute(d->delete_all(s.name)).ok());
  CHECK(query(*conn, "SELECT id FROM all_types", 1).empty());
  REQUIRE(conn->commit().ok());
}

TEST_CASE("key-only tables upsert by replacing") {
  TempDb db;
  auto conn = db.open();
  auto d = sqlite(conn->identifier_quote());
  TableSchema s{"keys", {col("a", "text"), col("b", "integer")}, {"a", "b"}};
  REQUIRE(conn->execute(d->create_table(s)).ok());
  for (int i = 0; i < 2; ++i) run(*conn, d->upsert(s), {Param::text("x"), Param::text("1")});
  CHECK(query(*conn, "SELECT a FROM keys", 1).size() == 1);
  // Key columns are NOT NULL even when the manifest says nullable.
  auto ins = conn->prepare(d->insert(s));
  REQUIRE(ins.ok());
  auto r = (*ins)->execute({Param::null_value(), Param::text("2")});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().error_class == fep::odbc::ErrorClass::constraint);
}

TEST_CASE("names with the quote character inside work end to end") {
  TempDb db;
  auto conn = db.open();
  auto d = sqlite(conn->identifier_quote());
  TableSchema s{"we\"ird", {col("co\"l", "text", false), col("v", "text")}, {"co\"l"}};
  REQUIRE(conn->execute(d->create_table(s)).ok());
  run(*conn, d->upsert(s), {Param::text("k"), Param::text("1")});
  run(*conn, d->upsert(s), {Param::text("k"), Param::text("2")});
  auto rows = query(*conn, "SELECT " + d->quote("v") + " FROM " + d->quote(s.name), 1);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0] == "2");
  CHECK(conn->table_exists(std::nullopt, "we\"ird").value());
  CHECK(conn->column_names(std::nullopt, "we\"ird").value() ==
        std::vector<std::string>{"co\"l", "v"});
}

TEST_CASE("bookkeeping rows commit with the batch") {
  TempDb db;
  auto conn = db.open();
  auto d = sqlite(conn->identifier_quote());
  CHECK_FALSE(conn->table_exists(std::nullopt, std::string(kBookkeepingTable)).value());
  REQUIRE(conn->execute(d->create_bookkeeping()).ok());
  REQUIRE(conn->commit().ok());
  CHECK(conn->table_exists(std::nullopt, std::string(kBookkeepingTable)).value());
  CHECK(conn->column_names(std::nullopt, std::string(kBookkeepingTable)).value() ==
        std::vector<std::string>{"batch_id", "resource_id", "seq", "row_count", "deleted_count",
                                 "applied_at"});

  std::vector<Param> row = {Param::text("B-1"), Param::text("R-SCJG-0001"),
                            Param::text("7"),   Param::text("1200"),
                            Param::text("3"),   Param::text("2026-11-20T08:30:00Z")};
  run(*conn, d->insert_bookkeeping(), row);
  auto dup = conn->prepare(d->insert_bookkeeping());
  REQUIRE(dup.ok());
  auto again = (*dup)->execute(row);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().error_class == fep::odbc::ErrorClass::constraint);
  REQUIRE(conn->commit().ok());

  auto rows = query(*conn, d->select_bookkeeping(), 2, {Param::text("B-1")});
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0] == "1200");
  CHECK(rows[0][1] == "3");
  CHECK(query(*conn, d->select_bookkeeping(), 2, {Param::text("B-2")}).empty());
}

TEST_CASE("the SQLite writer inserts, upserts and deletes in multi-row groups") {
  TempDb db;
  auto conn = db.open();
  auto d = sqlite(conn->identifier_quote());
  // A composite key and a binary column: 4 columns, so 249 rows per 999-parameter group.
  TableSchema s{
      "w",
      {col("k1", "integer", false), col("k2", "text", false), col("v", "text"), col("b", "binary")},
      {"k1", "k2"}};
  REQUIRE(conn->execute(d->create_table(s)).ok());
  auto writer = d->writer(*conn, s);

  auto chunk_of = [](size_t first, size_t rows, std::string_view tag) {
    Chunk c{fep::odbc::ParamColumn(), fep::odbc::ParamColumn(), fep::odbc::ParamColumn(),
            fep::odbc::ParamColumn(Param::Kind::binary)};
    for (size_t i = first; i < first + rows; ++i) {
      c[0].push(std::to_string(i));
      c[1].push("键" + std::to_string(i % 3));
      if (i % 7 == 0)
        c[2].push_null();
      else
        c[2].push(std::string(tag) + std::to_string(i));
      c[3].push(std::string("\x00\x01", 2) + std::to_string(i));  // a NUL inside: bytes
    }
    return c;
  };
  // 600 rows: two full groups and a tail.
  REQUIRE(writer->insert(chunk_of(0, 600, "v")).ok());
  auto rows = query(*conn, "SELECT count(*), count(v), sum(length(b)) FROM w", 3);
  CHECK(rows[0][0] == "600");
  CHECK(rows[0][1] == std::to_string(600 - 86));  // 0, 7, ..., 595 are NULL
  rows = query(*conn, "SELECT v, hex(b) FROM w WHERE k1 = 598", 2);
  CHECK(rows[0][0] == "v598");
  CHECK(rows[0][1] == "0001353938");

  // Upsert: 300 existing rows change, 50 new ones arrive.
  REQUIRE(writer->upsert(chunk_of(300, 350, "u")).ok());
  rows = query(*conn, "SELECT count(*), sum(v LIKE 'u%') FROM w", 2);
  CHECK(rows[0][0] == "650");
  CHECK(rows[0][1] == std::to_string(350 - 50));  // the multiples of 7 stay NULL

  // Delete by the composite key, in primary-key order; a key that is not there is no error.
  Chunk keys{fep::odbc::ParamColumn(), fep::odbc::ParamColumn()};
  for (size_t i = 0; i < 400; ++i) {
    keys[0].push(std::to_string(i));
    keys[1].push("键" + std::to_string(i % 3));
  }
  keys[0].push("100000");
  keys[1].push("键0");
  REQUIRE(writer->remove(keys).ok());
  CHECK(query(*conn, "SELECT count(*) FROM w", 1)[0][0] == "250");
  REQUIRE(conn->commit().ok());
}

TEST_CASE("a failing row in a multi-row group is named") {
  TempDb db;
  auto conn = db.open();
  auto d = sqlite(conn->identifier_quote());
  TableSchema s{"f", {col("id", "bigint", false), col("v", "text")}, {"id"}};
  REQUIRE(conn->execute(d->create_table(s)).ok());
  auto writer = d->writer(*conn, s);
  Chunk c{fep::odbc::ParamColumn(), fep::odbc::ParamColumn()};
  for (int i = 0; i < 1200; ++i) {
    c[0].push(std::to_string(i == 777 ? 5 : i));  // row 777 repeats the key of row 5
    c[1].push("x");
  }
  auto r = writer->insert(c);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().row == std::optional<size_t>(777));
  CHECK(r.error().error.error_class == fep::odbc::ErrorClass::constraint);
}
