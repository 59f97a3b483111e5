#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>

#include "adapters/base/clock.h"
#include "adapters/base/digest.h"
#include "adapters/base/files.h"
#include "adapters/base/utf8.h"

using namespace fep;

TEST_CASE("sha256 of a known string") {
  Sha256 h;
  h.update("abc");
  CHECK(h.hex_digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("ids follow the protocol alphabet") {
  CHECK(is_valid_id("R-SCJG-0001"));
  CHECK(is_valid_id("B.2026_11-20"));
  CHECK_FALSE(is_valid_id(""));
  CHECK_FALSE(is_valid_id("a/b"));
  CHECK_FALSE(is_valid_id(std::string(129, 'a')));
}

TEST_CASE("uuids are version 4 and distinct") {
  auto a = new_uuid(), b = new_uuid();
  CHECK(a.size() == 36);
  CHECK(a[14] == '4');
  CHECK(a != b);
}

TEST_CASE("atomic write then secret read trims the newline") {
  auto dir = std::filesystem::temp_directory_path() / ("fep-base-" + new_uuid());
  REQUIRE(ensure_directory(dir).ok());
  REQUIRE(write_file_atomic(dir / "token", "s3cret\n").ok());
  auto s = read_secret_file(dir / "token");
  REQUIRE(s.ok());
  CHECK(*s == "s3cret");
  CHECK_FALSE(read_secret_file(dir / "missing").ok());
  std::filesystem::remove_all(dir);
}

TEST_CASE("read_file refuses what is not a regular file of a sensible size") {
  auto dir = std::filesystem::temp_directory_path() / ("fep-base-" + new_uuid());
  REQUIRE(ensure_directory(dir).ok());
  REQUIRE(write_file_atomic(dir / "ten", "0123456789").ok());
  auto whole = read_file(dir / "ten", 10);
  REQUIRE(whole.ok());
  CHECK(*whole == "0123456789");

  auto big = read_file(dir / "ten", 9);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().message == "cannot read " + (dir / "ten").string() +
                                   ": larger than 9 bytes, more than a file of this kind holds");

  // A device would be read forever; a FIFO would wait for a writer.
  auto device = read_secret_file("/dev/zero");
  REQUIRE_FALSE(device.ok());
  CHECK(device.error().message ==
        "cannot read /dev/zero: not a regular file (a device, FIFO or socket)");
  REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
  CHECK(read_file(dir / "fifo", 100).error().message.find("not a regular file") !=
        std::string::npos);
  CHECK(read_file(dir, 100).error().message ==
        "cannot read " + dir.string() + ": it is a directory");
  std::filesystem::remove_all(dir);
}

TEST_CASE("RFC 3339 time stamps parse with offsets, Z and fractions; others do not") {
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("2026-11-20T02:03:11+08:00") == 1795111391);
  CHECK(parse_rfc3339("2026-11-19T18:03:11Z") == parse_rfc3339("2026-11-20T02:03:11+08:00"));
  CHECK(parse_rfc3339("2026-11-19T18:03:11.250Z") == parse_rfc3339("2026-11-19T18:03:11Z"));
  CHECK(parse_rfc3339("2026-11-19T13:03:11-05:00") == parse_rfc3339("2026-11-19T18:03:11Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-19 18:03"));
  CHECK_FALSE(parse_rfc3339("2026-02-30T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-19T18:03:11"));
  CHECK_FALSE(parse_rfc3339("2026-11-19T18:03:11+0800"));
  CHECK_FALSE(parse_rfc3339(""));
}

TEST_CASE("seconds between two time stamps, never negative") {
  CHECK(seconds_between("2026-11-19T18:03:11Z", "2026-11-20T02:03:41+08:00") == 30);
  CHECK(seconds_between("2026-11-19T18:03:41Z", "2026-11-19T18:03:11Z") == 0);
  CHECK_FALSE(seconds_between(std::nullopt, "2026-11-19T18:03:11Z"));
  CHECK_FALSE(seconds_between("yesterday", "2026-11-19T18:03:11Z"));
}

TEST_CASE("sm3 of a known string (GB/T 32905 example)") {
  Hasher h("SM3");
  REQUIRE(h.available());
  h.update("abc");
  CHECK(h.hex_digest() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

TEST_CASE("strict UTF-8: overlong forms, surrogates and truncation are invalid") {
  CHECK(is_valid_utf8("企业登记 😀 plain"));
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xe4\xbc"));          // cut short
  CHECK(utf8_sequence_length("中", 0) == 3);
}
