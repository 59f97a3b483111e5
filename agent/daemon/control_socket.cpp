#include "agent/daemon/control_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

namespace fep::daemon {
namespace {

constexpr size_t kMaxRequest = 4096;
// An answer carries a sync summary: one error line per resource, and progress per batch.
constexpr size_t kMaxReply = 64 << 20;
// A client has this long to send its request line.
constexpr int kRequestTimeoutMs = 10'000;

bool fill_address(const std::filesystem::path& path, sockaddr_un& addr) {
  const std::string p = path.string();
  if (p.size() >= sizeof(addr.sun_path)) return false;
  addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, p.data(), p.size());
  return true;
}

// Milliseconds left until `deadline`, at least 0; -1 (no limit) without one.
int remaining_ms(std::optional<std::chrono::steady_clock::time_point> deadline) {
  if (!deadline) return -1;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      *deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(left.count(), 0));
}

// Waits until `fd` is ready for `events`; false when `deadline` passes first or `wake_fd`
// (-1: none) becomes readable (the server stops).
bool wait_ready(int fd, short events, std::optional<std::chrono::steady_clock::time_point> deadline,
                int wake_fd) {
  for (;;) {
    const int wait = remaining_ms(deadline);
    if (wait == 0) return false;
    pollfd fds[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
    const int ready = ::poll(fds, wake_fd >= 0 ? 2 : 1, wait);
    if (ready < 0 && errno == EINTR) continue;
    return ready > 0 && !(wake_fd >= 0 && fds[1].revents);
  }
}

std::optional<std::chrono::steady_clock::time_point> deadline_in(int timeout_ms) {
  if (timeout_ms < 0) return std::nullopt;
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
}

// Sends all of `data` within `timeout_ms` (-1: no limit), unless `wake_fd` becomes readable.
bool write_all(int fd, const std::string& data, int timeout_ms = -1, int wake_fd = -1) {
  const auto deadline = deadline_in(timeout_ms);
  size_t done = 0;
  while (done < data.size()) {
    if (!wait_ready(fd, POLLOUT, deadline, wake_fd)) return false;
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads up to a newline (or EOF); false on error, a line longer than `max`, `timeout_ms`
// (-1: none) passing without one, or `wake_fd` becoming readable (the server stops).
bool read_line(int fd, std::string& out, size_t max, int timeout_ms = -1, int wake_fd = -1) {
  const auto deadline = deadline_in(timeout_ms);
  char buf[4096];
  while (out.find('\n') == std::string::npos) {
    if (!wait_ready(fd, POLLIN, deadline, wake_fd)) return false;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max && out.find('\n') == std::string::npos) return false;
  }
  if (auto nl = out.find('\n'); nl != std::string::npos) out.resize(nl);
  return true;
}

}  // namespace

std::filesystem::path control_socket_path(const std::filesystem::path& configured,
                                          const std::filesystem::path& state_dir) {
  // Not from the environment (such as systemd's $RUNTIME_DIRECTORY): an operator's shell, where
  // `sync --now`, `retry` and `skip` run, must find the same path the service chose.
  if (!configured.empty()) return configured;
  return state_dir / "control.sock";
}

ControlServer::~ControlServer() {
  stop();
}

Status ControlServer::start(const std::filesystem::path& path, Handler handler) {
  sockaddr_un addr{};
  if (!fill_address(path, addr)) return fail("control socket path too long: " + path.string());
  path_ = path;
  handler_ = std::move(handler);
  if (::pipe2(wake_pipe_, O_CLOEXEC) != 0)
    return fail("pipe: " + std::string(std::strerror(errno)));
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return fail("socket: " + std::string(std::strerror(errno)));
  ::unlink(path.c_str());  // a stale socket from a crashed daemon (the state lock is ours)
  const mode_t old = ::umask(0117);
  const int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0 || ::listen(listen_fd_, 8) != 0)
    return fail("cannot listen on " + path.string() + ": " + std::strerror(errno));
  thread_ = std::thread([this] { serve(); });
  return {};
}

void ControlServer::stop() {
  if (thread_.joinable()) {
    (void)!::write(wake_pipe_[1], "x", 1);
    thread_.join();
  }
  for (auto& c : clients_) c.thread.join();
  clients_.clear();
  for (int* fd : {&listen_fd_, &wake_pipe_[0], &wake_pipe_[1]})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  if (!path_.empty()) {
    ::unlink(path_.c_str());
    path_.clear();
  }
}

void ControlServer::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      // Out of descriptors or memory: the connection stays queued and poll() would return at
      // once again; wait a little instead of spinning.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        ::poll(nullptr, 0, 100);
      continue;
    }
    // Each request on its own thread: a `sync` waits for its run, and `status` must not wait
    // behind it.
    std::erase_if(clients_, [](Client& c) {
      if (!c.done->load()) return false;
      c.thread.join();
      return true;
    });
    if (clients_.size() >= kMaxClients) {
      write_all(client, "{\"error\": \"too many requests at once\"}\n", 1000);
      ::close(client);
      continue;
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    clients_.push_back({std::thread([this, client, done] {
                          answer(client);
                          ::close(client);
                          done->store(true);
                        }),
                        done});
  }
}

void ControlServer::answer(int client) {
  ucred peer{};
  socklen_t len = sizeof peer;
  if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0 ||
      (peer.uid != 0 && peer.uid != ::geteuid())) {
    spdlog::warn("control socket: refused a request from uid {}", peer.uid);
    write_all(client, "{\"error\": \"permission denied\"}\n", kRequestTimeoutMs, wake_pipe_[0]);
    return;
  }
  // A client that sends nothing, or reads nothing, neither holds its thread for ever nor the
  // daemon's stop.
  std::string request;
  if (!read_line(client, request, kMaxRequest, kRequestTimeoutMs, wake_pipe_[0])) return;
  write_all(client, handler_(request) + "\n", kRequestTimeoutMs, wake_pipe_[0]);
}

std::optional<std::string> control_request(const std::filesystem::path& path,
                                           const std::string& request) {
  sockaddr_un addr{};
  if (!fill_address(path, addr)) return std::nullopt;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  std::optional<std::string> reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      write_all(fd, request + "\n")) {
    std::string line;
    if (read_line(fd, line, kMaxReply)) reply = line;
  }
  ::close(fd);
  return reply;
}

}  // namespace fep::daemon
