// A streaming RFC 4180 reader: quoted commas, quotes and line breaks, CRLF or LF, a UTF-8 BOM.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"
#include "agent/batch/payload_source.h"

namespace fep {

struct CsvField {
  std::string value;
  bool quoted = false;
  // An unquoted empty field is NULL; a quoted empty field ("") is the empty string.
  bool is_null() const { return !quoted && value.empty(); }
};

struct CsvRecord {
  std::vector<CsvField> fields;
  uint64_t line = 0;  // physical line (1-based) where the record starts
};

class CsvReader {
 public:
  explicit CsvReader(ByteSource& source);
  // Reads the next record into `record`: true when one was read, false at the end of input,
  // an error (naming the line) for malformed quoting or an unreadable source.
  Expected<bool> next(CsvRecord& record);

 private:
  enum class End { comma, line, eof };

  // Makes buf_[pos_] readable: false at the end of input.
  Expected<bool> more();
  Status skip_bom();
  Expected<End> unquoted(std::string& out);
  Expected<End> quoted(std::string& out, uint64_t start_line);
  Expected<End> terminator(bool after_quote);
  Unexpected<Error> error(uint64_t line, std::string_view what) const;

  ByteSource& source_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  uint64_t line_ = 1;  // physical line of buf_[pos_]
  bool eof_ = false;
  bool started_ = false;
};

}  // namespace fep
