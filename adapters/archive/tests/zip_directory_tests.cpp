#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "adapters/archive/zip_directory.h"
#include "adapters/base/clock.h"

using namespace fep;
using namespace fep::archive;
namespace fs = std::filesystem;

namespace {

std::string le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// An end of central directory record listing `entries`, followed by `comment`.
std::string end_record(uint64_t entries, const std::string& comment = "") {
  return std::string("PK\x05\x06", 4) + le(0, 2) + le(0, 2) + le(entries, 2) + le(entries, 2) +
         le(0, 4) + le(0, 4) + le(comment.size(), 2) + comment;
}

std::optional<uint64_t> count_of(const std::string& bytes) {
  const fs::path path = fs::temp_directory_path() / ("fep-zip-" + new_uuid());
  std::ofstream(path, std::ios::binary) << bytes;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  auto count = zip_entry_count(fd);
  ::close(fd);
  fs::remove(path);
  return count;
}

}  // namespace

TEST_CASE("the end record's entry count, past a comment that imitates one") {
  CHECK(count_of(end_record(0)) == 0u);
  CHECK(count_of(std::string(1000, 'x') + end_record(3)) == 3u);
  // A comment holding a signature: only the record whose comment reaches the end counts.
  const std::string fake = end_record(60000);
  CHECK(count_of(std::string(100, 'x') + end_record(7, "note " + fake + " more")) == 7u);
  CHECK_FALSE(count_of("not a zip at all, not even close").has_value());
  CHECK_FALSE(count_of("").has_value());
}

TEST_CASE("a Zip64 end record gives counts past 65535") {
  const std::string zip64 = std::string("PK\x06\x06", 4) + le(44, 8) + le(45, 2) + le(45, 2) +
                            le(0, 4) + le(0, 4) + le(5'000'000, 8) + le(5'000'000, 8) + le(0, 8) +
                            le(0, 8);
  const std::string body(500, 'x');
  const std::string locator =
      std::string("PK\x06\x07", 4) + le(0, 4) + le(body.size(), 8) + le(1, 4);
  CHECK(count_of(body + zip64 + locator + end_record(0xffff)) == 5'000'000u);
  // A saturated count without a locator: the classic field is all there is.
  CHECK(count_of(body + end_record(0xffff)) == 0xffffu);
  // A locator that points at no Zip64 record: damaged.
  const std::string bad_locator = std::string("PK\x06\x07", 4) + le(0, 4) + le(3, 8) + le(1, 4);
  CHECK_FALSE(count_of(body + zip64 + bad_locator + end_record(0xffff)).has_value());
}
