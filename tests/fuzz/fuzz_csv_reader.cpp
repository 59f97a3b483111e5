// The CSV reader on table payloads as the platform may send them. The same bytes read whole and
// from a source that hands them out a few at a time (records cut at every place) must give the
// same records or the same error. They are also read as a GB18030 payload file through the
// payload decoder (which for ASCII must change nothing), and every field is checked against each
// column type, as the table sink does.
#include <iconv.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "agent/batch/csv_reader.h"
#include "agent/batch/payload_source.h"
#include "agent/batch/values.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace fep;

class TrickleSource : public ByteSource {
 public:
  TrickleSource(std::string_view bytes, size_t step) : bytes_(bytes), step_(step) {}
  Expected<size_t> read(char* buf, size_t size) override {
    const size_t n = std::min({size, step_, bytes_.size() - pos_});
    if (n > 0) std::memcpy(buf, bytes_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  std::string_view bytes_;
  size_t step_;
  size_t pos_ = 0;
};

struct Outcome {
  std::vector<std::vector<std::string>> rows;  // fields: 'q' (quoted) or 'u', then the value
  std::vector<uint64_t> lines;
  std::string error;
  bool operator==(const Outcome&) const = default;
};

Outcome read_all(ByteSource& source) {
  Outcome out;
  CsvReader reader(source);
  CsvRecord record;
  for (;;) {
    auto more = reader.next(record);
    if (!more) {
      out.error = more.error().message;
      return out;
    }
    if (!*more) return out;
    fuzz::require(!record.fields.empty(), "a record without fields");
    fuzz::require(out.lines.empty() || record.line > out.lines.back(),
                  "record lines do not increase");
    std::vector<std::string> row;
    for (const auto& f : record.fields) row.push_back((f.quoted ? "q" : "u") + f.value);
    out.rows.push_back(std::move(row));
    out.lines.push_back(record.line);
  }
}

const std::vector<sql::ColumnType>& column_types() {
  static const std::vector<sql::ColumnType> types = [] {
    std::vector<sql::ColumnType> t;
    for (const char* name : {"smallint", "integer", "bigint", "decimal(18,2)", "decimal(38,10)",
                             "decimal(5,0)", "real", "double", "boolean", "char(4)", "varchar(20)",
                             "text", "date", "time", "timestamp", "timestamptz", "binary"})
      t.push_back(*sql::parse_column_type(name));
    return t;
  }();
  return types;
}

void check_values(const Outcome& outcome) {
  std::string normal;
  for (const auto& row : outcome.rows)
    for (const std::string_view field : row) {
      const bool quoted = field.front() == 'q';
      const auto value = field.substr(1);
      if (!quoted && value.empty()) continue;  // NULL: never checked against the type
      for (const auto& type : column_types()) (void)normalize_value(type, value, quoted, normal);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  auto whole_source = memory_source(bytes);
  const Outcome whole = read_all(*whole_source);
  TrickleSource trickle(bytes, size == 0 ? 1 : 1 + data[size - 1] % 5);
  fuzz::require(read_all(trickle) == whole, "reading in pieces differs from reading whole");
  check_values(whole);

  // The same bytes as a GB18030 payload file, decoded to UTF-8 on the way in. One converter
  // stays open for the whole run, so that glibc keeps its GB18030 module loaded between inputs.
  static const iconv_t keep_loaded = iconv_open("UTF-8", "GB18030");
  fuzz::require(keep_loaded != reinterpret_cast<iconv_t>(-1), "no GB18030 converter");
  const auto file = fuzz::scratch_dir() / "payload.csv";
  fuzz::write_file(file, bytes);
  auto decoded = open_payload(file, "none", "GB18030");
  fuzz::require(decoded.ok(), "cannot open the payload file");
  const Outcome gb18030 = read_all(**decoded);
  if (std::all_of(bytes.begin(), bytes.end(), [](char c) { return (c & 0x80) == 0; }))
    fuzz::require(gb18030 == whole, "decoding ASCII as GB18030 changes what is read");
  check_values(gb18030);
  return 0;
}
