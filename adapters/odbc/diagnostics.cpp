#include "adapters/odbc/diagnostics.h"

#include <sqlext.h>

#include <vector>

namespace fep::odbc {
namespace {

struct Record {
  std::string sqlstate;
  SQLINTEGER native = 0;
  std::string text;
};

std::vector<Record> records(SQLSMALLINT handle_type, SQLHANDLE handle) {
  std::vector<Record> out;
  if (handle == SQL_NULL_HANDLE) return out;
  for (SQLSMALLINT n = 1;; ++n) {
    SQLCHAR state[6] = {};
    SQLINTEGER native = 0;
    std::vector<SQLCHAR> text(512);
    SQLSMALLINT len = 0;
    SQLRETURN rc = SQLGetDiagRec(handle_type, handle, n, state, &native, text.data(),
                                 static_cast<SQLSMALLINT>(text.size()), &len);
    if (rc == SQL_SUCCESS_WITH_INFO && len >= static_cast<SQLSMALLINT>(text.size())) {
      // The message was cut: ask again with room for all of it.
      text.resize(static_cast<size_t>(len) + 1);
      rc = SQLGetDiagRec(handle_type, handle, n, state, &native, text.data(),
                         static_cast<SQLSMALLINT>(text.size()), &len);
    }
    if (!SQL_SUCCEEDED(rc)) break;  // SQL_NO_DATA after the last record
    size_t size = std::min(static_cast<size_t>(len < 0 ? 0 : len), text.size() - 1);
    out.push_back({reinterpret_cast<const char*>(state), native,
                   std::string(reinterpret_cast<const char*>(text.data()), size)});
  }
  return out;
}

bool is_warning(const std::string& sqlstate) {
  return sqlstate.starts_with("01");
}

// The SQLite3 ODBC driver (sqliteodbc 0.9998) reports every SQLite failure with the generic
// SQLSTATE HY000 (S1000 under ODBC 2) and the SQLite result code as the native error, e.g. a
// duplicate key is `HY000`, native 19, "[SQLite]UNIQUE constraint failed: t.k (19)"; NOT NULL
// and CHECK failures look the same. 19 is SQLITE_CONSTRAINT; the low byte is taken in case a
// build enables extended result codes (SQLITE_CONSTRAINT_UNIQUE = 2067 etc.).
constexpr SQLINTEGER kSqliteConstraint = 19;

ErrorClass classify(const Record& r, bool sqlite) {
  if (sqlite && (r.sqlstate == "HY000" || r.sqlstate == "S1000") &&
      (r.native & 0xff) == kSqliteConstraint)
    return ErrorClass::constraint;
  return classify_sqlstate(r.sqlstate);
}

}  // namespace

ErrorClass classify_sqlstate(std::string_view sqlstate) {
  // 57014: the statement was cancelled (statement_timeout, or an administrator); 55P03: a lock
  // was not granted in time (lock_timeout, NOWAIT). None says anything about the batch.
  if (sqlstate == "HYT00" || sqlstate == "HYT01" || sqlstate == "57014" || sqlstate == "55P03")
    return ErrorClass::timeout;
  if (sqlstate == "25006") return ErrorClass::unavailable;  // read-only transaction
  // 57P01-57P03: the server is shutting down or starting; a new connection will do.
  if (sqlstate.substr(0, 4) == "57P0") return ErrorClass::reconnect;
  auto cls = sqlstate.substr(0, 2);
  if (cls == "53") return ErrorClass::unavailable;
  if (cls == "08") return ErrorClass::reconnect;
  if (cls == "40") return ErrorClass::retry;
  if (cls == "23") return ErrorClass::constraint;
  if (cls == "22") return ErrorClass::data;
  return ErrorClass::statement;
}

DbError diagnose(SQLSMALLINT handle_type, SQLHANDLE handle, SQLRETURN rc, std::string_view call,
                 bool sqlite, std::string_view secret) {
  DbError err;
  auto recs = records(handle_type, handle);
  if (recs.empty()) {
    err.message = std::string(call) + " failed (return code " + std::to_string(rc) +
                  (rc == SQL_INVALID_HANDLE ? ", invalid handle" : "") + ") without diagnostics";
    return err;
  }
  for (const auto& r : recs) {
    if (!err.message.empty()) err.message += "; ";
    err.message += "[" + r.sqlstate + "] " + r.text;
  }
  // Classify by the first record that is not a warning: a driver may put warnings first.
  const Record* main = &recs.front();
  for (const auto& r : recs)
    if (!is_warning(r.sqlstate)) {
      main = &r;
      break;
    }
  err.sqlstate = main->sqlstate;
  err.native_error = static_cast<int>(main->native);
  err.error_class = classify(*main, sqlite);
  err.message = scrub(std::move(err.message), secret);
  return err;
}

DbError own_error(std::string message) {
  DbError err;
  err.message = std::move(message);
  return err;
}

std::string scrub(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  std::string escaped;
  for (char c : secret) {
    escaped += c;
    if (c == '}') escaped += '}';
  }
  // The longer spelling first, so that its unescaped prefix is not replaced on its own.
  for (const std::string& s : {escaped, std::string(secret)}) {
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 3))
      text.replace(pos, s.size(), "***");
  }
  return text;
}

DbError session_error(const Session& session, SQLSMALLINT handle_type, SQLHANDLE handle,
                      SQLRETURN rc, std::string_view call) {
  DbError err = diagnose(handle_type, handle, rc, call, session.sqlite);
  SQLUINTEGER dead = SQL_CD_FALSE;
  if (SQL_SUCCEEDED(
          SQLGetConnectAttr(session.dbc.get(), SQL_ATTR_CONNECTION_DEAD, &dead, 0, nullptr)) &&
      dead == SQL_CD_TRUE)
    err.error_class = ErrorClass::reconnect;
  return err;
}

}  // namespace fep::odbc
