// RAII owners for ODBC handles (internal to adapters/odbc).
#pragma once

#include <sql.h>
#include <sqlext.h>

#include <memory>
#include <type_traits>

namespace fep::odbc {

struct EnvFree {
  void operator()(SQLHENV h) const { SQLFreeHandle(SQL_HANDLE_ENV, h); }
};

struct DbcFree {
  void operator()(SQLHDBC h) const {
    // Uncommitted work is abandoned: SQLDisconnect refuses (25000) while a transaction is open,
    // and SQLFreeHandle then refuses a connected handle, leaking it. On a handle that never
    // connected both calls just fail harmlessly.
    SQLEndTran(SQL_HANDLE_DBC, h, SQL_ROLLBACK);
    SQLDisconnect(h);
    SQLFreeHandle(SQL_HANDLE_DBC, h);
  }
};

struct StmtFree {
  void operator()(SQLHSTMT h) const { SQLFreeHandle(SQL_HANDLE_STMT, h); }
};

// The handle types are all void*; the deleter keeps the three owners distinct types.
using EnvHandle = std::unique_ptr<std::remove_pointer_t<SQLHENV>, EnvFree>;
using DbcHandle = std::unique_ptr<std::remove_pointer_t<SQLHDBC>, DbcFree>;
using StmtHandle = std::unique_ptr<std::remove_pointer_t<SQLHSTMT>, StmtFree>;

// The environment and connection, shared by a Connection and its Statements so that the
// connection outlives every statement allocated on it. Members are destroyed in reverse order:
// the connection before its environment.
struct Session {
  EnvHandle env;
  DbcHandle dbc;
  bool sqlite = false;  // driver family with its own constraint reporting (see diagnostics.cpp)
  SQLULEN query_timeout_seconds = 0;  // SQL_ATTR_QUERY_TIMEOUT of every statement; 0: none
};

}  // namespace fep::odbc
