#include "adapters/dialects/writers.h"

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

class RowWriter final : public StatementWriter {
 public:
  using StatementWriter::StatementWriter;

 protected:
  WriteResult execute(odbc::Statement& stmt, const Chunk& rows) override {
    const size_t n = rows.empty() ? 0 : rows[0].rows();
    std::vector<odbc::Param> params(rows.size());
    for (size_t r = 0; r < n; ++r) {
      for (size_t c = 0; c < rows.size(); ++c) {
        const auto& col = rows[c];
        params[c] =
            col.is_null(r) ? odbc::Param::null_value() : odbc::Param{col.kind(), col.value(r)};
      }
      auto st = stmt.execute(params);
      if (!st) return Unexpected{WriteError{std::move(st.error()), r}};
    }
    return {};
  }
};

}  // namespace

std::unique_ptr<TableWriter> make_array_writer(const Dialect& dialect, odbc::Connection& connection,
                                               const TableSchema& schema) {
  return std::make_unique<ArrayWriter>(dialect, connection, schema);
}

std::unique_ptr<TableWriter> make_row_writer(const Dialect& dialect, odbc::Connection& connection,
                                             const TableSchema& schema) {
  return std::make_unique<RowWriter>(dialect, connection, schema);
}

}  // namespace fep::sql
