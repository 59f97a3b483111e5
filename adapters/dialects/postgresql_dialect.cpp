// PostgreSQL, and KingbaseES in its PostgreSQL-compatible mode.
#include <algorithm>

#include "adapters/dialects/dialect_factories.h"

namespace fep::sql {
namespace {

bool is_key(const TableSchema& schema, const std::string& column) {
  return std::find(schema.primary_key.begin(), schema.primary_key.end(), column) !=
         schema.primary_key.end();
}

// Appends one element of a PostgreSQL array literal: quoted, with '"' and '\' escaped. Runs
// without either are copied whole: most values have none.
void append_element(std::string& out, std::string_view value) {
  out += '"';
  size_t from = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c != '"' && c != '\\') continue;
    out.append(value.data() + from, i - from);
    out += '\\';
    from = i;  // the character itself goes with the next run
  }
  out.append(value.data() + from, value.size() - from);
  out += '"';
}

// bytea in an array literal: the hex input form \x0a1b..., whose backslash the array escapes.
void append_bytea_element(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\"\\\\x";
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  out += '"';
}

class PostgresDialect : public Dialect {
 public:
  PostgresDialect(std::string quote, std::optional<std::string> db_schema, std::string_view name)
      : Dialect(std::move(quote), std::move(db_schema)), name_(name) {}
  std::string_view name() const override { return name_; }

  std::string column_type(const ColumnType& type) const override {
    switch (type.kind) {
      case ColumnKind::smallint_:
        return "smallint";
      case ColumnKind::integer_:
        return "integer";
      case ColumnKind::bigint_:
        return "bigint";
      case ColumnKind::decimal_:
        return "numeric(" + std::to_string(type.precision) + "," + std::to_string(type.scale) + ")";
      case ColumnKind::real_:
        return "real";
      case ColumnKind::double_:
        return "double precision";
      case ColumnKind::boolean_:
        return "boolean";
      // varchar, not char(n): character(n) pads with spaces and would not give back the value.
      case ColumnKind::char_:
      case ColumnKind::varchar_:
        return "varchar(" + std::to_string(type.length) + ")";
      case ColumnKind::text_:
        return "text";
      case ColumnKind::date_:
        return "date";
      case ColumnKind::time_:
        return "time";
      case ColumnKind::timestamp_:
        return "timestamp";
      case ColumnKind::timestamptz_:
        return "timestamptz";
      case ColumnKind::binary_:
        return "bytea";
    }
    return "text";
  }

  std::string upsert(const TableSchema& schema) const override {
    return insert(schema) + on_conflict(schema);
  }

  std::vector<std::string> session_setup(std::chrono::seconds statement_timeout) const override {
    // timestamptz keeps its instant either way; UTC makes what readers see the same everywhere.
    std::vector<std::string> setup = {"SET TIME ZONE 'UTC'"};
    // The server's own limit, lock waits included. (psqlODBC's SQL_ATTR_QUERY_TIMEOUT sets the
    // same around each statement, and leaks memory when one is cancelled.)
    if (statement_timeout.count() > 0)
      setup.push_back("SET statement_timeout = " +
                      std::to_string(std::chrono::milliseconds(statement_timeout).count()));
    return setup;
  }
  bool session_bounds_statements() const override { return true; }

  std::unique_ptr<TableWriter> writer(odbc::Connection& connection,
                                      const TableSchema& schema) const override;
  // Each chunk is a round trip, and on a busy machine every round trip waits for the server and
  // then the agent to be scheduled; larger chunks cost the agent memory (a chunk is held queued,
  // being built, being written and as array literals) and the server fresh pages for the
  // arrays (20,000 rows: 40% of its time clearing pages).
  size_t chunk_rows() const override { return 5000; }
  std::optional<std::string> current_schema_query() const override {
    return "SELECT current_schema()";
  }

  // One statement per chunk: every column bound as one array parameter and unnested. The
  // arrays are unnested in the select list, not in FROM: equally long arrays advance in
  // lockstep either way, but a set-returning function in FROM first stores its whole result
  // in a tuplestore, which costs the server about a fifth more CPU per row.
  std::string unnest(const std::vector<Column>& columns) const {
    std::string sql = "SELECT ";
    for (size_t i = 0; i < columns.size(); ++i)
      sql += (i > 0 ? ", " : "") + std::string("unnest(CAST(? AS ") + column_type(columns[i].type) +
             "[]))";
    return sql;
  }

