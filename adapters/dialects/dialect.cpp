#include "adapters/dialects/dialect.h"

#include <algorithm>

#include "adapters/dialects/dialect_factories.h"
#include "adapters/dialects/writers.h"

namespace fep::sql {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// The agent's own tables, described with protocol types so every dialect creates them alike.
const TableSchema& bookkeeping_schema() {
  static const TableSchema schema{std::string(kBookkeepingTable),
                                  {{"batch_id", {ColumnKind::varchar_, 128}, false},
                                   {"resource_id", {ColumnKind::varchar_, 128}, false},
                                   {"seq", {ColumnKind::bigint_}, false},
                                   {"row_count", {ColumnKind::bigint_}, false},
                                   {"deleted_count", {ColumnKind::bigint_}, false},
                                   {"applied_at", {ColumnKind::varchar_, 40}, false}},
                                  {"batch_id"}};
  return schema;
}

const TableSchema& registry_schema() {
  static const TableSchema schema{std::string(kSchemaTable),
                                  {{"table_name", {ColumnKind::varchar_, 128}, false},
                                   {"resource_id", {ColumnKind::varchar_, 128}, false},
                                   {"schema_json", {ColumnKind::text_}, false},
                                   {"updated_at", {ColumnKind::varchar_, 40}, false}},
                                  {"table_name"}};
  return schema;
}

struct Known {
  std::string_view dbms;  // SQL_DBMS_NAME, compared without case
  std::string_view dialect;
};

constexpr Known kKnownDbms[] = {
    {"sqlite", "sqlite"},
    {"postgresql", "postgresql"},
    {"mysql", "mysql"},
    {"mariadb", "mysql"},
    {"dm dbms", "dm"},
    {"dm", "dm"},
    {"dm8", "dm"},
    {"kingbasees", "kingbase"},
    {"kingbase", "kingbase"},
};

}  // namespace

std::string Dialect::quote(std::string_view identifier) const {
  // ODBC answers " " when a driver has no identifier quote; use the SQL standard's then.
  const std::string q = quote_.empty() || quote_ == " " ? "\"" : quote_;
  std::string out = q;
  for (size_t i = 0; i < identifier.size();) {
    if (identifier.substr(i, q.size()) == q) {
      out += q + q;
      i += q.size();
    } else {
      out += identifier[i++];
    }
  }
  return out + q;
}

std::string Dialect::table(std::string_view name) const {
  return db_schema_ ? quote(*db_schema_) + "." + quote(name) : quote(name);
}

void Dialect::adapt(const ColumnType&, std::string&) const {}

std::string Dialect::placeholder(const ColumnType&) const {
  return "?";
}

std::string Dialect::column_list(const std::vector<Column>& columns) const {
  std::string out;
  for (const auto& c : columns) out += (out.empty() ? "" : ", ") + quote(c.name);
  return out;
}

std::string Dialect::create_table(const TableSchema& schema) const {
  std::string sql = "CREATE TABLE " + table(schema.name) + " (";
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const Column& c = schema.columns[i];
    const bool key = contains(schema.primary_key, c.name);
    if (i > 0) sql += ", ";
    sql += quote(c.name) + " " + (key ? key_column_type(c.type) : column_type(c.type));
    // Key columns are NOT NULL even if the manifest forgot: SQLite would otherwise allow NULL keys.
    if (!c.nullable || key) sql += " NOT NULL";
  }
  if (!schema.primary_key.empty()) {
    sql += ", PRIMARY KEY (";
    for (size_t i = 0; i < schema.primary_key.size(); ++i)
      sql += (i > 0 ? ", " : "") + quote(schema.primary_key[i]);
    sql += ")";
  }
  return sql + ")";
}

std::string Dialect::add_column(std::string_view name, const Column& column) const {
  return "ALTER TABLE " + table(name) + " ADD " + quote(column.name) + " " +
         column_type(column.type);
}

std::string Dialect::drop_table(std::string_view name) const {
  return "DROP TABLE " + table(name);
}

std::string Dialect::rename_table(std::string_view from, std::string_view to) const {
  return "ALTER TABLE " + table(from) + " RENAME TO " + quote(to);
}

std::vector<std::string> Dialect::swap_tables(std::string_view live, std::string_view staging,
                                              std::string_view old) const {
  return {rename_table(live, old), rename_table(staging, live)};
}

std::string Dialect::insert(const TableSchema& schema) const {
  std::string marks;
  for (const auto& c : schema.columns) marks += (marks.empty() ? "" : ", ") + placeholder(c.type);
  return "INSERT INTO " + table(schema.name) + " (" + column_list(schema.columns) + ") VALUES (" +
         marks + ")";
}

