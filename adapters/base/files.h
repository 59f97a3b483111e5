// File helpers with the durability a daemon that runs for years needs.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "adapters/base/expected.h"

namespace fep {

// Reads a small file whole (secrets, tokens). Trailing whitespace and newlines are dropped.
Expected<std::string> read_secret_file(const std::filesystem::path& path);

// Reads a whole file as is.
Expected<std::string> read_file(const std::filesystem::path& path);

// Writes to a temporary file beside `path`, fsyncs it, renames it over `path`, fsyncs the folder.
Status write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Creates the directory and its parents when missing.
Status ensure_directory(const std::filesystem::path& path);

// An exclusive advisory lock (flock) on a file, held until the object is destroyed or the
// process exits: one agent per state directory.
// An owned file descriptor: closed when it goes out of scope (-1 holds nothing).
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int fd = -1;
};

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
