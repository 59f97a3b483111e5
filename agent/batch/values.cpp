#include "agent/batch/values.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

#include "agent/batch/value_text.h"

namespace fep {
namespace {

using sql::ColumnKind;
using namespace value_text;

Status integer(std::string_view v, int64_t min, int64_t max, const sql::ColumnType& type,
               std::string& out) {
  // Strict: optional '-', then digits; no '+', no spaces.
  size_t digits = v.size() - (v.starts_with('-') ? 1 : 0);
  if (digits == 0 || !all_digits(v.substr(v.size() - digits)))
    return fail(quote(v) + " is not a valid " + sql::to_string(type));
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size() || n < min || n > max)
    return fail(quote(v) + " is out of range for " + sql::to_string(type));
  out = std::to_string(n);
  return {};
}

Status decimal(std::string_view v, const sql::ColumnType& type, std::string& out) {
  std::string_view body = v.starts_with('-') ? v.substr(1) : v;
  auto dot = body.find('.');
  std::string_view whole = body.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : body.substr(dot + 1);
  if ((whole.empty() && frac.empty()) || !all_digits(whole) || !all_digits(frac))
    return fail(quote(v) + " is not a valid " + sql::to_string(type) +
                " (plain notation, e.g. -123.45)");
  // Leading zeros of the whole part and trailing zeros of the fraction change nothing.
  while (!whole.empty() && whole.front() == '0') whole.remove_prefix(1);
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  if (whole.size() > static_cast<size_t>(type.precision - type.scale) ||
      frac.size() > static_cast<size_t>(type.scale))
    return fail(quote(v) + " does not fit " + sql::to_string(type));
  // One spelling per value, with the column's scale as the databases show it: 12.1, 012.10 and
  // 12.100 in decimal(5,2) are all 12.10, and -0 is 0. Equal keys then compare equal as text
  // (SQLite keeps decimals as text; one statement must not touch a row twice).
  const bool zero = whole.empty() && frac.empty();
  out.clear();
  if (v.starts_with('-') && !zero) out += '-';
  if (whole.empty())
    out += '0';
  else
    out.append(whole);
  if (type.scale > 0) {
    out += '.';
    out.append(frac);
    out.append(static_cast<size_t>(type.scale) - frac.size(), '0');
  }
  return {};
}

// Drops trailing zeros of the fractional seconds in the time that starts at `at`, and the
// point when none are left: 12:00:00.500 and 12:00:00.5 are one value, 12:00:00.000 is 12:00:00.
void drop_fraction_zeros(std::string& value, size_t at) {
  const size_t dot = at + 8;
  if (dot >= value.size() || value[dot] != '.') return;
  size_t end = dot + 1;
  while (end < value.size() && value[end] >= '0' && value[end] <= '9') ++end;
  size_t keep = end;
  while (keep > dot + 1 && value[keep - 1] == '0') --keep;
  if (keep == dot + 1) keep = dot;
  value.erase(keep, end - keep);
}

template <class F>
Status floating(std::string_view v, const sql::ColumnType& type, std::string& out) {
  F x{};
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec == std::errc::result_out_of_range)
    return fail(quote(v) + " is out of range for " + sql::to_string(type));
  if (ec != std::errc() || p != v.data() + v.size() || !std::isfinite(x))
    return fail(quote(v) + " is not a valid " + sql::to_string(type));
  out.assign(v);
  return {};
}

Status boolean(std::string_view v, std::string& out) {
  auto is = [&](std::string_view w) {
    if (v.size() != w.size()) return false;
    for (size_t i = 0; i < v.size(); ++i)
      if ((v[i] | 0x20) != w[i]) return false;
    return true;
  };
  if (is("true") || is("t") || v == "1") {
    out = "1";
  } else if (is("false") || is("f") || v == "0") {
    out = "0";
  } else {
    return fail(quote(v) + " is not a valid boolean (true/false, t/f, 1/0)");
  }
  return {};
}

Status string(std::string_view v, const sql::ColumnType& type, std::string& out) {
  auto points = utf8_length(v);
  if (!points) return Unexpected<Error>{points.error()};
  if (type.kind != ColumnKind::text_ && *points > static_cast<size_t>(type.length))
    return fail("value of " + std::to_string(*points) + " characters is too long for " +
                sql::to_string(type));
  out.assign(v);
  return {};
}

Status date_time(std::string_view v, const sql::ColumnType& type, std::string& out) {
  size_t used = 0;
  bool ok = false;
  switch (type.kind) {
    case ColumnKind::date_:
      ok = parse_date(v, used) && used == v.size();
      break;
    case ColumnKind::time_:
      ok = parse_time(v, used) && used == v.size();
      break;
    default: {
      size_t t = 0;
      ok = parse_date(v, used) && used < v.size() && (v[used] == ' ' || v[used] == 'T') &&
           parse_time(v.substr(used + 1), t);
      used += 1 + t;
      if (ok && type.kind == ColumnKind::timestamp_) {
        ok = used == v.size();
      } else if (ok) {
        ok = parse_offset(v.substr(used));
      }
    }
  }
  if (!ok)
    return fail(quote(v) + " is not a valid " + sql::to_string(type) + " (" +
                std::string(date_time_form(type.kind)) + ")");
  out.assign(v);
  if (type.kind == ColumnKind::timestamp_ || type.kind == ColumnKind::timestamptz_) {
    out[10] = ' ';
    // One spelling of UTC for the dialects: Z becomes +00:00.
    if (out.back() == 'Z') out.replace(out.size() - 1, 1, "+00:00");
  }
  if (type.kind != ColumnKind::date_)
    drop_fraction_zeros(out, type.kind == ColumnKind::time_ ? 0 : 11);
  return {};
}

}  // namespace

Status normalize_value(const sql::ColumnType& type, std::string_view value, bool quoted,
                       std::string& out) {
  bool stringy = type.kind == ColumnKind::char_ || type.kind == ColumnKind::varchar_ ||
                 type.kind == ColumnKind::text_;
  if (value.empty()) {
    if (stringy) {
      out.clear();
      return {};
    }
    std::string name = sql::to_string(type);
    const char* article =
        std::string_view("aeiou").find(name[0]) != std::string_view::npos ? "an" : "a";
    return fail(std::string(quoted ? "\"\" (empty string)" : "an empty value") +
                " is not valid for " + article + " " + name + " column");
  }
  switch (type.kind) {
    case ColumnKind::smallint_:
      return integer(value, INT16_MIN, INT16_MAX, type, out);
    case ColumnKind::integer_:
      return integer(value, INT32_MIN, INT32_MAX, type, out);
    case ColumnKind::bigint_:
      return integer(value, INT64_MIN, INT64_MAX, type, out);
    case ColumnKind::decimal_:
      return decimal(value, type, out);
    case ColumnKind::real_:
      return floating<float>(value, type, out);
    case ColumnKind::double_:
      return floating<double>(value, type, out);
    case ColumnKind::boolean_:
      return boolean(value, out);
    case ColumnKind::char_:
    case ColumnKind::varchar_:
    case ColumnKind::text_:
      return string(value, type, out);
    case ColumnKind::date_:
    case ColumnKind::time_:
    case ColumnKind::timestamp_:
    case ColumnKind::timestamptz_:
      return date_time(value, type, out);
    case ColumnKind::binary_:
      return base64_decode(value, out);
  }
  return fail("unknown column type");
}

}  // namespace fep
