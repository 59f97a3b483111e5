#include "agent/daemon/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace fep::daemon {

Notifier::Notifier() {
  if (const char* s = std::getenv("NOTIFY_SOCKET")) socket_ = s;
  if (const char* usec = std::getenv("WATCHDOG_USEC")) {
    const long long v = std::atoll(usec);
    // WATCHDOG_PID, when set, must be ours: the variable may be inherited by a child.
    const char* pid = std::getenv("WATCHDOG_PID");
    if (v > 0 && (!pid || std::atoll(pid) == static_cast<long long>(::getpid())))
      watchdog_ = std::chrono::milliseconds(v / 2000);
  }
}

void Notifier::send(const std::string& message) {
  if (socket_.empty() || socket_.size() >= sizeof(sockaddr_un::sun_path)) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());
  (void)::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), len);
  ::close(fd);
}

}  // namespace fep::daemon
