// The systemd notification protocol (sd_notify(3)), spoken directly: a datagram to
// $NOTIFY_SOCKET. Without systemd every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace fep::daemon {

class Notifier {
 public:
  Notifier();  // reads NOTIFY_SOCKET and WATCHDOG_USEC
  void ready() { send("READY=1"); }
  void reloading() { send("RELOADING=1"); }
  void stopping() { send("STOPPING=1"); }
  void status(const std::string& text) { send("STATUS=" + text); }
  void watchdog() { send("WATCHDOG=1"); }
  // How often to send WATCHDOG=1 (half the service's WatchdogSec), when it is set.
  std::optional<std::chrono::milliseconds> watchdog_interval() const { return watchdog_; }

 private:
  void send(const std::string& message);
  std::string socket_;
  std::optional<std::chrono::milliseconds> watchdog_;
};

}  // namespace fep::daemon
