#include <doctest/doctest.h>

#include <string>

#include "agent/batch/values.h"

using namespace fep;

namespace {

sql::ColumnType type(const char* spelling) {
  auto t = sql::parse_column_type(spelling);
  REQUIRE(t.ok());
  return *t;
}

// The normalized value, or "!" + the error message.
std::string norm(const char* t, std::string_view v, bool quoted = false) {
  std::string out = "stale";
  auto s = normalize_value(type(t), v, quoted, out);
  return s ? out : "!" + s.error().message;
}

bool ok(const char* t, std::string_view v) {
  return norm(t, v).front() != '!';
}

}  // namespace

TEST_CASE("values: integers") {
  CHECK(norm("smallint", "32767") == "32767");
  CHECK(norm("smallint", "-32768") == "-32768");
  CHECK(norm("smallint", "32768") == "!\"32768\" is out of range for smallint");
  CHECK_FALSE(ok("smallint", "-32769"));
  CHECK(norm("integer", "2147483647") == "2147483647");
  CHECK_FALSE(ok("integer", "2147483648"));
  CHECK(norm("integer", "-0") == "0");
  CHECK(norm("integer", "007") == "7");
  CHECK(norm("bigint", "9223372036854775807") == "9223372036854775807");
  CHECK(norm("bigint", "-9223372036854775808") == "-9223372036854775808");
  CHECK(norm("bigint", "9223372036854775808") ==
        "!\"9223372036854775808\" is out of range for bigint");
  for (auto bad : {"+1", "1.0", " 1", "1 ", "1e3", "-", "abc", "0x10", "--1"})
    CHECK_MESSAGE(norm("integer", bad) == "!\"" + std::string(bad) + "\" is not a valid integer",
                  bad);
}

TEST_CASE("values: decimals") {
  CHECK(norm("decimal(18,2)", "-123.45") == "-123.45");
  CHECK(norm("decimal(5,2)", "999.99") == "999.99");
  // One spelling per value, with the column's scale.
  CHECK(norm("decimal(5,2)", "0.5") == "0.50");
  CHECK(norm("decimal(5,2)", ".5") == "0.50");
  CHECK(norm("decimal(5,2)", "12.") == "12.00");
  CHECK(norm("decimal(5,2)", "000123.40") == "123.40");
  CHECK(norm("decimal(5,2)", "1.500") == "1.50");  // trailing zeros do not count
  CHECK(norm("decimal(5,2)", "-0.00") == "0.00");
  CHECK(norm("decimal(5,2)", "-.0") == "0.00");
  CHECK(norm("decimal(5,0)", "007") == "7");
  CHECK(norm("decimal(5,0)", "-0") == "0");
  CHECK(norm("decimal(5,0)", "12.000") == "12");
  CHECK(norm("decimal(5,2)", "1000") == "!\"1000\" does not fit decimal(5,2)");
  CHECK_FALSE(ok("decimal(5,2)", "1.234"));
  CHECK_FALSE(ok("decimal(5,0)", "1.5"));
  CHECK(ok("decimal(38,0)", std::string(38, '9')));
  CHECK_FALSE(ok("decimal(38,0)", std::string(39, '9')));
  for (auto bad : {"1e5", "1.5E2", "+1.5", ".", "-", "1.2.3", "1,5", " 1", "NaN", "--1"})
    CHECK_MESSAGE(norm("decimal(10,2)", bad)
                      .starts_with("!\"" + std::string(bad) + "\" is not a valid decimal(10,2)"),
                  bad);
}

TEST_CASE("values: real and double") {
  CHECK(norm("double", "3.14") == "3.14");
  CHECK(norm("double", "-1.5e-10") == "-1.5e-10");
  CHECK(norm("double", "1E308") == "1E308");
  CHECK(ok("real", "3.4e38"));
  CHECK(norm("real", "1e39") == "!\"1e39\" is out of range for real");
  CHECK_FALSE(ok("double", "1e999"));
  for (auto bad : {"inf", "nan", "-infinity", "+1", "1.5x", " 1", "", "0x1p3", "e5"})
    if (*bad) CHECK_MESSAGE(!ok("double", bad), bad);
}

TEST_CASE("values: booleans") {
  for (auto t : {"true", "TRUE", "True", "t", "T", "1"}) CHECK(norm("boolean", t) == "1");
  for (auto f : {"false", "FALSE", "f", "F", "0"}) CHECK(norm("boolean", f) == "0");
  for (auto bad : {"yes", "2", "tru", "on", " true"}) CHECK_FALSE(ok("boolean", bad));
}

