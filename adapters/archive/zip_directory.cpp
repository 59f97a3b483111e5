#include "adapters/archive/zip_directory.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace fep::archive {
namespace {

constexpr size_t kEndRecord = 22;       // end of central directory, without its comment
constexpr size_t kMaxComment = 0xffff;  // the comment that may follow it
constexpr size_t kZip64Locator = 20;    // just before the end record
constexpr size_t kZip64End = 56;
constexpr size_t kDirectoryHeader = 46;  // a central directory header, without its names

uint64_t little_endian(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool read_at(int fd, unsigned char* buf, size_t size, uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, buf + done, size - done, static_cast<off_t>(offset + done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Where the central directory starts, from the end record; nullopt without one. Like
// libarchive, the last end record signature counts, whatever follows it.
std::optional<uint64_t> directory_offset(int fd, uint64_t file_size) {
  if (file_size < kEndRecord) return std::nullopt;
  const size_t tail_size =
      static_cast<size_t>(std::min<uint64_t>(file_size, kEndRecord + kMaxComment));
  std::string tail(tail_size, '\0');
  auto* t = reinterpret_cast<unsigned char*>(tail.data());
  if (!read_at(fd, t, tail_size, file_size - tail_size)) return std::nullopt;
  for (size_t pos = tail_size - kEndRecord + 1; pos-- > 0;) {
    if (std::memcmp(t + pos, "PK\x05\x06", 4) != 0) continue;
    const uint64_t offset = little_endian(t + pos + 16, 4);
    if (offset != 0xffffffff) return offset;
    // Zip64: the locator just before the end record names the Zip64 end record.
    const uint64_t end_at = file_size - tail_size + pos;
    unsigned char locator[kZip64Locator];
    unsigned char zip64[kZip64End];
    if (end_at < kZip64Locator || !read_at(fd, locator, sizeof locator, end_at - kZip64Locator) ||
        std::memcmp(locator, "PK\x06\x07", 4) != 0)
      return std::nullopt;
    const uint64_t zip64_at = little_endian(locator + 8, 8);
    if (zip64_at > file_size - kZip64End || !read_at(fd, zip64, sizeof zip64, zip64_at) ||
        std::memcmp(zip64, "PK\x06\x06", 4) != 0)
      return std::nullopt;
    return little_endian(zip64 + 48, 8);
  }
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> zip_entry_count(int fd, uint64_t stop_after) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  const auto file_size = static_cast<uint64_t>(st.st_size);
  auto offset = directory_offset(fd, file_size);
  if (!offset) return std::nullopt;
  uint64_t count = 0;
  unsigned char header[kDirectoryHeader];
  while (count <= stop_after && *offset <= file_size - std::min(file_size, kDirectoryHeader) &&
         read_at(fd, header, sizeof header, *offset) && std::memcmp(header, "PK\x01\x02", 4) == 0) {
    ++count;
    *offset += kDirectoryHeader + little_endian(header + 28, 2) + little_endian(header + 30, 2) +
               little_endian(header + 32, 2);
  }
  return count;
}

}  // namespace fep::archive
