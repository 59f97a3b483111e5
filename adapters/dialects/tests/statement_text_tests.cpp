// The SQL each dialect generates, as text: the only check possible for DM and KingbaseES, which
// have no server here, and a guard for the others (their behaviour is tested on real servers).
#include <doctest/doctest.h>

#include <algorithm>

#include "adapters/dialects/dialect.h"
#include "adapters/dialects/time_text.h"

using namespace fep::sql;

namespace {

std::unique_ptr<Dialect> dialect(std::string_view name, std::string quote = "\"",
                                 std::optional<std::string> db_schema = std::nullopt) {
  auto d = make_dialect(name, std::move(quote), std::move(db_schema));
  REQUIRE_MESSAGE(d.ok(), (d.ok() ? "" : d.error().message));
  return std::move(d).value();
}

Column col(std::string name, std::string_view type, bool nullable = true) {
  return {std::move(name), parse_column_type(type).value(), nullable};
}

const TableSchema kEnt{"ent",
                       {col("id", "bigint", false), col("name", "varchar(200)"),
                        col("capital", "decimal(18,2)"), col("at", "timestamptz")},
                       {"id"}};

std::string type(const Dialect& d, std::string_view t) {
  return d.column_type(parse_column_type(t).value());
}

}  // namespace

TEST_CASE("PostgreSQL: types, casts for text-bound parameters, ON CONFLICT") {
  auto d = dialect("postgresql", "\"", "ods");
  CHECK(type(*d, "decimal(38,10)") == "numeric(38,10)");
  CHECK(type(*d, "char(6)") == "varchar(6)");
  CHECK(type(*d, "double") == "double precision");
  CHECK(type(*d, "binary") == "bytea");
  CHECK(type(*d, "timestamptz") == "timestamptz");
  CHECK(d->table("ent") == "\"ods\".\"ent\"");
  CHECK(d->create_table(kEnt) ==
        "CREATE TABLE \"ods\".\"ent\" (\"id\" bigint NOT NULL, \"name\" varchar(200), "
        "\"capital\" numeric(18,2), \"at\" timestamptz, PRIMARY KEY (\"id\"))");
  CHECK(d->insert(kEnt) ==
        "INSERT INTO \"ods\".\"ent\" (\"id\", \"name\", \"capital\", \"at\") VALUES "
        "(CAST(? AS bigint), ?, CAST(? AS numeric(18,2)), CAST(? AS timestamptz))");
  CHECK(d->upsert(kEnt).ends_with(
      " ON CONFLICT (\"id\") DO UPDATE SET \"name\" = EXCLUDED.\"name\", \"capital\" = "
      "EXCLUDED.\"capital\", \"at\" = EXCLUDED.\"at\""));
  CHECK(d->add_column("ent", col("memo", "text")) ==
        "ALTER TABLE \"ods\".\"ent\" ADD \"memo\" text");
  CHECK(d->rename_table("ent_new", "ent") == "ALTER TABLE \"ods\".\"ent_new\" RENAME TO \"ent\"");
  CHECK_FALSE(d->ddl_commits());
  CHECK(d->chunk_rows() == 5000);
}

TEST_CASE("KingbaseES speaks the PostgreSQL dialect") {
  auto pg = dialect("postgresql");
  auto kb = dialect("kingbase");
  CHECK(kb->name() == "kingbase");
  CHECK(kb->create_table(kEnt) == pg->create_table(kEnt));
  CHECK(kb->upsert(kEnt) == pg->upsert(kEnt));
  CHECK(kb->session_setup(std::chrono::seconds(60)) == pg->session_setup(std::chrono::seconds(60)));
  const auto setup = pg->session_setup(std::chrono::seconds(90));
  CHECK(std::count(setup.begin(), setup.end(), "SET statement_timeout = 90000") == 1);
  CHECK(pg->session_bounds_statements());
  CHECK_FALSE(dialect("dm")->session_bounds_statements());  // the ODBC query timeout
}

