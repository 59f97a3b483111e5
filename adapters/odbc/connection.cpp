#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>

#include "adapters/odbc/diagnostics.h"
#include "adapters/odbc/handles.h"
#include "adapters/odbc/odbc.h"
#include "adapters/odbc/statement.h"

namespace fep::odbc {
namespace {

// Keys that make the driver manager or the driver read, write or load files we did not choose:
// FILEDSN takes the whole connection (Driver= included, so any library) from a file, SAVEFILE
// writes the connection string, password and all, to a file, and the SQLite driver's LoadExt
// loads shared libraries as SQLite extensions. Driver= stays: choosing the driver is its job.
constexpr std::string_view kForbiddenKeys[] = {"FILEDSN", "SAVEFILE", "LOADEXT"};

std::string upper_trimmed(std::string_view s) {
  auto first = s.find_first_not_of(" \t");
  auto last = s.find_last_not_of(" \t");
  std::string out =
      first == std::string_view::npos ? "" : std::string(s.substr(first, last - first + 1));
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// Checks every ';'-separated piece, even inside {braces}: stricter than the driver manager's
// parser, so no quoting trick can hide a key from this check.
std::optional<std::string> forbidden_key(std::string_view cs) {
  while (!cs.empty()) {
    auto end = cs.find(';');
    auto piece = cs.substr(0, end);
    auto key = upper_trimmed(piece.substr(0, piece.find('=')));
    for (auto bad : kForbiddenKeys)
      if (key == bad) return key;
    cs = end == std::string_view::npos ? std::string_view() : cs.substr(end + 1);
  }
  return std::nullopt;
}

std::string escape_braced(std::string_view value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == '}') out += '}';  // inside {...} a literal } is written twice
  }
  return out;
}

std::string info_string(SQLHDBC dbc, SQLUSMALLINT what) {
  std::array<SQLCHAR, 256> buf{};
  SQLSMALLINT len = 0;
  if (!SQL_SUCCEEDED(SQLGetInfo(dbc, what, buf.data(), static_cast<SQLSMALLINT>(buf.size()), &len)))
    return "";
  return std::string(reinterpret_cast<const char*>(buf.data()));
}

// The database the connection is in (SQL_ATTR_CURRENT_CATALOG), "" when the driver has none.
std::string current_catalog(SQLHDBC dbc) {
  std::array<SQLCHAR, 256> buf{};
  SQLINTEGER len = 0;
  if (!SQL_SUCCEEDED(SQLGetConnectAttr(dbc, SQL_ATTR_CURRENT_CATALOG, buf.data(),
                                       static_cast<SQLINTEGER>(buf.size()), &len)))
    return "";
  return std::string(reinterpret_cast<const char*>(buf.data()));
}

// Seconds SQLDriverConnect may take.
constexpr SQLULEN kLoginTimeoutSeconds = 30;

SQLPOINTER int_attr(SQLULEN value) {
  return reinterpret_cast<SQLPOINTER>(value);
}

class OdbcConnection final : public Connection {
 public:
  OdbcConnection(std::shared_ptr<Session> session, std::string dbms, std::string version,
                 std::string quote, std::string catalog)
      : session_(std::move(session)),
        dbms_(std::move(dbms)),
        version_(std::move(version)),
        quote_(std::move(quote)),
        catalog_(std::move(catalog)) {}

  void set_query_timeout(std::chrono::seconds timeout) override {
    session_->query_timeout_seconds = static_cast<SQLULEN>(std::max<int64_t>(timeout.count(), 0));
  }

  std::string dbms_name() const override { return dbms_; }
  std::string dbms_version() const override { return version_; }
  std::string identifier_quote() const override { return quote_; }

  DbExpected<void> commit() override { return end_transaction(SQL_COMMIT); }
  DbExpected<void> rollback() override { return end_transaction(SQL_ROLLBACK); }

