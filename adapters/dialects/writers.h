// The generic ways of writing chunks through ODBC (internal to adapters/dialects).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "adapters/dialects/dialect.h"

namespace fep::sql {

// One execution per chunk with column-wise parameter arrays: one round trip per chunk.
std::unique_ptr<TableWriter> make_array_writer(const Dialect& dialect, odbc::Connection& connection,
                                               const TableSchema& schema);

// The statement texts of a multi-row writer: each gives the statement for `rows` rows, whose
// parameters are the values of those rows, row after row (every column for insert and upsert,
// the key columns in primary-key order for remove).
struct MultiRowStatements {
  std::function<std::string(size_t rows)> insert, upsert, remove;
};

// One execution per group of rows, with every value of the group bound as its own parameter
// (`max_params` at most per statement): for drivers that prepare the statement again on every
// execution, which then costs once per group instead of once per row. When a group fails, its
// rows are tried one by one to name the failing row, when `dialect` says the failure is about the
// data.
std::unique_ptr<TableWriter> make_multi_row_writer(const Dialect& dialect,
                                                   odbc::Connection& connection,
                                                   const TableSchema& schema,
                                                   MultiRowStatements statements,
                                                   size_t max_params);

}  // namespace fep::sql
