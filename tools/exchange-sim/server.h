// The exchange's HTTP side: the protocol's endpoints over a Store.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "tools/exchange-sim/faults.h"

namespace fep::sim {

struct ServeOptions {
  std::filesystem::path root;
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port
  std::filesystem::path token_file;
  std::optional<std::string> node;  // when set, the only node served
  // HTTPS when both are set: the server's certificate chain and key (PEM).
  std::optional<std::filesystem::path> tls_cert;
  std::optional<std::filesystem::path> tls_key;
  // With TLS: clients must present a certificate that chains to these CAs (PEM).
  std::optional<std::filesystem::path> client_ca;
};

// Binds, prints "listening on HOST:PORT" to stdout, serves until SIGINT or SIGTERM.
// Returns the process exit code.
int serve(const ServeOptions& opts, FaultPlan faults = {});

}  // namespace fep::sim