  std::string on_conflict(const TableSchema& schema) const {
    std::string keys, updates;
    for (const auto& k : schema.primary_key) keys += (keys.empty() ? "" : ", ") + quote(k);
    for (const auto& c : schema.columns)
      if (!is_key(schema, c.name))
        updates += (updates.empty() ? "" : ", ") + quote(c.name) + " = EXCLUDED." + quote(c.name);
    if (updates.empty()) return " ON CONFLICT (" + keys + ") DO NOTHING";
    return " ON CONFLICT (" + keys + ") DO UPDATE SET " + updates;
  }

  std::vector<Column> key_columns(const TableSchema& schema) const {
    std::vector<Column> out;
    for (const auto& k : schema.primary_key)
      for (const auto& c : schema.columns)
        if (c.name == k) out.push_back(c);
    return out;
  }

 protected:
  // psqlODBC sends text parameters as varchar: other column types need an explicit cast.
  std::string placeholder(const ColumnType& type) const override {
    switch (type.kind) {
      case ColumnKind::char_:
      case ColumnKind::varchar_:
      case ColumnKind::text_:
        return "?";
      default:
        return "CAST(? AS " + column_type(type) + ")";
    }
  }

 private:
  std::string_view name_;
};

class UnnestWriter final : public TableWriter {
 public:
  UnnestWriter(const PostgresDialect& d, odbc::Connection& connection, const TableSchema& schema)
      : connection_(connection), columns_(schema.columns), keys_(d.key_columns(schema)) {
    const std::string names = "(" + column_names(d, columns_) + ")";
    insert_sql_ = "INSERT INTO " + d.table(schema.name) + " " + names + " " + d.unnest(columns_);
    upsert_sql_ = insert_sql_ + d.on_conflict(schema);
    remove_sql_ = "DELETE FROM " + d.table(schema.name) + " WHERE (" + column_names(d, keys_) +
                  ") IN (" + d.unnest(keys_) + ")";
  }

  WriteResult insert(const Chunk& rows) override {
    return run(insert_, insert_sql_, rows, columns_);
  }
  WriteResult upsert(const Chunk& rows) override {
    return run(upsert_, upsert_sql_, rows, columns_);
  }
  WriteResult remove(const Chunk& keys) override { return run(remove_, remove_sql_, keys, keys_); }

 private:
  static std::string column_names(const Dialect& d, const std::vector<Column>& columns) {
    std::string out;
    for (const auto& c : columns) out += (out.empty() ? "" : ", ") + d.quote(c.name);
    return out;
  }

  WriteResult run(std::unique_ptr<odbc::Statement>& stmt, const std::string& sql, const Chunk& rows,
                  const std::vector<Column>& columns) {
    if (!stmt) {
      auto prepared = connection_.prepare(sql);
      if (!prepared) return Unexpected{WriteError{prepared.error(), std::nullopt}};
      stmt = std::move(prepared).value();
    }
    literals_.resize(rows.size());
    std::vector<odbc::Param> params;
    for (size_t c = 0; c < rows.size(); ++c) {
      build_literal(rows[c], columns[c].type.kind == ColumnKind::binary_, literals_[c]);
      params.push_back(odbc::Param::text(literals_[c]));
    }
    auto st = stmt->execute(params);
    if (!st) return Unexpected{WriteError{std::move(st.error()), std::nullopt}};
    return {};
  }

  static void build_literal(const odbc::ParamColumn& col, bool bytea, std::string& out) {
    out.assign("{");
    for (size_t r = 0; r < col.rows(); ++r) {
      if (r > 0) out += ',';
      if (col.is_null(r))
        out += "NULL";
      else if (bytea)
        append_bytea_element(out, col.value(r));
      else
        append_element(out, col.value(r));
    }
    out += '}';
  }

  odbc::Connection& connection_;
  std::vector<Column> columns_, keys_;
  std::string insert_sql_, upsert_sql_, remove_sql_;
  std::unique_ptr<odbc::Statement> insert_, upsert_, remove_;
  std::vector<std::string> literals_;  // reused: one per column
};

std::unique_ptr<TableWriter> PostgresDialect::writer(odbc::Connection& connection,
                                                     const TableSchema& schema) const {
  return std::make_unique<UnnestWriter>(*this, connection, schema);
}

}  // namespace

std::unique_ptr<Dialect> make_postgresql_dialect(std::string quote,
                                                 std::optional<std::string> db_schema) {
  return std::make_unique<PostgresDialect>(std::move(quote), std::move(db_schema), "postgresql");
}

std::unique_ptr<Dialect> make_kingbase_dialect(std::string quote,
                                               std::optional<std::string> db_schema) {
  return std::make_unique<PostgresDialect>(std::move(quote), std::move(db_schema), "kingbase");
}

}  // namespace fep::sql
