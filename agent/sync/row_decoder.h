// Turns CSV records of a table payload into checked values in the table's column order.
#pragma once

#include <string>
#include <vector>

#include "adapters/base/expected.h"
#include "adapters/dialects/table_schema.h"
#include "agent/batch/csv_reader.h"
#include "agent/batch/manifest.h"
#include "agent/batch/rejection.h"

namespace fep {

struct DecodedRow {
  enum class Op { upsert, remove };
  Op op = Op::upsert;
  // One entry per schema column (schema order); null[i] marks SQL NULL. Only primary-key
  // columns are filled for a delete.
  std::vector<std::string> values;
  std::vector<bool> null;
};

class RowDecoder {
 public:
  // Checks the header (line 1) against the schema: exactly the schema's columns, each once, in
  // any order, led by `_op` in incremental batches.
  static Expected<RowDecoder, Rejection> from_header(const CsvRecord& header,
                                                     const sql::TableSchema& schema,
                                                     BatchMode mode);

  // Decodes one record into `row` (reused across calls to keep allocations down).
  Expected<void, Rejection> decode(const CsvRecord& record, DecodedRow& row) const;

  const std::vector<size_t>& key_columns() const { return key_columns_; }

 private:
  RowDecoder(const sql::TableSchema& schema, BatchMode mode) : schema_(&schema), mode_(mode) {}
  Expected<void, Rejection> decode_value(const CsvRecord& record, size_t column,
                                         DecodedRow& row) const;

  const sql::TableSchema* schema_;
  BatchMode mode_;
  size_t field_count_ = 0;
  std::vector<size_t> field_of_column_;  // CSV field index of each schema column
  std::vector<size_t> key_columns_;      // schema indexes of the primary key, in key order
};

}  // namespace fep