std::string Dialect::delete_by_key(const TableSchema& schema) const {
  std::string sql = "DELETE FROM " + table(schema.name) + " WHERE ";
  bool first = true;
  for (const auto& key : schema.primary_key)
    for (const auto& c : schema.columns)
      if (c.name == key) {
        sql += (first ? "" : " AND ") + quote(key) + " = " + placeholder(c.type);
        first = false;
      }
  return sql;
}

std::string Dialect::delete_all(std::string_view name) const {
  return "DELETE FROM " + table(name);
}

std::unique_ptr<TableWriter> Dialect::writer(odbc::Connection& connection,
                                             const TableSchema& schema) const {
  return make_array_writer(*this, connection, schema);
}

std::string Dialect::create_bookkeeping() const {
  return create_table(bookkeeping_schema());
}
std::string Dialect::insert_bookkeeping() const {
  return insert(bookkeeping_schema());
}
std::string Dialect::select_bookkeeping() const {
  return "SELECT " + quote("row_count") + ", " + quote("deleted_count") + " FROM " +
         table(kBookkeepingTable) + " WHERE " + quote("batch_id") + " = ?";
}

std::string Dialect::create_schema_registry() const {
  return create_table(registry_schema());
}
std::string Dialect::insert_schema_registry() const {
  return insert(registry_schema());
}
std::string Dialect::select_schema_registry() const {
  return "SELECT " + quote("schema_json") + ", " + quote("resource_id") + " FROM " +
         table(kSchemaTable) + " WHERE " + quote("table_name") + " = ?";
}
std::string Dialect::delete_schema_registry() const {
  return "DELETE FROM " + table(kSchemaTable) + " WHERE " + quote("table_name") + " = ?";
}

bool is_mariadb(std::string_view dbms_name, std::string_view dbms_version) {
  return lower(dbms_name) == "mariadb" || lower(dbms_version).find("mariadb") != std::string::npos;
}

std::string mysql_collation(std::string_view dbms_name, std::string_view dbms_version) {
  if (is_mariadb(dbms_name, dbms_version)) return "utf8mb4_nopad_bin";
  // SQL_DBMS_VER starts with ##.##.#### (major, minor, release).
  int part[3] = {-1, -1, -1};
  std::string_view rest = dbms_version;
  for (int& p : part) {
    size_t n = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
    if (n == 0 || n > 6) break;
    p = std::stoi(std::string(rest.substr(0, n)));
    rest.remove_prefix(n);
    if (rest.empty() || rest.front() != '.') break;
    rest.remove_prefix(1);
  }
  const bool has_0900 =
      part[0] > 8 || (part[0] == 8 && (part[1] > 0 || (part[1] == 0 && part[2] >= 17)));
  return has_0900 ? "utf8mb4_0900_bin" : "utf8mb4_bin";
}

Expected<std::unique_ptr<Dialect>> make_dialect(std::string_view name, std::string quote,
                                                std::optional<std::string> db_schema,
                                                std::string_view dbms_name,
                                                std::string_view dbms_version) {
  if (name == "sqlite") {
    if (db_schema) return fail("SQLite has no schemas: remove `schema` from the target");
    return make_sqlite_dialect(std::move(quote));
  }
  if (name == "postgresql") return make_postgresql_dialect(std::move(quote), std::move(db_schema));
  if (name == "kingbase") return make_kingbase_dialect(std::move(quote), std::move(db_schema));
  if (name == "mysql") {
    if (db_schema)
      return fail(
          "MySQL and MariaDB have no schemas inside a database: put the database in the "
          "connection string and remove `schema` from the target");
    return make_mysql_dialect(std::move(quote), mysql_collation(dbms_name, dbms_version),
                              is_mariadb(dbms_name, dbms_version));
  }
  if (name == "dm") return make_dm_dialect(std::move(quote), std::move(db_schema));
  return fail("unknown dialect \"" + std::string(name) + "\"");
}

Expected<std::string> dialect_for_dbms(std::string_view dbms_name) {
  const std::string key = lower(dbms_name);
  for (const auto& k : kKnownDbms)
    if (key == k.dbms) return std::string(k.dialect);
  return fail("unsupported database \"" + std::string(dbms_name) +
              "\" (SQL_DBMS_NAME); known: SQLite, PostgreSQL, MySQL, MariaDB, DM, KingbaseES");
}

}  // namespace fep::sql
