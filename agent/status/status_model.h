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
#include "agent/sync/progress.h"

namespace fep::status {

// Outcome counts of one resource's batches, from the batches table.
struct BatchCounts {
  int64_t applied = 0;
  int64_t rejected = 0;
  int64_t superseded = 0;
  int64_t rows_applied = 0;  // rows of every applied batch
  int64_t rows_deleted = 0;
  // Payload bytes (the manifest's size) of the batches downloaded that have an outcome.
  int64_t bytes_downloaded = 0;
};

// One batch as the history shows it.
using BatchEntry = store::BatchHistoryRow;

struct ResourceEntry {
  store::ResourceRow row;
  bool known = true;  // false: configured, but the state database has nothing about it yet
  BatchCounts counts;
  std::optional<BatchEntry> last_rejected;  // the newest rejected batch, if any
  std::optional<BatchEntry> held;           // the oldest batch held for the operator (failed)
  // Listed batches without an outcome, the resource's receipts not yet accepted, the resync
  // request. oldest_waiting_at is the earliest created_at of the waiting batches.
  store::Backlog backlog;
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

// Receipts of one resource that still need the platform, or that it refused.
struct ReceiptCounts {
  int64_t pending = 0;
  int64_t refused = 0;
};

struct Snapshot {
  int schema_version = 0;
  std::vector<ResourceEntry> resources;  // by resource id
  int64_t receipts_pending = 0;
  int64_t receipts_refused = 0;
  // Every resource with a pending or refused receipt, configured or not.
  std::map<std::string, ReceiptCounts> receipts_by_resource;
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
  std::vector<BatchProgress> progress;             // batches being downloaded or applied now
  // Failed requests to the exchange since the start, by class (transient, permanent,
  // credentials, local); empty when the process does not talk to the exchange.
  std::map<std::string, int64_t> exchange_errors;
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
  // The same moment on the clock BatchProgress::phase_started is taken from.
  std::chrono::steady_clock::time_point steady_now = std::chrono::steady_clock::now();
};

}  // namespace fep::status
