// The local status endpoint: the dashboard page, the JSON API and Prometheus metrics, served
// read-only over HTTP from the state database (its own read-only connection per request).
//
//   GET /                                    the dashboard (Chinese; ?lang=en for English)
//   GET /api/v1/status                       agent, summary, resources, receipts, rows per day
//   GET /api/v1/resources                    the resources
//   GET /api/v1/resources/{id}/batches?limit=N   a resource's newest batches (N <= 1000)
//   GET /api/v1/events?limit=N               the newest events
//   GET /metrics                             Prometheus text format
// Any other method is 405. On a loopback address only requests naming a loopback host are
// answered (no DNS rebinding from a web page the operator visits).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "adapters/base/expected.h"
#include "agent/status/status_model.h"

namespace fep::status {

struct ListenAddress {
  std::string host;  // without brackets
  int port = 0;      // 0: any free port
};

// "127.0.0.1:8470", "localhost:8470", "[::1]:8470", "0.0.0.0:8470".
Expected<ListenAddress> parse_listen(const std::string& listen);
bool is_loopback_host(const std::string& host);

struct ServerOptions {
  // Off: a listen address that is not loopback is refused (the endpoint has no authentication).
  bool allow_remote = false;
  int threads = 4;
};

class StatusServer {
 public:
  StatusServer();
  ~StatusServer();  // stops
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  // Binds `listen` and serves on a thread of its own until stop(). Returns when it listens, or
  // with the reason it cannot (bad address, port in use). The state database may not exist yet:
  // answers then say so (503).
  Status start(const std::string& listen, const std::filesystem::path& state_db, AgentInfo info,
               ServerOptions options = {});
  void stop();
  // The bound address (with the actual port when listen asked for port 0), e.g. 127.0.0.1:8470.
  std::string address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fep::status
