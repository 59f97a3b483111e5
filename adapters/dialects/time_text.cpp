#include "adapters/dialects/time_text.h"

#include <cstdio>

namespace fep::sql {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
long days_from_civil(long y, long m, long d) {
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const long yoe = y - era * 400;
  const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(long z, long& y, long& m, long& d) {
  z += 719468;
  const long era = (z >= 0 ? z : z - 146096) / 146097;
  const long doe = z - era * 146097;
  const long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const long mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp + (mp < 10 ? 3 : -9);
  y = yoe + era * 400 + (m <= 2);
}

long digits(const std::string& s, size_t at, size_t n) {
  long v = 0;
  for (size_t i = 0; i < n; ++i) v = v * 10 + (s[at + i] - '0');
  return v;
}

}  // namespace

void to_utc_without_offset(std::string& value) {
  if (value.size() < 25) return;
  const size_t sign_at = value.size() - 6;
  const char sign = value[sign_at];
  if ((sign != '+' && sign != '-') || value[sign_at + 3] != ':') return;
  const long offset =
      (digits(value, sign_at + 1, 2) * 60 + digits(value, sign_at + 4, 2)) * (sign == '+' ? 1 : -1);
  long minutes =
      days_from_civil(digits(value, 0, 4), digits(value, 5, 2), digits(value, 8, 2)) * 1440 +
      digits(value, 11, 2) * 60 + digits(value, 14, 2) - offset;
  const std::string seconds_and_fraction = value.substr(17, sign_at - 17);  // "SS[.ffffff]"
  long days = minutes >= 0 ? minutes / 1440 : (minutes - 1439) / 1440;
  minutes -= days * 1440;
  long y, m, d;
  civil_from_days(days, y, m, d);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04ld-%02ld-%02ld %02ld:%02ld:", y, m, d, minutes / 60,
                minutes % 60);
  value = buf + seconds_and_fraction;
}

}  // namespace fep::sql
