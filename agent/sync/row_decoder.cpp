#include "agent/sync/row_decoder.h"

#include <map>

#include "agent/batch/values.h"

namespace fep {
namespace {

Unexpected<Rejection> invalid(uint64_t line, const std::string& what) {
  return {Rejection{RejectCode::payload_invalid, "line " + std::to_string(line) + ": " + what}};
}

}  // namespace

Expected<RowDecoder, Rejection> RowDecoder::from_header(const CsvRecord& header,
                                                        const sql::TableSchema& schema,
                                                        BatchMode mode) {
  RowDecoder decoder(schema, mode);
  const size_t first = mode == BatchMode::incremental ? 1 : 0;
  if (first == 1 && (header.fields.empty() || header.fields[0].value != "_op"))
    return invalid(header.line, "the header of an incremental batch must start with _op");

  std::map<std::string, size_t> position;
  for (size_t i = first; i < header.fields.size(); ++i) {
    const auto& name = header.fields[i].value;
    if (!position.emplace(name, i).second)
      return invalid(header.line, "column \"" + name + "\" appears twice in the header");
  }
  decoder.field_of_column_.resize(schema.columns.size());
  for (size_t c = 0; c < schema.columns.size(); ++c) {
    auto it = position.find(schema.columns[c].name);
    if (it == position.end())
      return invalid(header.line,
                     "the header lacks column \"" + schema.columns[c].name + "\" of the manifest");
    decoder.field_of_column_[c] = it->second;
    position.erase(it);
  }
  if (!position.empty())
    return invalid(header.line, "the header has column \"" + position.begin()->first +
                                    "\", which the manifest does not list");
  decoder.field_count_ = header.fields.size();
  for (const auto& key : schema.primary_key)
    for (size_t c = 0; c < schema.columns.size(); ++c)
      if (schema.columns[c].name == key) decoder.key_columns_.push_back(c);
  return decoder;
}

Expected<void, Rejection> RowDecoder::decode_value(const CsvRecord& record, size_t column,
                                                   DecodedRow& row) const {
  const auto& spec = schema_->columns[column];
  const auto& field = record.fields[field_of_column_[column]];
  if (field.is_null()) {
    if (!spec.nullable) return invalid(record.line, "column \"" + spec.name + "\" may not be NULL");
    row.null[column] = true;
    return {};
  }
  row.null[column] = false;
  auto st = normalize_value(spec.type, field.value, field.quoted, row.values[column]);
  if (!st) return invalid(record.line, "column \"" + spec.name + "\": " + st.error().message);
  return {};
}

Expected<void, Rejection> RowDecoder::decode(const CsvRecord& record, DecodedRow& row) const {
  if (record.fields.size() != field_count_)
    return invalid(record.line, "expected " + std::to_string(field_count_) + " fields, found " +
                                    std::to_string(record.fields.size()));
  const size_t columns = schema_->columns.size();
  row.values.resize(columns);
  row.null.assign(columns, true);
  row.op = DecodedRow::Op::upsert;
  if (mode_ == BatchMode::incremental) {
    const auto& op = record.fields[0];
    if (op.value == "D") {
      row.op = DecodedRow::Op::remove;
      for (size_t c : key_columns_) {
        if (auto st = decode_value(record, c, row); !st) return st;
        if (row.null[c])
          return invalid(record.line,
                         "a D row needs its key column \"" + schema_->columns[c].name + "\"");
      }
      return {};
    }
    if (op.value != "U")
      return invalid(record.line, "_op is \"" + op.value + "\"; it must be U or D");
  }
  for (size_t c = 0; c < columns; ++c)
    if (auto st = decode_value(record, c, row); !st) return st;
  return {};
}

}  // namespace fep
