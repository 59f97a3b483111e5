#include <malloc.h>
#include <sqlite3.h>

#include <algorithm>

#include "adapters/dialects/dialect_factories.h"
#include "adapters/dialects/writers.h"

namespace fep::sql {
namespace {

// The SQLite3 ODBC driver runs SQLite inside this process, on the library the agent links too.
// Its memory statistics take a global mutex on every allocation, which costs a sixth of a
// load's CPU time, and nothing reads them. This must run before SQLite's first use in the
// process (SQLite refuses it later), hence at static initialisation.
[[maybe_unused]] const bool kNoMemoryStatistics =
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;

// Parameters per statement: SQLite before 3.32 allows 999. Larger groups save nothing more:
// the statement's text grows with its rows, and parsing it is most of a group's cost.
constexpr size_t kMaxParams = 999;

// "(?, ?, ...)" for `n` values.
std::string marks(size_t n) {
  std::string out = "(";
  for (size_t i = 0; i < n; ++i) out += i > 0 ? ", ?" : "?";
  return out + ")";
}

// `rows` copies of `tuple`, separated by commas.
std::string repeated(const std::string& tuple, size_t rows) {
  std::string out;
  out.reserve(rows * (tuple.size() + 2));
  for (size_t r = 0; r < rows; ++r) {
    if (r > 0) out += ", ";
    out += tuple;
  }
  return out;
}

class SqliteDialect final : public Dialect {
 public:
  explicit SqliteDialect(std::string quote) : Dialect(std::move(quote), std::nullopt) {}
  std::string_view name() const override { return "sqlite"; }

  // SQLite has type affinities, not types: the declared name only picks the affinity.
  std::string column_type(const ColumnType& type) const override {
    switch (type.kind) {
      case ColumnKind::smallint_:
      case ColumnKind::integer_:
      case ColumnKind::bigint_:
      case ColumnKind::boolean_:
        return "INTEGER";
      case ColumnKind::decimal_:
        // Not NUMERIC: that affinity turns "12.10" into the real 12.1 and rounds beyond 15
        // digits. TEXT keeps the exact decimal the exchange sent.
        return "TEXT";
      case ColumnKind::real_:
      case ColumnKind::double_:
        return "REAL";
      case ColumnKind::binary_:
        return "BLOB";
      case ColumnKind::char_:
      case ColumnKind::varchar_:
      case ColumnKind::text_:
      case ColumnKind::date_:
      case ColumnKind::time_:
      case ColumnKind::timestamp_:
      case ColumnKind::timestamptz_:
        return "TEXT";  // dates and times as their ISO 8601 text, which sorts correctly
    }
    return "TEXT";
  }

  std::string upsert(const TableSchema& schema) const override { return upsert_rows(schema, 1); }

  // The SQLite3 ODBC driver prepares a statement again on every execution, which costs more
  // than the insert itself: rows go in groups, one multi-row statement per group. Binary
  // values are bound one by one there, not as parameter arrays (which the driver binds
  // wrongly: every row with the first row's length).
  std::unique_ptr<TableWriter> writer(odbc::Connection& connection,
                                      const TableSchema& schema) const override {
    // Compiling each group's statement takes and frees a few hundred KiB. glibc would hand that
    // back to the kernel after every statement (freed memory at the top of the heap above 128
    // KiB) and take it again zeroed for the next: tens of thousands of brk calls and page
    // faults per million rows. Keeping up to 16 MiB costs no more than the peak already held.
    static const bool kept = mallopt(M_TRIM_THRESHOLD, 16 << 20) == 1;
    (void)kept;
    MultiRowStatements statements{
        [this, schema](size_t rows) { return insert_rows(schema, rows); },
        [this, schema](size_t rows) { return upsert_rows(schema, rows); },
        [this, schema](size_t rows) { return delete_rows(schema, rows); }};
    return make_multi_row_writer(*this, connection, schema, std::move(statements), kMaxParams);
  }

  // INSERT INTO t (c1, ...) VALUES (?, ...), (?, ...), ... for `rows` rows.
  std::string insert_rows(const TableSchema& schema, size_t rows) const {
    return "INSERT INTO " + table(schema.name) + " (" + column_list(schema.columns) + ") VALUES " +
           repeated(marks(schema.columns.size()), rows);
  }

  std::string upsert_rows(const TableSchema& schema, size_t rows) const {
    std::vector<std::string> updates;
    for (const auto& c : schema.columns)
      if (std::find(schema.primary_key.begin(), schema.primary_key.end(), c.name) ==
          schema.primary_key.end())
        updates.push_back(c.name);
    // Nothing but key columns: there is nothing to update, so replacing the row is the same.
    if (updates.empty())
      return "INSERT OR REPLACE" + insert_rows(schema, rows).substr(std::string("INSERT").size());

    std::string sql = insert_rows(schema, rows) + " ON CONFLICT (";
    for (size_t i = 0; i < schema.primary_key.size(); ++i)
      sql += (i > 0 ? ", " : "") + quote(schema.primary_key[i]);
    sql += ") DO UPDATE SET ";
    for (size_t i = 0; i < updates.size(); ++i)
      sql += (i > 0 ? ", " : "") + quote(updates[i]) + " = excluded." + quote(updates[i]);
    return sql;
  }

  // DELETE ... WHERE k IN (?, ...), or WHERE (k1, k2) IN (VALUES (?, ?), ...) for a composite
  // key; parameters in primary-key order, row after row.
  std::string delete_rows(const TableSchema& schema, size_t rows) const {
    std::string sql = "DELETE FROM " + table(schema.name) + " WHERE ";
    if (schema.primary_key.size() == 1)
      return sql + quote(schema.primary_key.front()) + " IN " + marks(rows);
    sql += "(";
    for (size_t i = 0; i < schema.primary_key.size(); ++i)
      sql += (i > 0 ? ", " : "") + quote(schema.primary_key[i]);
    return sql + ") IN (VALUES " + repeated(marks(schema.primary_key.size()), rows) + ")";
  }

  // SQLITE_FULL (13), SQLITE_IOERR (10: the disk failed a read or write), SQLITE_READONLY (8),
  // SQLITE_CANTOPEN (14: e.g. no journal in a read-only folder), SQLITE_PERM (3), SQLITE_BUSY
  // (5), SQLITE_LOCKED (6) come as HY000 with the (extended) result code as the native error:
  // the database cannot take writes right now, whatever the batch holds.
  odbc::ErrorClass classify(const odbc::DbError& error) const override {
    switch (error.native_error & 0xff) {
      case 5:
      case 6:
        return odbc::ErrorClass::retry;
      case 3:
      case 8:
      case 10:
      case 13:
      case 14:
        return odbc::ErrorClass::unavailable;
      default:
        return error.error_class;
    }
  }
};

}  // namespace

std::unique_ptr<Dialect> make_sqlite_dialect(std::string quote) {
  return std::make_unique<SqliteDialect>(std::move(quote));
}

}  // namespace fep::sql
