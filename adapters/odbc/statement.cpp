#include "adapters/odbc/statement.h"

#include <algorithm>
#include <array>

#include "adapters/odbc/diagnostics.h"

namespace fep::odbc {
namespace {

// Bigger binary values go as SQL_LONGVARBINARY: 8000 bytes is the usual VARBINARY limit.
constexpr size_t kMaxVarbinary = 8000;

// Bound for an empty value: some drivers read a null data pointer as NULL.
char kEmpty[1] = {'\0'};

bool is_binary_type(SQLSMALLINT sql_type) {
  return sql_type == SQL_BINARY || sql_type == SQL_VARBINARY || sql_type == SQL_LONGVARBINARY;
}

}  // namespace

DbExpected<StmtHandle> alloc_statement(const Session& session) {
  SQLHSTMT h = SQL_NULL_HSTMT;
  SQLRETURN rc = SQLAllocHandle(SQL_HANDLE_STMT, session.dbc.get(), &h);
  if (!SQL_SUCCEEDED(rc))
    return Unexpected{
        diagnose(SQL_HANDLE_DBC, session.dbc.get(), rc, "SQLAllocHandle(STMT)", session.sqlite)};
  StmtHandle stmt(h);
  // Drivers without query timeouts answer 01S02 (value changed) or HYC00 and run without one.
  if (session.query_timeout_seconds > 0)
    (void)SQLSetStmtAttr(h, SQL_ATTR_QUERY_TIMEOUT,
                         reinterpret_cast<SQLPOINTER>(session.query_timeout_seconds), 0);
  return stmt;
}

DbError OdbcStatement::error(SQLRETURN rc, std::string_view call) const {
  return session_error(*session_, SQL_HANDLE_STMT, stmt_.get(), rc, call);
}

DbExpected<void> OdbcStatement::execute(const std::vector<Param>& params) {
  SQLHSTMT h = stmt_.get();
  // Re-execution: close the previous result set and forget the previous bindings.
  SQLFreeStmt(h, SQL_CLOSE);
  SQLFreeStmt(h, SQL_RESET_PARAMS);

  SQLSMALLINT wanted = 0;
  if (SQL_SUCCEEDED(SQLNumParams(h, &wanted)) && static_cast<size_t>(wanted) != params.size())
    return Unexpected{own_error("the statement has " + std::to_string(wanted) + " parameters but " +
                                std::to_string(params.size()) + " values were given")};

  indicators_.assign(params.size(), 0);
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    SQLSMALLINT c_type = SQL_C_CHAR;
    SQLSMALLINT sql_type = SQL_VARCHAR;
    SQLULEN size = std::max<size_t>(p.data.size(), 1);
    SQLPOINTER data = p.data.empty() ? kEmpty : const_cast<char*>(p.data.data());
    indicators_[i] = static_cast<SQLLEN>(p.data.size());
    switch (p.kind) {
      case Param::Kind::null:
        data = nullptr;
        size = 1;
        indicators_[i] = SQL_NULL_DATA;
        break;
      case Param::Kind::text:
        // UTF-8 bytes as SQL_C_CHAR. The SQLite3 driver stores them unchanged on Linux: its
        // only conversion (OEMCP, UTF-8 <-> code page) is Win32-only, and the driver manager
        // does not touch bound buffers. Chinese text round-trips byte-exactly (odbc_tests).
        break;
      case Param::Kind::binary:
        c_type = SQL_C_BINARY;
        sql_type = p.data.size() > kMaxVarbinary ? SQL_LONGVARBINARY : SQL_VARBINARY;
        break;
    }
    SQLLEN buffer_length = std::max<SQLLEN>(indicators_[i], 0);
    SQLRETURN rc = SQLBindParameter(h, static_cast<SQLUSMALLINT>(i + 1), SQL_PARAM_INPUT, c_type,
                                    sql_type, size, 0, data, buffer_length, &indicators_[i]);
    if (!SQL_SUCCEEDED(rc)) return Unexpected{error(rc, "SQLBindParameter")};
  }

  SQLRETURN rc = SQLExecute(h);
  // SQL_NO_DATA: a searched UPDATE or DELETE that matched no row, which is not a failure.
  if (SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA) return {};
  return Unexpected{error(rc, "SQLExecute")};
}

void OdbcStatement::reset_array_attributes() {
  SQLHSTMT h = stmt_.get();
  SQLSetStmtAttr(h, SQL_ATTR_PARAMSET_SIZE, reinterpret_cast<SQLPOINTER>(1), 0);
  SQLSetStmtAttr(h, SQL_ATTR_PARAM_STATUS_PTR, nullptr, 0);
  SQLSetStmtAttr(h, SQL_ATTR_PARAM_BIND_TYPE, SQL_PARAM_BIND_BY_COLUMN, 0);
}

