// What the status endpoint shows: a snapshot read from the state database, and what the running
// agent adds about itself (version, start time, which resources run now).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/store/state_store.h"

namespace fep::status {

// Outcome counts of one resource's batches, from the batches table.
struct BatchCounts {
  int64_t applied = 0;
  int64_t rejected = 0;
  int64_t superseded = 0;
  int64_t rows_applied = 0;  // rows of every applied batch
  int64_t rows_deleted = 0;
};

// One batch as the history shows it.
struct BatchEntry {
  std::string batch_id;
  std::string resource_id;
  int64_t seq = 0;
  std::string mode;
  std::string state;  // listed | downloading | applying | applied | rejected | superseded
  int64_t rows = 0;
  int64_t deleted = 0;
  std::optional<std::string> error_code;
  std::optional<std::string> error_message;
  std::optional<std::string> outcome_at;
  std::string updated_at;
};

struct ResourceEntry {
  store::ResourceRow row;
  bool known = true;  // false: configured, but the state database has nothing about it yet
  BatchCounts counts;
  std::optional<BatchEntry> last_rejected;  // the newest rejected batch, if any
};

// A receipt that still needs the platform (pending) or that the platform refused.
struct ReceiptEntry {
  std::string receipt_id;
  std::string batch_id;
  std::string resource_id;
  std::string state;  // pending | refused
  int64_t attempts = 0;
  std::optional<int64_t> last_http_status;
  std::optional<std::string> last_error;
  std::string created_at;
};

struct DayRows {
  std::string date;  // YYYY-MM-DD, the local date of the batch outcomes
  int64_t rows = 0;
  int64_t batches = 0;
};

struct Snapshot {
  int schema_version = 0;
  std::vector<ResourceEntry> resources;  // by resource id
  int64_t receipts_pending = 0;
  int64_t receipts_refused = 0;
  std::vector<ReceiptEntry> receipts;  // pending and refused, oldest first (at most kReceiptList)
  std::vector<DayRows> rows_per_day;   // only days with applied batches, ascending
  std::vector<store::Event> recent_events;  // newest first
};

inline constexpr int kReceiptList = 200;

// What the running agent knows that the state database does not. Everything is optional: the
// standalone `fep-status-serve` has none of it.
struct LiveInfo {
  // The configured resources, in configuration order; absent: every resource in the database.
  std::optional<std::vector<std::string>> configured;
  std::vector<std::string> running;                // being synced now
  std::map<std::string, std::string> next_run_at;  // resource id -> RFC 3339
  std::optional<std::string> last_heartbeat_at;    // RFC 3339 of the last accepted heartbeat
};

struct AgentInfo {
  std::string version;
  std::string started_at;  // RFC 3339
  std::string node_id;
  // Called on the HTTP server's threads for every request: must be thread-safe and quick.
  std::function<LiveInfo()> live;
};

// Everything one answer is rendered from.
struct View {
  const Snapshot& snapshot;
  const AgentInfo& agent;
  const LiveInfo& live;
  std::chrono::system_clock::time_point now;
  std::string state_dir;  // where rejected payloads are kept (<state_dir>/rejected/)
};

}  // namespace fep::status
