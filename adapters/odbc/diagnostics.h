// Turning ODBC diagnostic records into DbError (internal to adapters/odbc).
#pragma once

#include <sql.h>

#include <string>
#include <string_view>

#include "adapters/odbc/handles.h"
#include "adapters/odbc/odbc.h"

namespace fep::odbc {

// Collects every diagnostic record of `handle` after a call that returned `rc`; `call` names the
// ODBC function for the rare failure without records. `sqlite` applies the SQLite driver's
// native-code rules; a non-empty `secret` is scrubbed from the message.
DbError diagnose(SQLSMALLINT handle_type, SQLHANDLE handle, SQLRETURN rc, std::string_view call,
                 bool sqlite = false, std::string_view secret = {});

// diagnose() for a handle of an open session; a connection the driver reports dead
// (SQL_ATTR_CONNECTION_DEAD) is classified `reconnect` whatever the SQLSTATE says: psqlODBC
// answers HY000 to the first use of a statement prepared before its backend was killed.
DbError session_error(const Session& session, SQLSMALLINT handle_type, SQLHANDLE handle,
                      SQLRETURN rc, std::string_view call);

// A DbError of our own making (no driver involved), classified as a statement error.
DbError own_error(std::string message);

// Replaces every occurrence of `secret` (and of its }}-escaped spelling) with "***".
std::string scrub(std::string text, std::string_view secret);

}  // namespace fep::odbc