  DbExpected<void> execute(const std::string& sql) override {
    auto stmt = alloc_statement(*session_);
    if (!stmt) return Unexpected{stmt.error()};
    SQLRETURN rc = SQLExecDirect(stmt->get(), sql_text(sql), static_cast<SQLINTEGER>(sql.size()));
    // SQL_NO_DATA: a searched UPDATE or DELETE that matched no row.
    if (SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA) return {};
    return Unexpected{stmt_error(stmt->get(), rc, "SQLExecDirect")};
  }

  DbExpected<std::unique_ptr<Statement>> prepare(const std::string& sql) override {
    auto stmt = alloc_statement(*session_);
    if (!stmt) return Unexpected{stmt.error()};
    SQLRETURN rc = SQLPrepare(stmt->get(), sql_text(sql), static_cast<SQLINTEGER>(sql.size()));
    if (!SQL_SUCCEEDED(rc)) return Unexpected{stmt_error(stmt->get(), rc, "SQLPrepare")};
    return std::unique_ptr<Statement>(new OdbcStatement(session_, std::move(*stmt)));
  }

  DbExpected<bool> table_exists(const std::optional<std::string>& schema,
                                const std::string& table) override {
    auto rows = catalog(schema, table, false);
    if (!rows) return Unexpected{rows.error()};
    return !rows->empty();
  }

  DbExpected<std::vector<std::string>> column_names(const std::optional<std::string>& schema,
                                                    const std::string& table) override {
    return catalog(schema, table, true);
  }

 private:
  static SQLCHAR* sql_text(const std::string& s) {
    return reinterpret_cast<SQLCHAR*>(const_cast<char*>(s.data()));
  }

  DbError stmt_error(SQLHSTMT h, SQLRETURN rc, std::string_view call) const {
    return session_error(*session_, SQL_HANDLE_STMT, h, rc, call);
  }

  DbExpected<void> end_transaction(SQLSMALLINT op) {
    SQLRETURN rc = SQLEndTran(SQL_HANDLE_DBC, session_->dbc.get(), op);
    if (SQL_SUCCEEDED(rc)) return {};
    return Unexpected{
        session_error(*session_, SQL_HANDLE_DBC, session_->dbc.get(), rc, "SQLEndTran")};
  }

  // SQLTables (columns == false: one entry per matching table) or SQLColumns (the column names
  // in ordinal order). The name argument is a search pattern in which '_' matches any character,
  // so rows are kept only when TABLE_NAME (result column 3) is exactly `table`.
  DbExpected<std::vector<std::string>> catalog(const std::optional<std::string>& schema,
                                               const std::string& table, bool columns) {
    if (table.size() > 1024 || (schema && schema->size() > 1024))
      return Unexpected{own_error("table name too long")};
    auto stmt = alloc_statement(*session_);
    if (!stmt) return Unexpected{stmt.error()};
    SQLHSTMT h = stmt->get();
    auto len = static_cast<SQLSMALLINT>(table.size());
    SQLCHAR* schema_text = schema ? sql_text(*schema) : nullptr;
    auto schema_len = static_cast<SQLSMALLINT>(schema ? schema->size() : 0);
    SQLRETURN rc =
        columns
            ? SQLColumns(h, nullptr, 0, schema_text, schema_len, sql_text(table), len, nullptr, 0)
            : SQLTables(h, nullptr, 0, schema_text, schema_len, sql_text(table), len, nullptr, 0);
    if (!SQL_SUCCEEDED(rc))
      return Unexpected{stmt_error(h, rc, columns ? "SQLColumns" : "SQLTables")};

    OdbcStatement rows(session_, std::move(*stmt));
    std::vector<std::string> out;
    for (;;) {
      auto more = rows.fetch();
      if (!more) return Unexpected{more.error()};
      if (!*more) break;
      auto name = rows.get_text(2);
      if (!name) return Unexpected{name.error()};
      if (!name->has_value() || **name != table) continue;
      if (!catalog_.empty()) {  // MySQL lists every database's tables: keep the current one's
        auto in_catalog = rows.get_text(0);
        if (!in_catalog) return Unexpected{in_catalog.error()};
        if (in_catalog->has_value() && **in_catalog != catalog_) continue;
      }
      if (schema) {  // TABLE_SCHEM: the pattern's '_' matches any character here too
        auto in_schema = rows.get_text(1);
        if (!in_schema) return Unexpected{in_schema.error()};
        if (in_schema->value_or("") != *schema) continue;
      }
      auto value = rows.get_text(columns ? 3 : 2);  // COLUMN_NAME, or TABLE_NAME again
      if (!value) return Unexpected{value.error()};
      out.push_back(value->value_or(""));
    }
    return out;
  }

