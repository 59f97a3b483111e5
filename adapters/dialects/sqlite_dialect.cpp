#include "adapters/dialects/sqlite_dialect.h"

#include <algorithm>

namespace fep::sql {
namespace {

class SqliteDialect final : public Dialect {
 public:
  using Dialect::Dialect;
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

  std::string upsert(const TableSchema& schema,
                     const std::vector<std::string>& columns) const override {
    std::vector<std::string> updates;
    for (const auto& c : columns)
      if (std::find(schema.primary_key.begin(), schema.primary_key.end(), c) ==
          schema.primary_key.end())
        updates.push_back(c);
    // Nothing but key columns: there is nothing to update, so replacing the row is the same.
    if (updates.empty())
      return "INSERT OR REPLACE" +
             insert(schema.name, columns).substr(std::string("INSERT").size());

    std::string sql = insert(schema.name, columns) + " ON CONFLICT (";
    for (size_t i = 0; i < schema.primary_key.size(); ++i)
      sql += (i > 0 ? ", " : "") + quote(schema.primary_key[i]);
    sql += ") DO UPDATE SET ";
    for (size_t i = 0; i < updates.size(); ++i)
      sql += (i > 0 ? ", " : "") + quote(updates[i]) + " = excluded." + quote(updates[i]);
    return sql;
  }
};

}  // namespace

std::unique_ptr<Dialect> make_sqlite_dialect(std::string quote) {
  return std::make_unique<SqliteDialect>(std::move(quote));
}

}  // namespace fep::sql
