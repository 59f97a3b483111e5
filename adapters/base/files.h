// File helpers with the durability a daemon that runs for years needs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "adapters/base/expected.h"

namespace fep {

// The most read from a file of each kind, so that a device or a wrong file named in a
// configuration is refused instead of read forever.
// A secret: token, password, key password.
inline constexpr std::uintmax_t kMaxSecretFileBytes = 64 * 1024;
// A file a person writes or installs: configuration, PEM keys and certificates, a table schema.
inline constexpr std::uintmax_t kMaxTextFileBytes = 16 * 1024 * 1024;
// A file the program wrote itself (bookkeeping that lists every file of a folder version).
inline constexpr std::uintmax_t kMaxOwnFileBytes = std::uintmax_t{1} << 30;

// Reads a small file whole (secrets, tokens). Trailing whitespace and newlines are dropped.
Expected<std::string> read_secret_file(const std::filesystem::path& path);

// Reads a whole regular file as is. Refuses directories, devices, FIFOs and sockets, and a file
// larger than `max_bytes` (each caller states what its kind of file can hold).
Expected<std::string> read_file(const std::filesystem::path& path, std::uintmax_t max_bytes);

// Writes to a temporary file beside `path`, fsyncs it, renames it over `path`, fsyncs the folder.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Creates the directory and its parents when missing.
Status ensure_directory(const std::filesystem::path& path);

// An owned file descriptor: closed when it goes out of scope (-1 holds nothing).
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int fd = -1;
};

// An exclusive advisory lock (flock) on a file, held until the object is destroyed or the
// process exits: one agent per state directory.
class FileLock {
 public:
  explicit FileLock(const std::filesystem::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  // False when another process holds it (or the file cannot be opened).
  bool try_lock();

 private:
  int fd_;
};

}  // namespace fep
