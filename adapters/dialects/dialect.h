// One small class per database: quoting, type mapping, DDL and the statements a batch needs.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"
#include "adapters/dialects/table_schema.h"

namespace fep::sql {

// The table in every target that records applied batches, written in the same transaction
// as the batch's data so that the target itself says whether a batch is there.
inline constexpr std::string_view kBookkeepingTable = "_fep_batches";

class Dialect {
 public:
  explicit Dialect(std::string quote) : quote_(std::move(quote)) {}
  virtual ~Dialect() = default;
  virtual std::string_view name() const = 0;

  // Quotes with the driver's identifier quote, doubling any quote inside.
  std::string quote(std::string_view identifier) const;

  virtual std::string column_type(const ColumnType& type) const = 0;
  virtual std::string create_table(const TableSchema& schema) const;
  // INSERT INTO t (c1, c2, ...) VALUES (?, ?, ...) in `columns` order.
  virtual std::string insert(const std::string& table,
                             const std::vector<std::string>& columns) const;
  // Insert or replace by primary key (which must not be empty), parameters in `columns` order.
  virtual std::string upsert(const TableSchema& schema,
                             const std::vector<std::string>& columns) const = 0;
  // DELETE ... WHERE pk1 = ? AND pk2 = ?, parameters in primary-key order (a key is required).
  virtual std::string delete_by_key(const TableSchema& schema) const;
  virtual std::string delete_all(const std::string& table) const;

  // Bookkeeping: columns batch_id (primary key), resource_id, seq, row_count, deleted_count,
  // applied_at.
  virtual std::string create_bookkeeping() const;
  std::string insert_bookkeeping() const;  // 6 parameters in the order above
  std::string select_bookkeeping() const;  // WHERE batch_id = ?; returns row_count, deleted_count

 protected:
  std::string quote_;
};

// Makes the dialect called `name` ("sqlite"; more in later versions) with the driver's quote.
Expected<std::unique_ptr<Dialect>> make_dialect(std::string_view name, std::string quote);

// Picks a dialect name from SQLGetInfo(SQL_DBMS_NAME); an error for a DBMS we do not know.
Expected<std::string> dialect_for_dbms(std::string_view dbms_name);

}  // namespace fep::sql
