#include "adapters/base/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace fep {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

UniqueFd::~UniqueFd() {
  if (fd >= 0) ::close(fd);
}

Expected<std::string> read_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; the type is checked before reading.
  UniqueFd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
  if (f.fd < 0) return fail("cannot read " + path.string() + ": " + errno_text());
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return fail("cannot read " + path.string() + ": " + errno_text());
  if (S_ISDIR(st.st_mode)) return fail("cannot read " + path.string() + ": it is a directory");
  if (!S_ISREG(st.st_mode))
    return fail("cannot read " + path.string() + ": not a regular file (a device, FIFO or socket)");
  const auto too_big = [&] {
    return fail("cannot read " + path.string() + ": larger than " + std::to_string(max_bytes) +
                " bytes, more than a file of this kind holds");
  };
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes) return too_big();
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot read " + path.string() + ": " + errno_text());
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) return too_big();  // it grew while being read
  }
  return out;
}

Expected<std::string> read_secret_file(const std::filesystem::path& path) {
  auto content = read_file(path, kMaxSecretFileBytes);
  if (!content) return content;
  std::string s = std::move(*content);
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  if (s.empty()) return fail(path.string() + " is empty");
  return s;
}

Status ensure_directory(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail("cannot create directory " + path.string() + ": " + ec.message());
  return {};
}

Status write_file_atomic(const std::filesystem::path& path, std::string_view content) {
  const auto tmp = path.string() + ".tmp";
  {
    UniqueFd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)};
    if (f.fd < 0) return fail("cannot create " + tmp + ": " + errno_text());
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(f.fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail("cannot write " + tmp + ": " + errno_text());
      done += static_cast<size_t>(n);
    }
    if (::fsync(f.fd) != 0) return fail("cannot fsync " + tmp + ": " + errno_text());
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail("cannot rename " + tmp + " to " + path.string() + ": " + errno_text());
  auto dir = path.parent_path();
  UniqueFd d{::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0) ::fsync(d.fd);
  return {};
}

FileLock::FileLock(const std::filesystem::path& path)
    : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640)) {}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileLock::try_lock() {
  return fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
}

}  // namespace fep
