// Against the real SQLite3 ODBC driver (libsqliteodbc): no mocks.
#include <doctest/doctest.h>

#include "adapters/odbc/diagnostics.h"
#include "adapters/odbc/odbc.h"
#include "adapters/odbc/tests/temp_db.h"

using namespace fep::odbc;
using fep::odbc::testing::query;
using fep::odbc::testing::run;
using fep::odbc::testing::TempDb;

namespace {

const std::string kChinese = "河南省安阳市文峰区";

std::string count(Connection& conn, const std::string& table) {
  auto rows = query(conn, "SELECT count(*) FROM " + table, 1);
  REQUIRE(rows.size() == 1);
  return rows[0][0].value_or("NULL");
}

}  // namespace

TEST_CASE("SQLSTATE classes decide what a caller can do") {
  CHECK(classify_sqlstate("08001") == ErrorClass::reconnect);
  CHECK(classify_sqlstate("08S01") == ErrorClass::reconnect);
  CHECK(classify_sqlstate("40001") == ErrorClass::retry);
  CHECK(classify_sqlstate("HYT00") == ErrorClass::timeout);
  CHECK(classify_sqlstate("HYT01") == ErrorClass::timeout);
  CHECK(classify_sqlstate("57014") == ErrorClass::timeout);  // cancelled: statement_timeout
  CHECK(classify_sqlstate("55P03") == ErrorClass::timeout);  // lock_timeout
  CHECK(classify_sqlstate("23505") == ErrorClass::constraint);
  CHECK(classify_sqlstate("22001") == ErrorClass::data);
  CHECK(classify_sqlstate("42S02") == ErrorClass::statement);
  CHECK(classify_sqlstate("HY000") == ErrorClass::statement);
  CHECK(classify_sqlstate("") == ErrorClass::statement);
}

TEST_CASE("an unknown driver fails with the driver manager's message") {
  auto c = connect("Driver=NoSuchDriverXyz;Database=/tmp/none.db", std::nullopt);
  REQUIRE_FALSE(c.ok());
  INFO(c.error().message);
  CHECK(c.error().message.find("NoSuchDriverXyz") != std::string::npos);
  CHECK(c.error().message.starts_with("["));
  CHECK_FALSE(c.error().sqlstate.empty());
  // A missing driver is configuration, not a dropped connection: reconnecting will not help.
  CHECK(c.error().error_class == ErrorClass::statement);
}

TEST_CASE("connection string keys that read, write or load files are rejected") {
  for (std::string cs : {"FILEDSN=/tmp/evil.dsn", "Driver=SQLite3; savefile = /tmp/out.dsn",
                         "Driver=SQLite3;Database={a;FileDSN=/tmp/x}",
                         "Driver=SQLite3;Database=/tmp/x.db;LoadExt=/tmp/evil.so"}) {
    auto c = connect(cs, std::string("pw"));
    REQUIRE_FALSE(c.ok());
    INFO(c.error().message);
    CHECK(c.error().message.find("is not allowed") != std::string::npos);
    CHECK(c.error().message.find("/tmp") == std::string::npos);  // the string is not echoed
  }
}

TEST_CASE("the password never appears in an error message") {
  const std::string password = "Hunter2}x;PWD=1";
  auto c = connect("Driver=NoSuchDriverXyz", password);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("Hunter2") == std::string::npos);

  // The SQLite driver only says "connect failed"; scrub() covers drivers that echo more.
  auto s = connect("Driver=SQLite3;Database=/nonexistent-dir/Hunter2/x.db", password);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("Hunter2") == std::string::npos);

  CHECK(scrub("PWD={a}}b};x a}b", "a}b") == "PWD={***};x ***");
  CHECK(scrub("nothing here", "") == "nothing here");
}

TEST_CASE("a password is passed to the driver and a connection still opens") {
  TempDb db;
  auto c = connect(db.connection_string(), std::string("p}w;d"));
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
}

TEST_CASE("driver information is read once after connecting") {
  TempDb db;
  auto conn = db.open();
  CHECK(conn->dbms_name() == "SQLite");
  CHECK(conn->identifier_quote() == "\"");
}

TEST_CASE("bound values round-trip: text, NULL, empty, binary with NUL, Chinese") {
  TempDb db;
  auto conn = db.open();
  run(*conn, "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT, b BLOB)");

  auto ins = conn->prepare("INSERT INTO t (k, v, b) VALUES (?, ?, ?)");
  REQUIRE(ins.ok());
  const std::string bytes("\x00\x01\xff\x00z", 5);
  const std::string backing = "key-1|tail";  // not NUL-terminated where the value ends
  REQUIRE((*ins)
              ->execute({Param::text(std::string_view(backing).substr(0, 5)), Param::text(kChinese),
                         Param::binary(bytes)})
              .ok());
  CHECK((*ins)->rows_affected().value() == 1);
  // Re-executing the prepared statement with new values.
  REQUIRE((*ins)->execute({Param::text("key-2"), Param::null_value(), Param::null_value()}).ok());
  REQUIRE((*ins)->execute({Param::text("key-3"), Param::text(""), Param::binary("")}).ok());

  auto rows = query(*conn, "SELECT k, v, b, hex(v) FROM t ORDER BY k", 4);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0][0] == "key-1");
  CHECK(rows[0][1] == kChinese);  // byte-exact
  CHECK(rows[0][2] == bytes);
  CHECK(rows[0][3] == "E6B2B3E58D97E79C81E5AE89E998B3E5B882E69687E5B3B0E58CBA");
  CHECK_FALSE(rows[1][1].has_value());
  CHECK_FALSE(rows[1][2].has_value());
  CHECK(rows[2][1] == "");
  CHECK(rows[2][2] == "");

  // Selecting with a bound Chinese value finds the row.
  auto found = query(*conn, "SELECT k FROM t WHERE v = ?", 1, {Param::text(kChinese)});
  REQUIRE(found.size() == 1);
  CHECK(found[0][0] == "key-1");
}

