#include "agent/sync/chunk_builder.h"

#include <algorithm>

namespace fep {

ChunkBuilder::ChunkBuilder(const sql::TableSchema& schema, std::vector<size_t> key_columns,
                           const sql::Dialect& dialect, size_t max_rows, size_t max_bytes,
                           Emit emit)
    : schema_(schema),
      key_columns_(std::move(key_columns)),
      dialect_(dialect),
      max_rows_(max_rows),
      max_bytes_(max_bytes),
      emit_(std::move(emit)) {}

std::string ChunkBuilder::key_of(const DecodedRow& row) const {
  std::string key;
  for (size_t c : key_columns_) {
    key += row.values[c];
    key += '\0';  // keys never hold NUL as a separator would be ambiguous otherwise
  }
  return key;
}

void ChunkBuilder::start(DecodedRow::Op op) {
  current_.op = op;
  current_.columns.clear();
  auto add_column = [&](size_t c) {
    const bool binary = schema_.columns[c].type.kind == sql::ColumnKind::binary_;
    current_.columns.emplace_back(binary ? odbc::Param::Kind::binary : odbc::Param::Kind::text);
  };
  if (op == DecodedRow::Op::remove)
    for (size_t c : key_columns_) add_column(c);
  else
    for (size_t c = 0; c < schema_.columns.size(); ++c) add_column(c);
}

void ChunkBuilder::flush() {
  if (current_.rows() == 0) return;
  emit_(std::move(current_));
  current_ = RowChunk{};
  keys_.clear();
}

void ChunkBuilder::add(DecodedRow& row, uint64_t line) {
  if (current_.rows() > 0 && current_.op != row.op) flush();
  if (!key_columns_.empty()) {
    auto key = key_of(row);
    if (keys_.count(key)) flush();
    keys_.insert(std::move(key));
  }
  if (current_.rows() == 0) start(row.op);

  auto push = [&](odbc::ParamColumn& out, size_t c) {
    if (row.null[c]) {
      out.push_null();
      return;
    }
    if (schema_.columns[c].type.kind != sql::ColumnKind::binary_)
      dialect_.adapt(schema_.columns[c].type, row.values[c]);
    out.push(row.values[c]);
  };
  if (row.op == DecodedRow::Op::remove)
    for (size_t i = 0; i < key_columns_.size(); ++i) push(current_.columns[i], key_columns_[i]);
  else
    for (size_t c = 0; c < schema_.columns.size(); ++c) push(current_.columns[c], c);
  current_.lines.push_back(line);
  // Parameter arrays give every row of a column the width of its longest value: budget that.
  size_t width = 0;
  for (const auto& col : current_.columns) width += std::max<size_t>(col.max_length(), 1);
  if (current_.rows() >= max_rows_ || (current_.rows() + 1) * width >= max_bytes_) flush();
}

void ChunkBuilder::finish() {
  flush();
}

}  // namespace fep
