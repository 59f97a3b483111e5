// unixODBC behind RAII handles: connections, prepared statements with bound values, diagnostics
// classified by SQLSTATE class.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"

namespace fep::odbc {

// What a caller can do about a database error.
enum class ErrorClass {
  reconnect,    // 08xxx, or the connection is gone: drop the connection and try again later
  retry,        // 40xxx (serialization failure, deadlock): retry the work at once
  timeout,      // HYT00/HYT01, 57014 (cancelled), 55P03 (lock not granted): the statement or its
                // lock wait ran out of time; retry later, since at once would wait again
  constraint,   // 23xxx: the data violates a constraint; will not fix itself
  data,         // 22xxx: a value the database does not accept; will not fix itself
  unavailable,  // 53xxx (disk full, out of memory), 25006 (read-only): the database cannot take
                // writes now; wait for an operator or for space, do not blame the batch
  statement,    // anything else: the statement is wrong for this database; will not fix itself
};

struct DbError {
  std::string sqlstate;  // first non-warning (not 01xxx) record's SQLSTATE, "" when none
  int native_error = 0;
  std::string message;  // "[SQLSTATE] driver message" of every diagnostic record, joined
  ErrorClass error_class = ErrorClass::statement;
};

template <class T>
using DbExpected = Expected<T, DbError>;

ErrorClass classify_sqlstate(std::string_view sqlstate);

// One value bound to a statement parameter.
struct Param {
  enum class Kind { null, text, binary };
  Kind kind = Kind::null;
  std::string_view data;  // UTF-8 text or raw bytes; must outlive execute()

  static Param null_value() { return {}; }
  static Param text(std::string_view s) { return {Kind::text, s}; }
  static Param binary(std::string_view b) { return {Kind::binary, b}; }
};

// One column of a parameter array: that column's value in every row of one execution, packed
// contiguously so that a chunk of rows costs one allocation per column, not one per value.
class ParamColumn {
 public:
  explicit ParamColumn(Param::Kind kind = Param::Kind::text) : kind_(kind) {}
  void clear();
  void push(std::string_view value);
  void push_null();
  void pop();  // removes the last row

  Param::Kind kind() const { return kind_; }
  size_t rows() const { return lengths_.size(); }
  size_t max_length() const { return max_length_; }
  bool is_null(size_t row) const { return lengths_[row] < 0; }
  std::string_view value(size_t row) const;

 private:
  Param::Kind kind_;
  std::string data_;
  std::vector<size_t> offsets_;
  std::vector<int64_t> lengths_;  // -1 for NULL
  size_t max_length_ = 0;
};

// A failed parameter-array execution: the row the driver blamed, when it says.
struct ArrayError {
  DbError error;
  std::optional<size_t> row;
};

class Statement {
 public:
  virtual ~Statement() = default;
  // Binds `params` (one per `?`, in order) and executes the prepared statement.
  virtual DbExpected<void> execute(const std::vector<Param>& params) = 0;
  // Executes once for every row of `columns` (one per `?`, all with the same number of rows)
  // with column-wise parameter arrays (SQL_ATTR_PARAMSET_SIZE): one call, not one per row.
  virtual Expected<void, ArrayError> execute_array(const std::vector<ParamColumn>& columns) = 0;
  // Rows changed by the last execute (SQLRowCount).
  virtual DbExpected<int64_t> rows_affected() = 0;
  // Moves to the next result row: true when there is one.
  virtual DbExpected<bool> fetch() = 0;
  // Column `index` (0-based) of the current row as text (binary columns: their raw bytes);
  // nullopt for NULL.
  virtual DbExpected<std::optional<std::string>> get_text(int index) = 0;
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual std::string dbms_name() const = 0;         // SQLGetInfo(SQL_DBMS_NAME)
  virtual std::string dbms_version() const = 0;      // SQLGetInfo(SQL_DBMS_VER)
  virtual std::string identifier_quote() const = 0;  // SQLGetInfo(SQL_IDENTIFIER_QUOTE_CHAR)

  // Autocommit is off after open(): work happens in explicit transactions.
  virtual DbExpected<void> commit() = 0;
  virtual DbExpected<void> rollback() = 0;

  virtual DbExpected<void> execute(const std::string& sql) = 0;
  virtual DbExpected<std::unique_ptr<Statement>> prepare(const std::string& sql) = 0;
  // Statements made from now on get `timeout` as SQL_ATTR_QUERY_TIMEOUT (0: none) where the
  // driver supports it; one that runs longer fails with a `timeout` error.
  virtual void set_query_timeout(std::chrono::seconds timeout) = 0;

  // Catalog questions answered by the driver (SQLTables, SQLColumns), not by SQL text; without
  // a schema, every schema the connection sees is searched.
  virtual DbExpected<bool> table_exists(const std::optional<std::string>& schema,
                                        const std::string& table) = 0;
  virtual DbExpected<std::vector<std::string>> column_names(
      const std::optional<std::string>& schema, const std::string& table) = 0;
};

// Connects with `connection_string`; a `password`, when given, is appended as PWD={...}
// and never appears in an error message.
DbExpected<std::unique_ptr<Connection>> connect(const std::string& connection_string,
                                                const std::optional<std::string>& password);

}  // namespace fep::odbc
