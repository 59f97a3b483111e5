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

// `n` central directory headers, each with a name.
std::string directory(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    const std::string name = "file" + std::to_string(i);
    out += std::string("PK\x01\x02", 4) + std::string(24, '\0') + le(name.size(), 2) + le(0, 2) +
           le(0, 2) + std::string(12, '\0') + name;
  }
  return out;
}

// An end of central directory record: `entries` claimed, the directory at `offset`.
std::string end_record(uint64_t entries, uint64_t offset, const std::string& comment = "") {
  return std::string("PK\x05\x06", 4) + le(0, 2) + le(0, 2) + le(entries, 2) + le(entries, 2) +
         le(0, 4) + le(offset, 4) + le(comment.size(), 2) + comment;
}

std::optional<uint64_t> count_of(const std::string& bytes, uint64_t stop_after = 1000) {
  const fs::path path = fs::temp_directory_path() / ("fep-zip-" + new_uuid());
  std::ofstream(path, std::ios::binary) << bytes;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  auto count = zip_entry_count(fd, stop_after);
  ::close(fd);
  fs::remove(path);
  return count;
}

}  // namespace

TEST_CASE("the central directory's headers are counted, whatever the end record claims") {
  const std::string data(300, 'x');  // where the local entries would be
  CHECK(count_of(end_record(0, 0)) == 0u);
  CHECK(count_of(data + directory(3) + end_record(3, data.size())) == 3u);
  // The end record says 1; libarchive reads all 7 headers, and so does the count.
  CHECK(count_of(data + directory(7) + end_record(1, data.size())) == 7u);
  // Bytes after the end record (libarchive does not mind them either).
  CHECK(count_of(data + directory(4) + end_record(4, data.size()) + "junk") == 4u);
  // Counting stops one past the limit.
  CHECK(count_of(data + directory(50) + end_record(50, data.size()), 10) == 11u);
  // A directory offset past the end, or pointing at something else: nothing counted.
  CHECK(count_of(data + end_record(3, 1u << 30)) == 0u);
  CHECK(count_of(data + directory(2) + end_record(2, 5)) == 0u);
  CHECK_FALSE(count_of("not a zip at all, not even close").has_value());
  CHECK_FALSE(count_of("").has_value());
}

TEST_CASE("a Zip64 end record gives the directory's offset") {
  const std::string data(500, 'x');
  const std::string dir = directory(70);
  const uint64_t zip64_at = data.size() + dir.size();
  const std::string zip64 = std::string("PK\x06\x06", 4) + le(44, 8) + le(45, 2) + le(45, 2) +
                            le(0, 4) + le(0, 4) + le(70, 8) + le(70, 8) + le(dir.size(), 8) +
                            le(data.size(), 8);
  const std::string locator = std::string("PK\x06\x07", 4) + le(0, 4) + le(zip64_at, 8) + le(1, 4);
  CHECK(count_of(data + dir + zip64 + locator + end_record(0xffff, 0xffffffff)) == 70u);
  // A locator that points at no Zip64 record: damaged.
  const std::string bad_locator = std::string("PK\x06\x07", 4) + le(0, 4) + le(3, 8) + le(1, 4);
  CHECK_FALSE(
      count_of(data + dir + zip64 + bad_locator + end_record(0xffff, 0xffffffff)).has_value());
}
