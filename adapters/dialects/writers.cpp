#include "adapters/dialects/writers.h"

#include <algorithm>
#include <functional>

namespace fep::sql {
namespace {

// Prepares each statement on first use: a batch of only upserts never prepares the delete.
class LazyStatement {
 public:
  LazyStatement(odbc::Connection& connection, std::function<std::string()> sql)
      : connection_(connection), sql_(std::move(sql)) {}

  Expected<odbc::Statement*, WriteError> get() {
    if (!stmt_) {
      auto prepared = connection_.prepare(sql_());
      if (!prepared) return Unexpected{WriteError{prepared.error(), std::nullopt}};
      stmt_ = std::move(prepared).value();
    }
    return stmt_.get();
  }

 private:
  odbc::Connection& connection_;
  std::function<std::string()> sql_;
  std::unique_ptr<odbc::Statement> stmt_;
};

class StatementWriter : public TableWriter {
 public:
  StatementWriter(const Dialect& dialect, odbc::Connection& connection, const TableSchema& schema)
      : insert_(connection, [&dialect, schema] { return dialect.insert(schema); }),
        upsert_(connection, [&dialect, schema] { return dialect.upsert(schema); }),
        remove_(connection, [&dialect, schema] { return dialect.delete_by_key(schema); }) {}

  WriteResult insert(const Chunk& rows) override { return write(insert_, rows); }
  WriteResult upsert(const Chunk& rows) override { return write(upsert_, rows); }
  WriteResult remove(const Chunk& keys) override { return write(remove_, keys); }

 protected:
  virtual WriteResult execute(odbc::Statement& stmt, const Chunk& rows) = 0;

 private:
  WriteResult write(LazyStatement& lazy, const Chunk& rows) {
    auto stmt = lazy.get();
    if (!stmt) return Unexpected{stmt.error()};
    return execute(**stmt, rows);
  }

  LazyStatement insert_, upsert_, remove_;
};

class ArrayWriter final : public StatementWriter {
 public:
  using StatementWriter::StatementWriter;

 protected:
  WriteResult execute(odbc::Statement& stmt, const Chunk& rows) override {
    auto r = stmt.execute_array(rows);
    if (!r) return Unexpected{WriteError{std::move(r.error().error), r.error().row}};
    return {};
  }
};

// The parameters of rows [first, first + count) of a chunk, row after row.
void row_params(const Chunk& rows, size_t first, size_t count, std::vector<odbc::Param>& out) {
  out.clear();
  for (size_t r = first; r < first + count; ++r)
    for (const auto& col : rows)
      out.push_back(col.is_null(r) ? odbc::Param::null_value()
                                   : odbc::Param{col.kind(), col.value(r)});
}

class MultiRowWriter final : public TableWriter {
 public:
  MultiRowWriter(const Dialect& dialect, odbc::Connection& connection, const TableSchema& schema,
                 MultiRowStatements statements, size_t max_params)
      : dialect_(dialect),
        connection_(connection),
        insert_(std::move(statements.insert), schema.columns.size()),
        upsert_(std::move(statements.upsert), schema.columns.size()),
        remove_(std::move(statements.remove), schema.primary_key.size()),
        max_params_(max_params) {}

  WriteResult insert(const Chunk& rows) override { return write(insert_, rows); }
  WriteResult upsert(const Chunk& rows) override { return write(upsert_, rows); }
  WriteResult remove(const Chunk& keys) override { return write(remove_, keys); }

 private:
  struct Operation {
    Operation(std::function<std::string(size_t)> text, size_t width)
        : sql(std::move(text)), columns(width) {}
    std::function<std::string(size_t)> sql;
    size_t columns;
    // Prepared on first use: the full group size, the last smaller one, and one row.
    std::unique_ptr<odbc::Statement> full, tail, single;
    size_t tail_rows = 0;
  };

  size_t group_rows(const Operation& op) const {
    return std::max<size_t>(1, max_params_ / std::max<size_t>(op.columns, 1));
  }

  Expected<odbc::Statement*, WriteError> statement(Operation& op, size_t rows) {
    std::unique_ptr<odbc::Statement>* slot = &op.tail;
    if (rows == 1)
      slot = &op.single;
    else if (rows == group_rows(op))
      slot = &op.full;
    else if (op.tail_rows != rows)
      op.tail.reset();
    if (!*slot) {
      auto prepared = connection_.prepare(op.sql(rows));
      if (!prepared) return Unexpected{WriteError{prepared.error(), std::nullopt}};
      *slot = std::move(prepared).value();
      if (slot == &op.tail) op.tail_rows = rows;
    }
    return slot->get();
  }

  WriteResult write(Operation& op, const Chunk& rows) {
    const size_t n = rows.empty() ? 0 : rows[0].rows();
    const size_t group = group_rows(op);
    for (size_t first = 0; first < n; first += group) {
      const size_t count = std::min(group, n - first);
      auto stmt = statement(op, count);
      if (!stmt) return Unexpected{stmt.error()};
      row_params(rows, first, count, params_);
      auto st = (*stmt)->execute(params_);
      if (!st) return Unexpected{locate(op, rows, first, count, std::move(st.error()))};
    }
    return {};
  }

  // A statement that failed on a row's value changes nothing, so the group's rows can be tried
  // again one at a time: the first that fails is the one to name. When none does, the group's
  // error stands. Other failures (a full disk, a lock, a lost connection) are not about a row,
  // and SQLite may have rolled the whole transaction back for them: nothing more is run then.
  WriteError locate(Operation& op, const Chunk& rows, size_t first, size_t count,
                    odbc::DbError group_error) {
    if (count == 1) return WriteError{std::move(group_error), first};
    switch (dialect_.classify(group_error)) {
      case odbc::ErrorClass::constraint:
      case odbc::ErrorClass::data:
      case odbc::ErrorClass::statement:
        break;
      case odbc::ErrorClass::reconnect:
      case odbc::ErrorClass::retry:
      case odbc::ErrorClass::timeout:
      case odbc::ErrorClass::unavailable:
        return WriteError{std::move(group_error), std::nullopt};
    }
    auto stmt = statement(op, 1);
    if (!stmt) return WriteError{std::move(group_error), std::nullopt};
    for (size_t r = first; r < first + count; ++r) {
      row_params(rows, r, 1, params_);
      auto st = (*stmt)->execute(params_);
      if (!st) return WriteError{std::move(st.error()), r};
    }
    return WriteError{std::move(group_error), std::nullopt};
  }

  const Dialect& dialect_;
  odbc::Connection& connection_;
  Operation insert_, upsert_, remove_;
  size_t max_params_;
  std::vector<odbc::Param> params_;  // reused across executions
};

}  // namespace

std::unique_ptr<TableWriter> make_multi_row_writer(const Dialect& dialect,
                                                   odbc::Connection& connection,
                                                   const TableSchema& schema,
                                                   MultiRowStatements statements,
                                                   size_t max_params) {
  return std::make_unique<MultiRowWriter>(dialect, connection, schema, std::move(statements),
                                          max_params);
}

std::unique_ptr<TableWriter> make_array_writer(const Dialect& dialect, odbc::Connection& connection,
                                               const TableSchema& schema) {
  return std::make_unique<ArrayWriter>(dialect, connection, schema);
}

}  // namespace fep::sql
