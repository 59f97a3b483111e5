#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>

#include "adapters/base/clock.h"
#include "agent/daemon/control_socket.h"
#include "agent/daemon/sd_notify.h"

using namespace fep;
using namespace fep::daemon;

TEST_CASE("a control request gets the handler's one-line answer") {
  auto dir = std::filesystem::temp_directory_path() / ("fep-ctl-" + new_uuid().substr(0, 8));
  std::filesystem::create_directories(dir);
  const auto path = dir / "control.sock";
  {
    ControlServer server;
    REQUIRE(server.start(path, [](const std::string& r) { return "got " + r; }).ok());
    CHECK(control_request(path, "sync R-1") == "got sync R-1");
    CHECK(control_request(path, "sync") == "got sync");
    CHECK((std::filesystem::status(path).permissions() & std::filesystem::perms::others_all) ==
          std::filesystem::perms::none);
  }
  CHECK_FALSE(std::filesystem::exists(path));              // removed on stop
  CHECK_FALSE(control_request(path, "sync").has_value());  // no daemon: nothing answers
  std::filesystem::remove_all(dir);
}

TEST_CASE("a long answer arrives whole, and a silent client does not hold up the stop") {
  auto dir = std::filesystem::temp_directory_path() / ("fep-ctl-" + new_uuid().substr(0, 8));
  std::filesystem::create_directories(dir);
  const auto path = dir / "control.sock";
  const std::string big(200'000, 'x');  // a sync summary of many resources' errors
  auto server = std::make_unique<ControlServer>();
  REQUIRE(server->start(path, [&](const std::string&) { return big; }).ok());
  CHECK(control_request(path, "sync") == big);

  // A client that connects and never sends its line.
  const int silent = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::connect(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  // Connections are accepted in order: once a later request is answered, the silent one has
  // been accepted and its thread is waiting for the line.
  CHECK(control_request(path, "status") == big);
  const auto start = std::chrono::steady_clock::now();
  server.reset();  // stop()
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
  ::close(silent);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the socket is the configured one, else in the state dir, whatever the environment") {
  CHECK(control_socket_path("/x/c.sock", "/var/lib/fep-agent") == "/x/c.sock");
  CHECK(control_socket_path("", "/var/lib/fep-agent") == "/var/lib/fep-agent/control.sock");
  // The service runs with systemd's RUNTIME_DIRECTORY, an operator's shell without it: both
  // must find the same socket.
  setenv("RUNTIME_DIRECTORY", "/run/fep-agent", 1);
  CHECK(control_socket_path("", "/var/lib/fep-agent") == "/var/lib/fep-agent/control.sock");
  unsetenv("RUNTIME_DIRECTORY");
}

TEST_CASE("without systemd the notifier has no watchdog") {
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  Notifier n;
  n.ready();  // nowhere to send: does nothing
  CHECK_FALSE(n.watchdog_interval().has_value());
  setenv("WATCHDOG_USEC", "120000000", 1);
  CHECK(Notifier().watchdog_interval() == std::chrono::milliseconds(60000));
  unsetenv("WATCHDOG_USEC");
}
