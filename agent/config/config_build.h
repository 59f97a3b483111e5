// Turning checked sections into Config (internal to fep_config).
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "agent/config/config.h"
#include "agent/config/config_walk.h"

namespace fep::config {

struct BuildContext {
  Diagnostics& diag;
  std::filesystem::path base_dir;         // relative paths in the file are relative to its folder
  std::set<std::string> untyped_targets;  // type missing or invalid: skip checks that need it
};

std::filesystem::path resolve(const BuildContext& ctx, const std::string& path);

// Reads a secret file named by `key` of `section`; on failure reports it under that key.
// The message names the file and the reason, never the content.
std::optional<std::string> read_secret(const Section& section, std::string_view key,
                                       const std::filesystem::path& file, BuildContext& ctx);

// Whether the duration at `key` is more than 0 (and whole seconds when `whole_seconds`, for the
// settings config.h keeps in seconds); reports it under that key when not.
bool check_duration(const Section& s, std::string_view key, bool whole_seconds, Diagnostics& diag);

// Why a secret file's mode is unsafe (readable by others, writable by group or others), naming
// the file and its mode; nothing when it is fine or cannot be examined (reading it reports that).
std::optional<std::string> check_secret_mode(const std::filesystem::path& file);

// exchange.{ca_file, client_cert, client_key, key_password_file, pinned_pubkey, proxy,
// require_signature, signing_keys}.
void build_exchange_security(const Section& ex, BuildContext& ctx, ExchangeConfig& out);

// targets.<name> (odbc): allow_driver_path, and the connection's Driver= checked against it.
void build_odbc_target_security(const Section& t, BuildContext& ctx, TargetConfig& out);

void build_targets(const Section& top, BuildContext& ctx, Config& config);
void build_resources(const Section& top, BuildContext& ctx, Config& config);

}  // namespace fep::config
