// One small class per database: quoting, type mapping, DDL, the statements a batch needs, how
// rows are written in bulk, and what its errors mean.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"
#include "adapters/dialects/table_schema.h"
#include "adapters/odbc/odbc.h"

namespace fep::sql {

// The table in every target that records applied batches, written in the same transaction
// as the batch's data so that the target itself says whether a batch is there.
inline constexpr std::string_view kBookkeepingTable = "_fep_batches";
// The table that records, for each table the agent manages, the manifest schema it holds.
inline constexpr std::string_view kSchemaTable = "_fep_tables";

// Rows of one operation, column-wise: every schema column (inserts, upserts) or the key
// columns in primary-key order (deletes).
using Chunk = std::vector<odbc::ParamColumn>;

struct WriteError {
  odbc::DbError error;
  std::optional<size_t> row;  // the row of the chunk the database blamed, when it says
};
using WriteResult = Expected<void, WriteError>;

// Writes the rows of one batch into one table, a chunk at a time.
class TableWriter {
 public:
  virtual ~TableWriter() = default;
  virtual WriteResult insert(const Chunk& rows) = 0;
  virtual WriteResult upsert(const Chunk& rows) = 0;
  virtual WriteResult remove(const Chunk& keys) = 0;
};

class Dialect {
 public:
  // `quote`: the driver's SQL_IDENTIFIER_QUOTE_CHAR; `db_schema`: where tables go (optional).
  Dialect(std::string quote, std::optional<std::string> db_schema)
      : quote_(std::move(quote)), db_schema_(std::move(db_schema)) {}
  virtual ~Dialect() = default;
  virtual std::string_view name() const = 0;
  const std::optional<std::string>& db_schema() const { return db_schema_; }

  // Quotes with the driver's identifier quote, doubling any quote inside.
  std::string quote(std::string_view identifier) const;
  // A table name, quoted and qualified with the target's schema when it has one.
  std::string table(std::string_view name) const;

  // --- types and values ---------------------------------------------------------------------
  virtual std::string column_type(const ColumnType& type) const = 0;
  // A column type as created in a table, which may differ for key columns (MySQL indexes).
  virtual std::string key_column_type(const ColumnType& type) const { return column_type(type); }
  // Turns a checked, normalised value (see agent/batch/values.h) into the text this database
  // accepts for `type`; called for every non-NULL value of a non-binary column.
  virtual void adapt(const ColumnType& type, std::string& value) const;

  // --- DDL ----------------------------------------------------------------------------------
  virtual std::string create_table(const TableSchema& schema) const;
  virtual std::string add_column(std::string_view table, const Column& column) const;
  virtual std::string drop_table(std::string_view table) const;
  // Renames `from` to `to` (both bare names in the target's schema).
  virtual std::string rename_table(std::string_view from, std::string_view to) const;
  // Puts `staging` in place of `live` (which becomes `old`), as atomically as the database
  // allows; `old` is dropped afterwards by the caller.
  virtual std::vector<std::string> swap_tables(std::string_view live, std::string_view staging,
                                               std::string_view old) const;
  // True when DDL commits the open transaction (MySQL, DM): schema changes then happen before
  // the batch's transaction, and a rebuild loads a staging table and swaps it in.
  virtual bool ddl_commits() const { return false; }

  // --- DML ----------------------------------------------------------------------------------
  // INSERT INTO t (c1, ...) VALUES (p1, ...) in `columns` order.
  std::string insert(const TableSchema& schema) const;
  // Insert or replace by primary key, parameters in column order.
  virtual std::string upsert(const TableSchema& schema) const = 0;
  // DELETE ... WHERE pk1 = ? AND ..., parameters in primary-key order.
  std::string delete_by_key(const TableSchema& schema) const;
  // Every row; DELETE rather than TRUNCATE because it is transactional everywhere.
  std::string delete_all(std::string_view table) const;
  // The writer for one batch into `schema.name`. Default: ODBC parameter arrays.
  virtual std::unique_ptr<TableWriter> writer(odbc::Connection& connection,
                                              const TableSchema& schema) const;
  // Rows per chunk the writer is fed.
  virtual size_t chunk_rows() const { return 1000; }

  // --- sessions and errors ------------------------------------------------------------------
  // Statements run once after connecting (character set, time zone, strict values, and the
  // statement time limit where the driver's query timeout does not give one).
  virtual std::vector<std::string> session_setup(std::chrono::seconds /*statement_timeout*/) const {
    return {};
  }
  // Whether session_setup bounds statements itself; otherwise the connection's ODBC query
  // timeout does.
  virtual bool session_bounds_statements() const { return false; }
  // Asks for the schema unqualified names land in, when the target names none: catalog
  // lookups then search only there. nullopt: the database has no such notion here.
  virtual std::optional<std::string> current_schema_query() const { return std::nullopt; }
  // Refines the SQLSTATE class with what this database's native codes say.
  virtual odbc::ErrorClass classify(const odbc::DbError& error) const { return error.error_class; }

  // --- bookkeeping --------------------------------------------------------------------------
  // _fep_batches: batch_id (key), resource_id, seq, row_count, deleted_count, applied_at.
  std::string create_bookkeeping() const;
  std::string insert_bookkeeping() const;  // 6 parameters in the order above
  std::string select_bookkeeping() const;  // WHERE batch_id = ?: row_count, deleted_count
  // _fep_tables: table_name (key), resource_id, schema_json, updated_at.
  std::string create_schema_registry() const;
  std::string insert_schema_registry() const;  // 4 parameters in the order above
  std::string select_schema_registry() const;  // WHERE table_name = ?: schema_json, resource_id
  std::string delete_schema_registry() const;  // WHERE table_name = ?

 protected:
  // The parameter marker for a value of `type`; "?" unless the driver needs a cast.
  virtual std::string placeholder(const ColumnType& type) const;
  std::string column_list(const std::vector<Column>& columns) const;

  std::string quote_;
  std::optional<std::string> db_schema_;
};

// Makes the dialect called `name` (sqlite, postgresql, mysql, dm, kingbase). `dbms_name` and
// `dbms_version` are the server's SQLGetInfo(SQL_DBMS_NAME) and (SQL_DBMS_VER), for what differs
// between servers of one dialect (MySQL's and MariaDB's collations); empty when unknown.
Expected<std::unique_ptr<Dialect>> make_dialect(std::string_view name, std::string quote,
                                                std::optional<std::string> db_schema,
                                                std::string_view dbms_name = {},
                                                std::string_view dbms_version = {});

// Whether a MySQL-dialect server is MariaDB: MySQL's own driver names a MariaDB server "MySQL",
// its version string says MariaDB.
bool is_mariadb(std::string_view dbms_name, std::string_view dbms_version);

// The collation of new MySQL-dialect tables: binary and without padding where the server has
// one (MariaDB: utf8mb4_nopad_bin; MySQL 8.0.17 and later: utf8mb4_0900_bin), else utf8mb4_bin.
std::string mysql_collation(std::string_view dbms_name, std::string_view dbms_version);

// Picks a dialect name from SQLGetInfo(SQL_DBMS_NAME); an error for a DBMS we do not know.
Expected<std::string> dialect_for_dbms(std::string_view dbms_name);

}  // namespace fep::sql
