// A streaming RFC 4180 reader: quoted commas, quotes and line breaks, CRLF or LF, a UTF-8 BOM.
#pragma once

#include <cstdint>
#include <string>
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
  // ... buffer state ...
};

}  // namespace fep
