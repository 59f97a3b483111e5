#include "agent/batch/value_text.h"

#include "adapters/base/utf8.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace fep::value_text {
namespace {

constexpr size_t kQuoteMax = 40;  // code points of a value shown in a message

bool two_digits(std::string_view s, size_t at, int max, int& out) {
  if (at + 2 > s.size() || !all_digits(s.substr(at, 2))) return false;
  out = (s[at] - '0') * 10 + (s[at + 1] - '0');
  return out <= max;
}

constexpr std::array<int8_t, 256> kBase64 = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < alphabet.size(); ++i)
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  return t;
}();

}  // namespace

bool all_digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string quote(std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string r = "\"";
  size_t shown = 0;
  for (size_t i = 0; i < v.size(); ++shown) {
    if (shown == kQuoteMax) {
      r += "...";
      break;
    }
    size_t n = utf8_sequence_length(v, i);
    auto c = static_cast<unsigned char>(v[i]);
    if (n == 0 || c < 0x20 || c == 0x7F) {
      r += "\\x";
      r += kHex[c >> 4];
      r += kHex[c & 0xF];
      ++i;
    } else {
      r.append(v.substr(i, n));
      i += n;
    }
  }
  return r + "\"";
}

Expected<size_t> utf8_length(std::string_view s) {
  size_t points = 0;
  for (size_t i = 0; i < s.size(); ++points) {
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) return fail("invalid UTF-8 at byte " + std::to_string(i) + " of the value");
    i += n;
  }
  return points;
}

bool parse_date(std::string_view s, size_t& used) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !all_digits(s.substr(0, 4))) return false;
  int year = 0;
  for (char c : s.substr(0, 4)) year = year * 10 + (c - '0');
  int month = 0, day = 0;
  if (year < 1 || !two_digits(s, 5, 12, month) || !two_digits(s, 8, 31, day)) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || day < 1) return false;
  if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0)) return false;
  used = 10;
  return true;
}

bool parse_time(std::string_view s, size_t& used) {
  int h = 0, m = 0, sec = 0;
  if (s.size() < 8 || s[2] != ':' || s[5] != ':' || !two_digits(s, 0, 23, h) ||
      !two_digits(s, 3, 59, m) || !two_digits(s, 6, 59, sec))
    return false;
  used = 8;
  if (used < s.size() && s[used] == '.') {
    size_t n = 0;
    while (used + 1 + n < s.size() && s[used + 1 + n] >= '0' && s[used + 1 + n] <= '9') ++n;
    if (n < 1 || n > 6) return false;
    used += 1 + n;
  }
  return true;
}

bool parse_offset(std::string_view s) {
  if (s == "Z") return true;
  int h = 0, m = 0;
  return s.size() == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':' && two_digits(s, 1, 23, h) &&
         two_digits(s, 4, 59, m);
}

std::string_view date_time_form(sql::ColumnKind kind) {
  switch (kind) {
    case sql::ColumnKind::date_:
      return "YYYY-MM-DD";
    case sql::ColumnKind::time_:
      return "HH:MM:SS[.ffffff]";
    case sql::ColumnKind::timestamp_:
      return "YYYY-MM-DD HH:MM:SS[.ffffff]";
    default:
      return "YYYY-MM-DD HH:MM:SS[.ffffff] with Z or +HH:MM";
  }
}

Status base64_decode(std::string_view s, std::string& out) {
  if (s.size() % 4 != 0)
    return fail("not valid base64 (length " + std::to_string(s.size()) +
                " is not a multiple of 4)");
  size_t pad = s.ends_with("==") ? 2 : s.ends_with('=') ? 1 : 0;
  out.clear();
  out.reserve(s.size() / 4 * 3);
  uint32_t acc = 0;
  for (size_t i = 0; i < s.size() - pad; ++i) {
    int8_t d = kBase64[static_cast<unsigned char>(s[i])];
    if (d < 0)
      return fail("not valid base64 (byte " + std::to_string(i) + " is " + quote(s.substr(i, 1)) +
                  ")");
    acc = acc << 6 | static_cast<uint32_t>(d);
    if (i % 4 == 3) {
      out.push_back(static_cast<char>(acc >> 16));
      out.push_back(static_cast<char>(acc >> 8));
      out.push_back(static_cast<char>(acc));
      acc = 0;
    }
  }
  if (pad == 2) out.push_back(static_cast<char>(acc >> 4));
  if (pad == 1) {
    out.push_back(static_cast<char>(acc >> 10));
    out.push_back(static_cast<char>(acc >> 2));
  }
  return {};
}

}  // namespace fep::value_text