TEST_CASE("statement time limits in MySQL sessions; what MySQL and SQLite native codes mean") {
  using std::chrono::seconds;
  auto mariadb = make_dialect("mysql", "`", std::nullopt, "MySQL", "10.11.6-MariaDB").value();
  auto setup = mariadb->session_setup(seconds(90));
  CHECK(std::count(setup.begin(), setup.end(), "SET SESSION lock_wait_timeout = 90") == 1);
  CHECK(std::count(setup.begin(), setup.end(), "SET SESSION max_statement_time = 90") == 1);
  // MySQL has no max_statement_time (the SET would fail the connection).
  auto mysql = make_dialect("mysql", "`", std::nullopt, "MySQL", "08.00.0035").value();
  setup = mysql->session_setup(seconds(90));
  CHECK(std::count(setup.begin(), setup.end(), "SET SESSION lock_wait_timeout = 90") == 1);
  CHECK(std::none_of(setup.begin(), setup.end(),
                     [](const std::string& s) { return s.find("max_statement_time") != s.npos; }));
  // lock_wait_timeout stops at a year.
  setup = mysql->session_setup(seconds(40'000'000));
  CHECK(std::count(setup.begin(), setup.end(), "SET SESSION lock_wait_timeout = 31536000") == 1);
  CHECK(is_mariadb("MariaDB", ""));
  CHECK(!is_mariadb("MySQL", "08.00.0035"));

  using fep::odbc::ErrorClass;
  auto classify = [](const Dialect& d, int native, std::string message = "") {
    fep::odbc::DbError e;
    e.sqlstate = "HY000";
    e.native_error = native;
    e.message = std::move(message);
    return d.classify(e);
  };
  for (int native : {1205, 1969, 3024}) CHECK(classify(*mariadb, native) == ErrorClass::timeout);
  // Full disks, whichever way the server says it.
  for (int native : {3, 1021, 1114, 1878})
    CHECK(classify(*mariadb, native) == ErrorClass::unavailable);
  CHECK(classify(*mariadb, 1030,
                 "Got error 28 \"No space left on device\" from storage engine InnoDB") ==
        ErrorClass::unavailable);
  CHECK(classify(*mariadb, 1030, "Got error 168 from storage engine") == ErrorClass::statement);

  auto sqlite = dialect("sqlite");
  for (int native : {3, 8, 10, 13, 14, 266 /* SQLITE_IOERR_READ */})
    CHECK(classify(*sqlite, native) == ErrorClass::unavailable);
  for (int native : {5, 6}) CHECK(classify(*sqlite, native) == ErrorClass::retry);
}

