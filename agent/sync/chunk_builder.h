// Groups decoded rows into chunks for the dialect's writer: rows of one operation, column-wise,
// in file order. A chunk ends when it is full, when the operation changes (a delete must not
// overtake an upsert), or when a key repeats (one set-based statement cannot touch a row twice).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>
#include <vector>

#include "adapters/dialects/dialect.h"
#include "agent/sync/row_decoder.h"

namespace fep {

struct RowChunk {
  DecodedRow::Op op = DecodedRow::Op::upsert;
  sql::Chunk columns;           // every schema column, or the key columns for deletes
  std::vector<uint64_t> lines;  // the CSV line of each row
  size_t rows() const { return lines.size(); }
};

class ChunkBuilder {
 public:
  using Emit = std::function<void(RowChunk&&)>;

  // `max_rows` rows, or about `max_bytes` of fixed-width parameter buffers (rows times the
  // longest value of each column), whichever comes first. One row larger than that is a chunk.
  ChunkBuilder(const sql::TableSchema& schema, std::vector<size_t> key_columns,
               const sql::Dialect& dialect, size_t max_rows, size_t max_bytes, Emit emit);

  void add(DecodedRow& row, uint64_t line);
  // Emits what is left.
  void finish();

 private:
  void start(DecodedRow::Op op);
  void flush();
  std::string key_of(const DecodedRow& row) const;

  const sql::TableSchema& schema_;
  std::vector<size_t> key_columns_;
  const sql::Dialect& dialect_;
  size_t max_rows_;
  size_t max_bytes_;
  Emit emit_;
  RowChunk current_;
  std::unordered_set<std::string> keys_;
};

}  // namespace fep
