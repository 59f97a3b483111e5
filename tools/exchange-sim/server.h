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
};

// Binds, prints "listening on HOST:PORT" to stdout, serves until SIGINT or SIGTERM.
// Returns the process exit code.
int serve(const ServeOptions& opts, FaultPlan faults = {});

}  // namespace fep::sim
