#include "adapters/dialects/table_schema.h"

#include <charconv>
#include <utility>

namespace fep::sql {
namespace {

struct Simple {
  std::string_view name;
  ColumnKind kind;
};

constexpr Simple kSimpleTypes[] = {
    {"smallint", ColumnKind::smallint_},
    {"integer", ColumnKind::integer_},
    {"bigint", ColumnKind::bigint_},
    {"real", ColumnKind::real_},
    {"double", ColumnKind::double_},
    {"boolean", ColumnKind::boolean_},
    {"text", ColumnKind::text_},
    {"date", ColumnKind::date_},
    {"time", ColumnKind::time_},
    {"timestamp", ColumnKind::timestamp_},
    {"timestamptz", ColumnKind::timestamptz_},
    {"binary", ColumnKind::binary_},
};

bool parse_int(std::string_view s, int& out) {
  if (s.empty() || s.size() > 9) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

Expected<ColumnType> parse_column_type(std::string_view text) {
  for (const auto& t : kSimpleTypes)
    if (text == t.name) return ColumnType{t.kind};

  auto open = text.find('(');
  if (open == std::string_view::npos || text.back() != ')')
    return fail("unknown column type \"" + std::string(text) + "\"");
  auto base = text.substr(0, open);
  auto args = text.substr(open + 1, text.size() - open - 2);

  if (base == "char" || base == "varchar") {
    ColumnType t{base == "char" ? ColumnKind::char_ : ColumnKind::varchar_};
    if (!parse_int(args, t.length) || t.length < 1)
      return fail("bad length in column type \"" + std::string(text) + "\"");
    return t;
  }
  if (base == "decimal") {
    ColumnType t{ColumnKind::decimal_};
    auto comma = args.find(',');
    bool ok = comma != std::string_view::npos && parse_int(args.substr(0, comma), t.precision) &&
              parse_int(args.substr(comma + 1), t.scale);
    if (!ok || t.precision < 1 || t.precision > 38 || t.scale < 0 || t.scale > t.precision)
      return fail("bad precision or scale in column type \"" + std::string(text) +
                  "\" (decimal(p,s) with 1 <= p <= 38 and 0 <= s <= p)");
    return t;
  }
  return fail("unknown column type \"" + std::string(text) + "\"");
}

std::string to_string(const ColumnType& type) {
  switch (type.kind) {
    case ColumnKind::char_:
      return "char(" + std::to_string(type.length) + ")";
    case ColumnKind::varchar_:
      return "varchar(" + std::to_string(type.length) + ")";
    case ColumnKind::decimal_:
      return "decimal(" + std::to_string(type.precision) + "," + std::to_string(type.scale) + ")";
    default:
      for (const auto& t : kSimpleTypes)
        if (t.kind == type.kind) return std::string(t.name);
  }
  return "?";
}

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(name[0])) return false;
  for (char c : name)
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  return true;
}

}  // namespace fep::sql
