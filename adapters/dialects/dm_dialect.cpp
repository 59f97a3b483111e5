// DM (达梦): Oracle-like; DDL commits; MERGE INTO for upserts.
#include <algorithm>

#include "adapters/dialects/dialect_factories.h"

namespace fep::sql {
namespace {

class DmDialect final : public Dialect {
 public:
  DmDialect(std::string quote, std::optional<std::string> db_schema)
      : Dialect(std::move(quote), std::move(db_schema)) {}
  std::string_view name() const override { return "dm"; }

  std::string column_type(const ColumnType& type) const override {
    switch (type.kind) {
      case ColumnKind::smallint_:
        return "SMALLINT";
      case ColumnKind::integer_:
        return "INT";
      case ColumnKind::bigint_:
        return "BIGINT";
      case ColumnKind::decimal_:
        return "DECIMAL(" + std::to_string(type.precision) + "," + std::to_string(type.scale) + ")";
      case ColumnKind::real_:
        return "REAL";
      case ColumnKind::double_:
        return "DOUBLE";
      case ColumnKind::boolean_:
        return "BIT";
      // Lengths in characters: DM counts bytes unless told (LENGTH_IN_CHAR=0 by default).
      case ColumnKind::char_:
      case ColumnKind::varchar_:
        return "VARCHAR(" + std::to_string(type.length) + " CHAR)";
      case ColumnKind::text_:
        return "CLOB";
      case ColumnKind::date_:
        return "DATE";
      case ColumnKind::time_:
        return "TIME(6)";
      case ColumnKind::timestamp_:
        return "TIMESTAMP(6)";
      case ColumnKind::timestamptz_:
        return "TIMESTAMP(6) WITH TIME ZONE";
      case ColumnKind::binary_:
        return "BLOB";
    }
    return "CLOB";
  }

  // CLOB and BLOB cannot be keys.
  std::string key_column_type(const ColumnType& type) const override {
    if (type.kind == ColumnKind::text_) return "VARCHAR(1024 CHAR)";
    if (type.kind == ColumnKind::binary_) return "VARBINARY(8188)";
    return column_type(type);
  }

  // DM reads an offset after a space: "2026-11-20 02:00:00 +08:00".
  void adapt(const ColumnType& type, std::string& value) const override {
    if (type.kind == ColumnKind::timestamptz_ && value.size() > 6)
      value.insert(value.size() - 6, 1, ' ');
  }

  bool ddl_commits() const override { return true; }

  std::string upsert(const TableSchema& schema) const override {
    auto is_key = [&](const std::string& c) {
      return std::find(schema.primary_key.begin(), schema.primary_key.end(), c) !=
             schema.primary_key.end();
    };
    std::string source, on, updates, names, values;
    for (const auto& c : schema.columns) {
      source += (source.empty() ? "" : ", ") + placeholder(c.type) + " AS " + quote(c.name);
      names += (names.empty() ? "" : ", ") + quote(c.name);
      values += (values.empty() ? "" : ", ") + std::string("s.") + quote(c.name);
      if (is_key(c.name))
        on += (on.empty() ? "" : " AND ") + std::string("t.") + quote(c.name) + " = s." +
              quote(c.name);
      else
        updates += (updates.empty() ? "" : ", ") + std::string("t.") + quote(c.name) + " = s." +
                   quote(c.name);
    }
    std::string sql = "MERGE INTO " + table(schema.name) + " t USING (SELECT " + source +
                      " FROM DUAL) s ON (" + on + ")";
    if (!updates.empty()) sql += " WHEN MATCHED THEN UPDATE SET " + updates;
    return sql + " WHEN NOT MATCHED THEN INSERT (" + names + ") VALUES (" + values + ")";
  }
};

}  // namespace

std::unique_ptr<Dialect> make_dm_dialect(std::string quote, std::optional<std::string> db_schema) {
  return std::make_unique<DmDialect>(std::move(quote), std::move(db_schema));
}

}  // namespace fep::sql
