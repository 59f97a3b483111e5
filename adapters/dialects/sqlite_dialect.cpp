#include <algorithm>

#include "adapters/dialects/dialect_factories.h"
#include "adapters/dialects/writers.h"

namespace fep::sql {
namespace {

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

  std::string upsert(const TableSchema& schema) const override {
    std::vector<std::string> updates;
    for (const auto& c : schema.columns)
      if (std::find(schema.primary_key.begin(), schema.primary_key.end(), c.name) ==
          schema.primary_key.end())
        updates.push_back(c.name);
    // Nothing but key columns: there is nothing to update, so replacing the row is the same.
    if (updates.empty())
      return "INSERT OR REPLACE" + insert(schema).substr(std::string("INSERT").size());

    std::string sql = insert(schema) + " ON CONFLICT (";
    for (size_t i = 0; i < schema.primary_key.size(); ++i)
      sql += (i > 0 ? ", " : "") + quote(schema.primary_key[i]);
    sql += ") DO UPDATE SET ";
    for (size_t i = 0; i < updates.size(); ++i)
      sql += (i > 0 ? ", " : "") + quote(updates[i]) + " = excluded." + quote(updates[i]);
    return sql;
  }

  // An embedded database costs no round trip per row, and the SQLite3 ODBC driver binds binary
  // parameter arrays wrongly (every row with the first row's length): write row by row.
  std::unique_ptr<TableWriter> writer(odbc::Connection& connection,
                                      const TableSchema& schema) const override {
    return make_row_writer(*this, connection, schema);
  }

  // SQLITE_FULL (13), SQLITE_READONLY (8), SQLITE_BUSY (5), SQLITE_LOCKED (6) come as HY000
  // with the result code as the native error: the database cannot take writes right now.
  odbc::ErrorClass classify(const odbc::DbError& error) const override {
    switch (error.native_error & 0xff) {
      case 5:
      case 6:
        return odbc::ErrorClass::retry;
      case 8:
      case 13:
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