TEST_CASE("long values are read in parts, byte-exactly") {
  TempDb db;
  auto conn = db.open();
  run(*conn, "CREATE TABLE t (v TEXT, b BLOB)");
  std::string text, blob;
  for (int i = 0; i < 2000; ++i) text += kChinese;  // 54000 bytes, parts split characters
  for (int i = 0; i < 20000; ++i) blob += static_cast<char>(i % 256);
  run(*conn, "INSERT INTO t VALUES (?, ?)", {Param::text(text), Param::binary(blob)});
  auto rows = query(*conn, "SELECT v, b FROM t", 2);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0][0] == text);
  CHECK(rows[0][1] == blob);
}

TEST_CASE("a wrong number of values is refused before executing") {
  TempDb db;
  auto conn = db.open();
  run(*conn, "CREATE TABLE t (a TEXT, b TEXT)");
  auto ins = conn->prepare("INSERT INTO t VALUES (?, ?)");
  REQUIRE(ins.ok());
  auto r = (*ins)->execute({Param::text("only one")});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("2 parameters") != std::string::npos);
}

TEST_CASE("rollback leaves nothing, commit is visible to another connection") {
  TempDb db;
  auto conn = db.open();
  run(*conn, "CREATE TABLE t (a TEXT)");
  REQUIRE(conn->commit().ok());

  run(*conn, "INSERT INTO t VALUES (?)", {Param::text("gone")});
  CHECK(count(*conn, "t") == "1");
  REQUIRE(conn->rollback().ok());
  CHECK(count(*conn, "t") == "0");

  run(*conn, "INSERT INTO t VALUES (?)", {Param::text("kept")});
  REQUIRE(conn->commit().ok());
  auto other = db.open();
  CHECK(count(*other, "t") == "1");
  REQUIRE(other->rollback().ok());  // release the read transaction (autocommit is off)

  // Closing a connection with uncommitted work abandons the work.
  run(*conn, "INSERT INTO t VALUES (?)", {Param::text("abandoned")});
  conn.reset();
  CHECK(count(*other, "t") == "1");
}

TEST_CASE("a statement keeps its connection alive") {
  TempDb db;
  auto conn = db.open();
  run(*conn, "CREATE TABLE t (a TEXT)");
  auto stmt = conn->prepare("INSERT INTO t VALUES (?)");
  REQUIRE(stmt.ok());
  auto owned = std::move(stmt).value();
  conn.reset();
  CHECK(owned->execute({Param::text("x")}).ok());
}

TEST_CASE("a duplicate primary key is a constraint error; bad SQL is a statement error") {
  TempDb db;
  auto conn = db.open();
  run(*conn, "CREATE TABLE t (k TEXT PRIMARY KEY, n TEXT NOT NULL)");
  run(*conn, "INSERT INTO t VALUES (?, ?)", {Param::text("a"), Param::text("1")});

  auto ins = conn->prepare("INSERT INTO t VALUES (?, ?)");
  REQUIRE(ins.ok());
  auto dup = (*ins)->execute({Param::text("a"), Param::text("2")});
  REQUIRE_FALSE(dup.ok());
  INFO(dup.error().message);
  // What the driver really says: generic HY000, SQLite's result code 19 as the native error.
  CHECK(dup.error().sqlstate == "HY000");
  CHECK(dup.error().native_error == 19);
  CHECK(dup.error().message.find("UNIQUE constraint failed") != std::string::npos);
  CHECK(dup.error().message.starts_with("[HY000] "));
  CHECK(dup.error().error_class == ErrorClass::constraint);

  auto null = (*ins)->execute({Param::text("b"), Param::null_value()});
  REQUIRE_FALSE(null.ok());
  CHECK(null.error().error_class == ErrorClass::constraint);

  auto bad = conn->execute("SELEC 1");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().error_class == ErrorClass::statement);
  auto missing = conn->prepare("SELECT * FROM no_such_table");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().error_class == ErrorClass::statement);
}

TEST_CASE("catalog: table_exists and column_names match names exactly") {
  TempDb db;
  auto conn = db.open();
  REQUIRE(conn->execute("CREATE TABLE a_b (id INTEGER, name TEXT, 值 TEXT)").ok());
  REQUIRE(conn->commit().ok());

  CHECK(conn->table_exists(std::nullopt, "a_b").value());
  CHECK_FALSE(conn->table_exists(std::nullopt, "axb").value());  // '_' is a wildcard to SQLTables
  CHECK_FALSE(conn->table_exists(std::nullopt, "a").value());
  CHECK(conn->column_names(std::nullopt, "a_b").value() ==
        std::vector<std::string>{"id", "name", "值"});
  CHECK(conn->column_names(std::nullopt, "axb").value().empty());
}

TEST_CASE("execute treats a DELETE that matches nothing as success") {
  TempDb db;
  auto conn = db.open();
  REQUIRE(conn->execute("CREATE TABLE t (a TEXT)").ok());
  CHECK(conn->execute("DELETE FROM t").ok());
  auto del = conn->prepare("DELETE FROM t WHERE a = ?");
  REQUIRE(del.ok());
  REQUIRE((*del)->execute({Param::text("x")}).ok());
  CHECK((*del)->rows_affected().value() == 0);
}