  std::shared_ptr<Session> session_;
  std::string dbms_;
  std::string version_;
  std::string quote_;
  std::string catalog_;
};

}  // namespace

DbExpected<std::unique_ptr<Connection>> connect(const std::string& connection_string,
                                                const std::optional<std::string>& password) {
  if (auto key = forbidden_key(connection_string))
    return Unexpected{own_error("the connection string key " + *key +
                                " is not allowed: it makes ODBC read, write or load files")};

  std::string full = connection_string;
  if (password) {
    if (!full.empty() && full.back() != ';') full += ';';
    full += "PWD={" + escape_braced(*password) + "}";
  }
  if (full.size() > static_cast<size_t>(std::numeric_limits<SQLSMALLINT>::max()))
    return Unexpected{own_error("the connection string is too long")};

  auto session = std::make_shared<Session>();
  SQLHENV env = SQL_NULL_HENV;
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)))
    return Unexpected{own_error("cannot allocate an ODBC environment handle")};
  session->env.reset(env);
  SQLRETURN rc = SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, int_attr(SQL_OV_ODBC3), 0);
  if (!SQL_SUCCEEDED(rc)) return Unexpected{diagnose(SQL_HANDLE_ENV, env, rc, "SQLSetEnvAttr")};

  SQLHDBC dbc = SQL_NULL_HDBC;
  rc = SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc);
  if (!SQL_SUCCEEDED(rc))
    return Unexpected{diagnose(SQL_HANDLE_ENV, env, rc, "SQLAllocHandle(DBC)")};
  session->dbc.reset(dbc);
  // A database host that drops packets must not hold a worker (and its target's slot) for
  // ever. Drivers that do not support it ignore it; loads themselves have no time limit.
  (void)SQLSetConnectAttr(dbc, SQL_ATTR_LOGIN_TIMEOUT, int_attr(kLoginTimeoutSeconds), 0);

  // A driver may echo the connection string in its messages: scrub the password out of them.
  const std::string_view secret = password ? std::string_view(*password) : "";
  rc = SQLDriverConnect(dbc, nullptr, reinterpret_cast<SQLCHAR*>(full.data()),
                        static_cast<SQLSMALLINT>(full.size()), nullptr, 0, nullptr,
                        SQL_DRIVER_NOPROMPT);
  std::fill(full.begin(), full.end(), '\0');  // best effort: no password in freed memory
  if (!SQL_SUCCEEDED(rc))
    return Unexpected{diagnose(SQL_HANDLE_DBC, dbc, rc, "SQLDriverConnect", false, secret)};

  std::string dbms = info_string(dbc, SQL_DBMS_NAME);
  std::string version = info_string(dbc, SQL_DBMS_VER);
  std::string quote = info_string(dbc, SQL_IDENTIFIER_QUOTE_CHAR);
  session->sqlite = dbms == "SQLite";

  // Work happens in explicit transactions: a batch and its bookkeeping row commit together.
  rc = SQLSetConnectAttr(dbc, SQL_ATTR_AUTOCOMMIT, int_attr(SQL_AUTOCOMMIT_OFF), 0);
  if (!SQL_SUCCEEDED(rc))
    return Unexpected{diagnose(SQL_HANDLE_DBC, dbc, rc, "SQLSetConnectAttr(AUTOCOMMIT)",
                               session->sqlite, secret)};

  return std::unique_ptr<Connection>(new OdbcConnection(std::move(session), std::move(dbms),
                                                        std::move(version), std::move(quote),
                                                        current_catalog(dbc)));
}

}  // namespace fep::odbc
