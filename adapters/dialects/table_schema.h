// The shape of a table as the protocol's manifest describes it; dialects map it to SQL.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "adapters/base/expected.h"

namespace fep::sql {

enum class ColumnKind {
  smallint_,
  integer_,
  bigint_,
  decimal_,
  real_,
  double_,
  boolean_,
  char_,
  varchar_,
  text_,
  date_,
  time_,
  timestamp_,
  timestamptz_,
  binary_,
};

struct ColumnType {
  ColumnKind kind = ColumnKind::text_;
  int length = 0;     // char(n), varchar(n)
  int precision = 0;  // decimal(p,s)
  int scale = 0;
};

struct Column {
  std::string name;
  ColumnType type;
  bool nullable = true;
};

struct TableSchema {
  std::string name;
  std::vector<Column> columns;
  std::vector<std::string> primary_key;
};

// Parses the protocol spelling ("varchar(200)", "decimal(18,2)", "timestamptz").
Expected<ColumnType> parse_column_type(std::string_view text);
// The protocol spelling of a type.
std::string to_string(const ColumnType& type);

// True for [A-Za-z_][A-Za-z0-9_]{0,62}.
bool is_valid_name(std::string_view name);

}  // namespace fep::sql
