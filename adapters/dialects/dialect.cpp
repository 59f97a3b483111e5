#include "adapters/dialects/dialect.h"

#include <algorithm>

#include "adapters/dialects/sqlite_dialect.h"

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

struct Bookkeeping {
  std::string_view column;
  std::string_view type;
};

// Portable types only: every dialect can create this table the same way.
constexpr Bookkeeping kBookkeepingColumns[] = {
    {"batch_id", "varchar(128)"}, {"resource_id", "varchar(128)"}, {"seq", "bigint"},
    {"row_count", "bigint"},      {"deleted_count", "bigint"},     {"applied_at", "varchar(40)"},
};

struct Known {
  std::string_view dbms;  // SQL_DBMS_NAME, compared without case
  std::string_view dialect;
};

constexpr Known kKnownDbms[] = {
    {"sqlite", "sqlite"},       {"postgresql", "postgresql"},
    {"mysql", "mysql"},         {"mariadb", "mysql"},
    {"dm dbms", "dm"},          {"dm", "dm"},
    {"kingbasees", "kingbase"},
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

std::string Dialect::create_table(const TableSchema& schema) const {
  std::string sql = "CREATE TABLE " + quote(schema.name) + " (";
  for (size_t i = 0; i < schema.columns.size(); ++i) {
    const Column& c = schema.columns[i];
    if (i > 0) sql += ", ";
    sql += quote(c.name) + " " + column_type(c.type);
    // Key columns are NOT NULL even if the manifest forgot: SQLite would otherwise allow NULL keys.
    if (!c.nullable || contains(schema.primary_key, c.name)) sql += " NOT NULL";
  }
  if (!schema.primary_key.empty()) {
    sql += ", PRIMARY KEY (";
    for (size_t i = 0; i < schema.primary_key.size(); ++i)
      sql += (i > 0 ? ", " : "") + quote(schema.primary_key[i]);
    sql += ")";
  }
  return sql + ")";
}

std::string Dialect::insert(const std::string& table,
                            const std::vector<std::string>& columns) const {
  std::string names, marks;
  for (size_t i = 0; i < columns.size(); ++i) {
    names += (i > 0 ? ", " : "") + quote(columns[i]);
    marks += i > 0 ? ", ?" : "?";
  }
  return "INSERT INTO " + quote(table) + " (" + names + ") VALUES (" + marks + ")";
}

std::string Dialect::delete_by_key(const TableSchema& schema) const {
  std::string sql = "DELETE FROM " + quote(schema.name) + " WHERE ";
  for (size_t i = 0; i < schema.primary_key.size(); ++i)
    sql += (i > 0 ? " AND " : "") + quote(schema.primary_key[i]) + " = ?";
  return sql;
}

std::string Dialect::delete_all(const std::string& table) const {
  // DELETE rather than TRUNCATE: it is transactional everywhere, so a failed batch rolls back.
  return "DELETE FROM " + quote(table);
}

std::string Dialect::create_bookkeeping() const {
  std::string sql = "CREATE TABLE " + quote(kBookkeepingTable) + " (";
  for (const auto& c : kBookkeepingColumns)
    sql += quote(c.column) + " " + std::string(c.type) + " NOT NULL, ";
  return sql + "PRIMARY KEY (" + quote("batch_id") + "))";
}

std::string Dialect::insert_bookkeeping() const {
  std::vector<std::string> columns;
  for (const auto& c : kBookkeepingColumns) columns.emplace_back(c.column);
  return insert(std::string(kBookkeepingTable), columns);
}

std::string Dialect::select_bookkeeping() const {
  return "SELECT " + quote("row_count") + ", " + quote("deleted_count") + " FROM " +
         quote(kBookkeepingTable) + " WHERE " + quote("batch_id") + " = ?";
}

Expected<std::unique_ptr<Dialect>> make_dialect(std::string_view name, std::string quote) {
  if (name == "sqlite") return make_sqlite_dialect(std::move(quote));
  for (const auto& k : kKnownDbms)
    if (name == k.dialect)
      return fail("dialect " + std::string(name) + " is not available in this version");
  return fail("unknown dialect \"" + std::string(name) + "\"");
}

Expected<std::string> dialect_for_dbms(std::string_view dbms_name) {
  const std::string key = lower(dbms_name);
  for (const auto& k : kKnownDbms)
    if (key == k.dbms) return std::string(k.dialect);
  return fail("unsupported database \"" + std::string(dbms_name) +
              "\" (SQL_DBMS_NAME); known: SQLite, PostgreSQL, MySQL, MariaDB, DM DBMS, KingbaseES");
}

}  // namespace fep::sql
