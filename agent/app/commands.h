// The CLI's commands, each returning the process exit code.
#pragma once

#include <optional>
#include <string>

#include "agent/config/config.h"

namespace fep::app {

int run_sync_once(const Config& config, const std::optional<std::string>& resource);
// Through the running daemon's control socket; without a daemon, as run_sync_once.
int run_sync_now(const Config& config, const std::optional<std::string>& resource);
int run_unblock(const Config& config, const std::string& resource);
// Re-hashes a folder resource against the listing of its last applied batch.
int run_verify(const Config& config, const std::string& resource);
int run_status(const Config& config, bool json);
int run_check_config(const Config& config);

// Operator commands (operator_commands.cpp).
int run_history(const Config& config, const std::optional<std::string>& resource, int limit,
                bool json);
int run_resources(const Config& config, bool json);
int run_retry(const Config& config, const std::string& resource);
int run_skip(const Config& config, const std::string& resource, const std::string& batch_id,
             const std::string& reason);
int run_resync(const Config& config, const std::string& resource);

}  // namespace fep::app