Expected<void, ArrayError> OdbcStatement::execute_array(const std::vector<ParamColumn>& columns) {
  SQLHSTMT h = stmt_.get();
  const size_t rows = columns.empty() ? 0 : columns[0].rows();
  if (rows == 0) return {};
  SQLFreeStmt(h, SQL_CLOSE);
  SQLFreeStmt(h, SQL_RESET_PARAMS);

  array_data_.resize(columns.size());
  array_indicators_.resize(columns.size());
  array_status_.assign(rows, SQL_PARAM_UNUSED);
  auto fail_with = [&](SQLRETURN rc, std::string_view call) {
    DbError e = error(rc, call);
    reset_array_attributes();
    return Unexpected{ArrayError{std::move(e), std::nullopt}};
  };
  if (!SQL_SUCCEEDED(SQLSetStmtAttr(h, SQL_ATTR_PARAM_BIND_TYPE, SQL_PARAM_BIND_BY_COLUMN, 0)) ||
      !SQL_SUCCEEDED(
          SQLSetStmtAttr(h, SQL_ATTR_PARAMSET_SIZE, reinterpret_cast<SQLPOINTER>(rows), 0)) ||
      !SQL_SUCCEEDED(SQLSetStmtAttr(h, SQL_ATTR_PARAM_STATUS_PTR, array_status_.data(), 0)))
    return fail_with(SQL_ERROR, "SQLSetStmtAttr(parameter array)");

  for (size_t c = 0; c < columns.size(); ++c) {
    const ParamColumn& col = columns[c];
    const bool binary = col.kind() == Param::Kind::binary;
    // Fixed-width slots: column-wise binding steps through the buffer by BufferLength.
    const size_t width = std::max<size_t>(col.max_length(), 1);
    auto& data = array_data_[c];
    auto& ind = array_indicators_[c];
    data.assign(rows * width, '\0');
    ind.resize(rows);
    for (size_t r = 0; r < rows; ++r) {
      if (col.is_null(r)) {
        ind[r] = SQL_NULL_DATA;
        continue;
      }
      auto v = col.value(r);
      std::copy(v.begin(), v.end(), data.begin() + static_cast<std::ptrdiff_t>(r * width));
      ind[r] = static_cast<SQLLEN>(v.size());
    }
    SQLSMALLINT sql_type = binary ? (width > kMaxVarbinary ? SQL_LONGVARBINARY : SQL_VARBINARY)
                                  : (width > kMaxVarbinary ? SQL_LONGVARCHAR : SQL_VARCHAR);
    SQLRETURN rc = SQLBindParameter(h, static_cast<SQLUSMALLINT>(c + 1), SQL_PARAM_INPUT,
                                    binary ? SQL_C_BINARY : SQL_C_CHAR, sql_type, width, 0,
                                    data.data(), static_cast<SQLLEN>(width), ind.data());
    if (!SQL_SUCCEEDED(rc)) return fail_with(rc, "SQLBindParameter");
  }

  SQLRETURN rc = SQLExecute(h);
  std::optional<size_t> failed_row;
  for (size_t r = 0; r < rows; ++r)
    if (array_status_[r] == SQL_PARAM_ERROR) {
      failed_row = r;
      break;
    }
  // Some drivers report a failed row only in the status array, with SQL_SUCCESS_WITH_INFO.
  if ((SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA) && !failed_row) {
    reset_array_attributes();
    return {};
  }
  // Read the driver's records either way: a row that failed under SQL_SUCCESS_WITH_INFO still
  // says why (a constraint, a value) in the diagnostics.
  DbError e = error(rc, "SQLExecute");
  if (failed_row &&
      (e.message.empty() || e.message.find("without diagnostics") != std::string::npos))
    e = own_error("row " + std::to_string(*failed_row + 1) + " of the parameter array failed");
  reset_array_attributes();
  return Unexpected{ArrayError{std::move(e), failed_row}};
}

DbExpected<int64_t> OdbcStatement::rows_affected() {
  SQLLEN n = 0;
  SQLRETURN rc = SQLRowCount(stmt_.get(), &n);
  if (!SQL_SUCCEEDED(rc)) return Unexpected{error(rc, "SQLRowCount")};
  return static_cast<int64_t>(n);
}

DbExpected<bool> OdbcStatement::fetch() {
  SQLRETURN rc = SQLFetch(stmt_.get());
  if (rc == SQL_NO_DATA) return false;
  if (!SQL_SUCCEEDED(rc)) return Unexpected{error(rc, "SQLFetch")};
  return true;
}

DbExpected<std::optional<std::string>> OdbcStatement::get_text(int index) {
  if (index < 0) return Unexpected{own_error("negative column index")};
  SQLHSTMT h = stmt_.get();
  auto column = static_cast<SQLUSMALLINT>(index + 1);

  // Binary columns come back as their raw bytes; SQL_C_CHAR would give hex digits.
  // SQLDescribeCol, not SQLColAttribute(SQL_DESC_CONCISE_TYPE): through unixODBC the SQLite3
  // driver answers SQL_CHAR to the latter for a BLOB column.
  SQLSMALLINT sql_type = SQL_UNKNOWN_TYPE, digits = 0, nullable = 0, name_len = 0;
  SQLULEN size = 0;
  SQLRETURN rc =
      SQLDescribeCol(h, column, nullptr, 0, &name_len, &sql_type, &size, &digits, &nullable);
  if (!SQL_SUCCEEDED(rc)) return Unexpected{error(rc, "SQLDescribeCol")};
  const bool binary = is_binary_type(sql_type);
  const SQLSMALLINT c_type = binary ? SQL_C_BINARY : SQL_C_CHAR;

  std::array<char, 4096> buf;
  // Room for data in each part: SQL_C_CHAR parts end in a NUL that is not part of the value.
  const auto room = static_cast<SQLLEN>(buf.size() - (binary ? 0 : 1));
  std::string value;
  for (;;) {
    SQLLEN ind = 0;
    rc = SQLGetData(h, column, c_type, buf.data(), static_cast<SQLLEN>(buf.size()), &ind);
    if (rc == SQL_NO_DATA) break;  // every part has been read
    if (!SQL_SUCCEEDED(rc)) return Unexpected{error(rc, "SQLGetData")};
    if (ind == SQL_NULL_DATA) return std::optional<std::string>();
    // 01004 (data truncated) comes with the remaining length, or SQL_NO_TOTAL: a full buffer
    // was returned and the next call continues where this one stopped.
    const bool truncated = ind == SQL_NO_TOTAL || ind > room;
    value.append(buf.data(), static_cast<size_t>(truncated ? room : ind));
    if (!truncated) break;
  }
  return std::optional<std::string>(std::move(value));
}

}  // namespace fep::odbc
