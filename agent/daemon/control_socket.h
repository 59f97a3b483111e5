// The local control channel of a running daemon: a Unix stream socket taking one request line
// and answering one line, for `fep-agent sync --now` and `status`. Only root and the daemon's own
// user may talk to it (SO_PEERCRED), and the socket file is mode 0660.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "adapters/base/expected.h"

namespace fep::daemon {

// Where the control socket of a daemon with this configuration lives: daemon.control_socket, or
// <state_dir>/control.sock. The same for the daemon and the commands that talk to it.
std::filesystem::path control_socket_path(const std::filesystem::path& configured,
                                          const std::filesystem::path& state_dir);

class ControlServer {
 public:
  using Handler = std::function<std::string(const std::string& request)>;
  ControlServer() = default;
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds `path` (replacing a stale socket file) and serves requests on a thread of its own.
  Status start(const std::filesystem::path& path, Handler handler);
  void stop();

 private:
  void serve();
  void answer(int client);

  struct Client {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  static constexpr size_t kMaxClients = 16;

  std::filesystem::path path_;
  Handler handler_;
  std::vector<Client> clients_;  // the serving thread's only
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  std::thread thread_;
};

// Sends `request` to the daemon listening on `path`; nullopt when no daemon listens there.
std::optional<std::string> control_request(const std::filesystem::path& path,
                                           const std::string& request);

}  // namespace fep::daemon
