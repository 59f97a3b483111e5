// MySQL and MariaDB (InnoDB, utf8mb4).
#include <algorithm>

#include "adapters/dialects/dialect_factories.h"
#include "adapters/dialects/time_text.h"

namespace fep::sql {
namespace {

// InnoDB keys hold at most 3072 bytes: 768 characters of utf8mb4.
constexpr int kMaxKeyChars = 768;
// Longer VARCHARs would break InnoDB's 65,535-byte row limit at 4 bytes a character.
constexpr int kMaxVarcharChars = 16383;

class MysqlDialect final : public Dialect {
 public:
  MysqlDialect(std::string quote, std::string collation, bool mariadb)
      : Dialect(std::move(quote), std::nullopt),
        collation_(std::move(collation)),
        mariadb_(mariadb) {}
  std::string_view name() const override { return "mysql"; }

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
        return "FLOAT";
      case ColumnKind::double_:
        return "DOUBLE";
      case ColumnKind::boolean_:
        return "BOOLEAN";
      // VARCHAR, not CHAR(n): CHAR drops trailing spaces on the way out.
      case ColumnKind::char_:
      case ColumnKind::varchar_:
        return type.length <= kMaxVarcharChars ? "VARCHAR(" + std::to_string(type.length) + ")"
                                               : "LONGTEXT";
      case ColumnKind::text_:
        return "LONGTEXT";
      case ColumnKind::date_:
        return "DATE";
      case ColumnKind::time_:
        return "TIME(6)";
      // DATETIME, not TIMESTAMP: TIMESTAMP converts through the session time zone and stops
      // in 2038. timestamptz values are stored as their UTC instant.
      case ColumnKind::timestamp_:
      case ColumnKind::timestamptz_:
        return "DATETIME(6)";
      case ColumnKind::binary_:
        return "LONGBLOB";
    }
    return "LONGTEXT";
  }

  std::string key_column_type(const ColumnType& type) const override {
    switch (type.kind) {
      case ColumnKind::char_:
      case ColumnKind::varchar_:
      case ColumnKind::text_:
        return "VARCHAR(" +
               std::to_string(type.kind == ColumnKind::text_
                                  ? kMaxKeyChars
                                  : std::min(type.length, kMaxKeyChars)) +
               ")";
      case ColumnKind::binary_:
        return "VARBINARY(3072)";
      default:
        return column_type(type);
    }
  }

  void adapt(const ColumnType& type, std::string& value) const override {
    if (type.kind == ColumnKind::timestamptz_) to_utc_without_offset(value);
  }

  std::string create_table(const TableSchema& schema) const override {
    // A binary collation without padding where the server has one: keys compare byte for byte,
    // so 'a', 'A' and 'a ' stay three rows (utf8mb4_bin is PAD SPACE: 'a' and 'a ' are one key).
    return Dialect::create_table(schema) +
           " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=" + collation_;
  }

  std::string rename_table(std::string_view from, std::string_view to) const override {
    return "RENAME TABLE " + table(from) + " TO " + table(to);
  }

  // One RENAME TABLE swaps both names atomically: readers never miss the table.
  std::vector<std::string> swap_tables(std::string_view live, std::string_view staging,
                                       std::string_view old) const override {
    return {"RENAME TABLE " + table(live) + " TO " + table(old) + ", " + table(staging) + " TO " +
            table(live)};
  }

  bool ddl_commits() const override { return true; }

  std::string upsert(const TableSchema& schema) const override {
    std::string updates;
    for (const auto& c : schema.columns)
      if (std::find(schema.primary_key.begin(), schema.primary_key.end(), c.name) ==
          schema.primary_key.end())
        updates +=
            (updates.empty() ? "" : ", ") + quote(c.name) + " = VALUES(" + quote(c.name) + ")";
    if (updates.empty())  // only key columns: an existing row is already what the batch says
      updates = quote(schema.primary_key.front()) + " = " + quote(schema.primary_key.front());
    return insert(schema) + " ON DUPLICATE KEY UPDATE " + updates;
  }

  bool session_bounds_statements() const override { return true; }
  std::vector<std::string> session_setup(std::chrono::seconds statement_timeout) const override {
    std::vector<std::string> setup = {
        // Refuse rather than truncate or zero a value the column cannot hold.
        "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
        "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'",
        "SET SESSION time_zone = '+00:00'"};
    // MariaDB Connector/ODBC ignores SQL_ATTR_QUERY_TIMEOUT (01S02, "no timeout"). The
    // server's own limits instead: a metadata lock (DDL, RENAME) waits a year by default.
    const long long seconds = statement_timeout.count();
    if (seconds > 0) {
      setup.push_back("SET SESSION lock_wait_timeout = " +
                      std::to_string(std::min(seconds, kMaxLockWaitTimeout)));
      // MySQL has no limit for statements that write (max_execution_time is for SELECT).
      if (mariadb_) setup.push_back("SET SESSION max_statement_time = " + std::to_string(seconds));
    }
    return setup;
  }

  size_t chunk_rows() const override { return 2000; }

  // MySQL reports many conditions as HY000 with a native code.
  odbc::ErrorClass classify(const odbc::DbError& error) const override {
    switch (error.native_error) {
      case 1030:  // "Got error N from storage engine": 28 is ENOSPC
        return error.message.find("No space left on device") != std::string::npos
                   ? odbc::ErrorClass::unavailable
                   : error.error_class;
      case 3:     // error writing a file (Errcode: 28, disk full)
      case 1878:  // a temporary file could not be written
      case 1021:  // disk full
      case 1114:  // table is full
      case 1290:  // --read-only
      case 1792:  // read-only transaction
      case 1836:  // read-only mode
        return odbc::ErrorClass::unavailable;
      case 1213:  // deadlock
      case 1317:  // query interrupted (KILL QUERY)
        return odbc::ErrorClass::retry;
      case 1205:  // lock wait timeout (innodb_lock_wait_timeout)
      case 1969:  // MariaDB: max_statement_time exceeded
      case 3024:  // MySQL: max_execution_time exceeded
        return odbc::ErrorClass::timeout;
      case 2006:  // server has gone away
      case 2013:  // lost connection during query
        return odbc::ErrorClass::reconnect;
      default:
        return error.error_class;
    }
  }

 private:
  // lock_wait_timeout's largest value.
  static constexpr long long kMaxLockWaitTimeout = 31'536'000;
  std::string collation_;
  bool mariadb_;
};

}  // namespace

std::unique_ptr<Dialect> make_mysql_dialect(std::string quote, std::string collation,
                                            bool mariadb) {
  return std::make_unique<MysqlDialect>(std::move(quote), std::move(collation), mariadb);
}

}  // namespace fep::sql
