// The agent's configuration: loaded once from YAML, validated, then passed down read-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapters/base/expected.h"
#include "agent/config/schedule.h"

namespace fep {

struct NodeConfig {
  std::string id;
};

// A platform public key that manifest signatures are checked with (exchange.signing_keys).
struct SigningKey {
  std::filesystem::path file;
  std::string alg;         // ed25519 | sm2, from the key itself
  std::string public_pem;  // the file's content, checked to be such a key at load
};

struct ExchangeConfig {
  std::string url;  // base URL, no trailing slash
  std::filesystem::path token_file;
  std::string token;  // read from token_file at load; never logged
  bool allow_insecure_http = false;
  std::chrono::seconds connect_timeout{15};
  // A transfer slower than low_speed_bytes per second for low_speed_time is abandoned.
  long low_speed_bytes = 1;
  std::chrono::seconds low_speed_time{60};
  int max_attempts = 4;  // per request, for transient failures
  std::chrono::milliseconds retry_base{500};
  std::chrono::milliseconds retry_cap{30000};
  // TLS towards the exchange (docs/security.md).
  std::optional<std::filesystem::path> ca_file;      // default: the system's trust store
  std::optional<std::filesystem::path> client_cert;  // PEM, given together with client_key
  std::optional<std::filesystem::path> client_key;   // PEM; mode checked like other secrets
  std::optional<std::filesystem::path> key_password_file;
  std::optional<std::string> key_password;  // read from key_password_file at load; never logged
  std::vector<std::string> pinned_pubkeys;  // "sha256//<base64>"; empty: no pinning
  std::optional<std::string> proxy;         // none: no proxy, *_proxy variables ignored
  // Manifest signatures (protocol section 3, "Signature").
  bool require_signature = false;
  std::map<std::string, SigningKey> signing_keys;  // by key_id
};

enum class TargetType { odbc, folder };

struct TargetConfig {
  std::string name;
  TargetType type = TargetType::odbc;
  // odbc
  std::string connection;
  std::optional<std::filesystem::path> password_file;
  std::optional<std::string> password;   // read from password_file at load; never logged
  std::optional<std::string> dialect;    // sqlite|postgresql|mysql|dm|kingbase
  std::optional<std::string> db_schema;  // `schema`: where the tables go
  std::string table_prefix;
  bool allow_driver_path = false;                // connection's Driver= may name a library file
  std::chrono::seconds statement_timeout{1800};  // longest one statement may run
  // folder
  std::filesystem::path path;
  unsigned file_mode = 0640;  // every file written; the archive's modes are ignored
  unsigned dir_mode = 0750;
  // Limits against decompression bombs, on the bytes actually decompressed.
  uint64_t max_entries = 100000;
  uint64_t max_total_bytes = 10ULL << 30;
  uint64_t max_file_bytes = 4ULL << 30;
  uint64_t max_ratio = 200;  // decompressed bytes per payload byte
};

enum class OnSchemaChange { reject, rebuild };

struct ResourceConfig {
  std::string id;
  std::string target;
  std::optional<std::string> table;  // default: the manifest's table name
  std::optional<std::string> path;   // default: the resource id
  std::string schedule_text = "every 15m";
  Schedule schedule{Schedule::Kind::interval, std::chrono::minutes(15), {}};
  std::optional<TimeWindow> window;
  OnSchemaChange on_schema_change = OnSchemaChange::reject;
};

struct StatusConfig {
  std::string listen = "127.0.0.1:8470";
  bool allow_remote = false;
};

struct DaemonConfig {
  int workers = 2;
  int max_connections = 2;
  std::chrono::milliseconds heartbeat_interval{60000};
  std::chrono::milliseconds subscriptions_interval{300000};
  std::chrono::milliseconds receipts_interval{30000};
  std::chrono::milliseconds jitter{10000};
  std::chrono::milliseconds shutdown_grace{30000};
  std::filesystem::path control_socket;  // empty: chosen at start (see the key's description)
};

struct LogConfig {
  std::filesystem::path file;  // empty: stderr only
  long long max_size = 10485760;
  int max_files = 5;
};

struct RetentionConfig {
  std::chrono::milliseconds events{180LL * 86'400'000};
  std::chrono::milliseconds rejected_payloads{30LL * 86'400'000};
};

struct Config {
  std::filesystem::path source;  // the file it was loaded from
  NodeConfig node;
  ExchangeConfig exchange;
  std::filesystem::path state_dir = "/var/lib/fep-agent";
  std::map<std::string, TargetConfig> targets;
  std::vector<ResourceConfig> resources;
  StatusConfig status;
  DaemonConfig daemon;
  LogConfig log;
  RetentionConfig retention;

  const ResourceConfig* find_resource(const std::string& id) const;
  const TargetConfig* find_target(const std::string& name) const;
};

// Loads and validates `path`. Errors name the key path and the file's line and column:
// "agent.yaml:12:5: targets.local_db.dialect: unknown value \"oracle\" (one of: ...)".
Expected<Config> load_config(const std::filesystem::path& path);

// Same, from YAML text (`name` is used in messages). Secret files are still read from disk.
Expected<Config> parse_config(const std::string& yaml, const std::string& name);

// The reference of every key: section, key, type, default, description (from the same tables
// that drive parsing), as Markdown.
std::string config_reference_markdown();

}  // namespace fep