TEST_CASE("MySQL: backquotes, utf8mb4 with a binary collation, key types, ON DUPLICATE KEY") {
  // A binary collation without padding, named differently by MariaDB and MySQL 8.
  TableSchema one{"k", {col("code", "varchar(10)", false)}, {"code"}};
  CHECK(make_dialect("mysql", "`", std::nullopt, "MariaDB").value()->create_table(one) ==
        "CREATE TABLE `k` (`code` VARCHAR(10) NOT NULL, PRIMARY KEY (`code`)) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin");
  CHECK(mysql_collation("MySQL", "10.11.0006-MariaDB-0+deb12u1") == "utf8mb4_nopad_bin");
  CHECK(mysql_collation("MySQL", "08.00.0035") == "utf8mb4_0900_bin");
  CHECK(mysql_collation("MySQL", "8.0.17") == "utf8mb4_0900_bin");
  CHECK(mysql_collation("MySQL", "08.00.0016") == "utf8mb4_bin");  // before 8.0.17
  CHECK(mysql_collation("MySQL", "05.07.0044") == "utf8mb4_bin");
  CHECK(mysql_collation("MySQL", "") == "utf8mb4_bin");  // unknown: the one every server has

  auto d = dialect("mysql", "`");
  CHECK(type(*d, "timestamp") == "DATETIME(6)");
  CHECK(type(*d, "timestamptz") == "DATETIME(6)");
  CHECK(type(*d, "time") == "TIME(6)");
  CHECK(type(*d, "text") == "LONGTEXT");
  CHECK(type(*d, "varchar(20000)") == "LONGTEXT");
  CHECK(type(*d, "binary") == "LONGBLOB");
  TableSchema text_key{"k", {col("code", "text", false), col("v", "integer")}, {"code"}};
  CHECK(d->create_table(text_key) ==
        "CREATE TABLE `k` (`code` VARCHAR(768) NOT NULL, `v` INT, PRIMARY KEY (`code`)) "
        "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin");  // server unknown here
  CHECK(d->upsert(kEnt) ==
        "INSERT INTO `ent` (`id`, `name`, `capital`, `at`) VALUES (?, ?, ?, ?) ON DUPLICATE KEY "
        "UPDATE `name` = VALUES(`name`), `capital` = VALUES(`capital`), `at` = VALUES(`at`)");
  CHECK(d->rename_table("a", "b") == "RENAME TABLE `a` TO `b`");
  CHECK(d->ddl_commits());
  std::string tz = "2026-11-20 02:00:00.5+08:00";
  d->adapt(parse_column_type("timestamptz").value(), tz);
  CHECK(tz == "2026-11-19 18:00:00.5");
  CHECK_FALSE(make_dialect("mysql", "`", "ods").ok());
}

TEST_CASE("DM: MERGE INTO for upserts, lengths in characters, offsets after a space") {
  auto d = dialect("dm", "\"", "SYSDBA");
  CHECK(type(*d, "varchar(200)") == "VARCHAR(200 CHAR)");
  CHECK(type(*d, "text") == "CLOB");
  CHECK(type(*d, "boolean") == "BIT");
  CHECK(type(*d, "timestamptz") == "TIMESTAMP(6) WITH TIME ZONE");
  CHECK(d->upsert(kEnt) ==
        "MERGE INTO \"SYSDBA\".\"ent\" t USING (SELECT ? AS \"id\", ? AS \"name\", ? AS "
        "\"capital\", ? AS \"at\" FROM DUAL) s ON (t.\"id\" = s.\"id\") WHEN MATCHED THEN UPDATE "
        "SET t.\"name\" = s.\"name\", t.\"capital\" = s.\"capital\", t.\"at\" = s.\"at\" WHEN NOT "
        "MATCHED THEN INSERT (\"id\", \"name\", \"capital\", \"at\") VALUES (s.\"id\", s.\"name\", "
        "s.\"capital\", s.\"at\")");
  CHECK(d->delete_by_key(kEnt) == "DELETE FROM \"SYSDBA\".\"ent\" WHERE \"id\" = ?");
  CHECK(d->ddl_commits());
  std::string tz = "2026-11-20 02:00:00+08:00";
  d->adapt(parse_column_type("timestamptz").value(), tz);
  CHECK(tz == "2026-11-20 02:00:00 +08:00");
}

TEST_CASE("UTC conversion crosses days, months, years and negative offsets") {
  auto utc = [](std::string v) {
    to_utc_without_offset(v);
    return v;
  };
  CHECK(utc("2026-01-01 05:00:00+08:00") == "2025-12-31 21:00:00");
  CHECK(utc("2024-02-28 23:30:00.123456-05:30") == "2024-02-29 05:00:00.123456");
  CHECK(utc("0001-01-01 00:00:00+00:00") == "0001-01-01 00:00:00");
  CHECK(utc("9999-12-31 23:59:59.999999+00:00") == "9999-12-31 23:59:59.999999");
  CHECK(utc("2026-11-20 02:00:00") == "2026-11-20 02:00:00");  // no offset: unchanged
}
