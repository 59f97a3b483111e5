#include "adapters/base/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fep {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

}  // namespace

UniqueFd::~UniqueFd() {
  if (fd >= 0) ::close(fd);
}

Expected<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + path.string() + ": " + errno_text());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Expected<std::string> read_secret_file(const std::filesystem::path& path) {
  auto content = read_file(path);
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
