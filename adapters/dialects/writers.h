// The two generic ways of writing chunks through ODBC (internal to adapters/dialects).
#pragma once

#include <memory>

#include "adapters/dialects/dialect.h"

namespace fep::sql {

// One execution per chunk with column-wise parameter arrays: one round trip per chunk.
std::unique_ptr<TableWriter> make_array_writer(const Dialect& dialect, odbc::Connection& connection,
                                               const TableSchema& schema);

// One execution per row: for embedded databases, where a row costs no round trip.
std::unique_ptr<TableWriter> make_row_writer(const Dialect& dialect, odbc::Connection& connection,
                                             const TableSchema& schema);

}  // namespace fep::sql