TEST_CASE("values: strings count code points and must be UTF-8") {
  CHECK(norm("varchar(4)", "abcd") == "abcd");
  CHECK(norm("varchar(4)", "市场监督") == "市场监督");  // 4 code points, 12 bytes
  CHECK(norm("varchar(3)", "市场监督") == "!value of 4 characters is too long for varchar(3)");
  CHECK(norm("char(2)", "ab") == "ab");
  CHECK_FALSE(ok("char(2)", "abc"));
  CHECK(norm("char(1)", "😀") == "😀");
  CHECK(norm("text", std::string(100000, 'x')) == std::string(100000, 'x'));
  CHECK(norm("text", "a\xFF") == "!invalid UTF-8 at byte 1 of the value");
  CHECK_FALSE(ok("text", "\xC0\xAF"));          // overlong
  CHECK_FALSE(ok("text", "\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(ok("text", "\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(ok("varchar(10)", "\xE5\xB8"));   // truncated
}

TEST_CASE("values: the empty string is only for string columns") {
  CHECK(norm("varchar(3)", "", true) == "");
  CHECK(norm("char(3)", "", true) == "");
  CHECK(norm("text", "", true) == "");
  CHECK(norm("integer", "", true) == "!\"\" (empty string) is not valid for an integer column");
  CHECK(norm("date", "", true) == "!\"\" (empty string) is not valid for a date column");
  CHECK_FALSE(ok("binary", ""));
  CHECK_FALSE(ok("boolean", ""));
  CHECK_FALSE(ok("decimal(5,2)", ""));
  // Quoting does not change other values.
  CHECK(norm("integer", "5", true) == "5");
}

TEST_CASE("values: dates") {
  CHECK(norm("date", "2026-11-20") == "2026-11-20");
  CHECK(ok("date", "2024-02-29"));
  CHECK(ok("date", "2000-02-29"));
  CHECK_FALSE(ok("date", "1900-02-29"));
  CHECK_FALSE(ok("date", "2026-02-29"));
  CHECK_FALSE(ok("date", "2026-04-31"));
  CHECK(norm("date", "2026-13-01") == "!\"2026-13-01\" is not a valid date (YYYY-MM-DD)");
  for (auto bad : {"2026-00-10", "2026-01-00", "0000-01-01", "2026-1-01", "2026/01/01",
                   "2026-01-01 ", "20260101", "2026-01-01T00:00:00", "abcd-ef-gh"})
    CHECK_MESSAGE(!ok("date", bad), bad);
}

TEST_CASE("values: times") {
  CHECK(norm("time", "23:59:59") == "23:59:59");
  CHECK(norm("time", "00:00:00.123456") == "00:00:00.123456");
  CHECK(ok("time", "12:30:00.5"));
  // Trailing zeros of the fraction are dropped: one spelling per value.
  CHECK(norm("time", "12:30:00.500") == "12:30:00.5");
  CHECK(norm("time", "12:30:00.000000") == "12:30:00");
  for (auto bad : {"24:00:00", "12:60:00", "12:00:60", "12:00", "12:00:00.", "12:00:00.1234567",
                   "1:00:00", "12:00:00Z", "12:00:00+08:00", "12-00-00"})
    CHECK_MESSAGE(!ok("time", bad), bad);
}

TEST_CASE("values: timestamps") {
  CHECK(norm("timestamp", "2026-11-20 02:00:00") == "2026-11-20 02:00:00");
  CHECK(norm("timestamp", "2026-11-20T02:00:00.250") == "2026-11-20 02:00:00.25");
  CHECK(norm("timestamp", "2026-11-20T02:00:00.0") == "2026-11-20 02:00:00");
  for (auto bad : {"2026-11-20", "2026-11-20 02:00", "2026-11-20X02:00:00", "2026-11-20 02:00:00Z",
                   "2026-02-30 02:00:00", "2026-11-20  02:00:00", "2026-11-20 25:00:00"})
    CHECK_MESSAGE(!ok("timestamp", bad), bad);
}

TEST_CASE("values: timestamptz needs an offset or Z") {
  CHECK(norm("timestamptz", "2026-11-20T02:00:00+08:00") == "2026-11-20 02:00:00+08:00");
  CHECK(norm("timestamptz", "2026-11-20 02:00:00.5-05:30") == "2026-11-20 02:00:00.5-05:30");
  CHECK(norm("timestamptz", "2026-11-20T02:00:00Z") == "2026-11-20 02:00:00+00:00");
  CHECK(norm("timestamptz", "2026-11-20 02:00:00.123456Z") == "2026-11-20 02:00:00.123456+00:00");
  CHECK(norm("timestamptz", "2026-11-20 02:00:00.100Z") == "2026-11-20 02:00:00.1+00:00");
  CHECK(norm("timestamptz", "2026-11-20 02:00:00.000+08:00") == "2026-11-20 02:00:00+08:00");
  for (auto bad :
       {"2026-11-20T02:00:00", "2026-11-20T02:00:00+0800", "2026-11-20T02:00:00+8:00",
        "2026-11-20T02:00:00 +08:00", "2026-11-20T02:00:00z", "2026-11-20T02:00:00+24:00",
        "2026-11-20T02:00:00+08:00 ", "2026-11-20T02:00:00.1234567Z"})
    CHECK_MESSAGE(!ok("timestamptz", bad), bad);
}

TEST_CASE("values: binary is base64 with padding") {
  CHECK(norm("binary", "aGVsbG8=") == "hello");
  CHECK(norm("binary", "aGk=") == "hi");
  CHECK(norm("binary", "aGVsbG8h") == "hello!");
  CHECK(norm("binary", "AA==") == std::string(1, '\0'));
  CHECK(norm("binary", "/+8=") == "\xFF\xEF");
  CHECK(norm("binary", "aGVsbG8") == "!not valid base64 (length 7 is not a multiple of 4)");
  CHECK(norm("binary", "aGV*bG8=") == "!not valid base64 (byte 3 is \"*\")");
  for (auto bad : {"aGk", "a===", "====", "aG=k", "_-8=", "aGk=\n", "aGk= "})
    CHECK_MESSAGE(!ok("binary", bad), bad);
}

TEST_CASE("values: messages show bad bytes safely and briefly") {
  CHECK(norm("integer", "1\x01\xFF") == "!\"1\\x01\\xff\" is not a valid integer");
  auto long_bad = norm("integer", std::string(100, 'x'));
  CHECK(long_bad == "!\"" + std::string(40, 'x') + "...\" is not a valid integer");
  CHECK(norm("integer", "一") == "!\"一\" is not a valid integer");
}
