// The agent's own state: resources and their progress, batches, the receipt outbox and an
// event log. SQLite in WAL mode with synchronous=FULL, versioned by numbered migrations.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "adapters/base/expected.h"
#include "agent/store/audit_log.h"
#include "agent/store/sqlite_db.h"

namespace fep::store {

// Resource states, as the heartbeat reports them.
inline constexpr std::string_view kIdle = "idle";
inline constexpr std::string_view kSyncing = "syncing";
inline constexpr std::string_view kBlocked = "blocked";
inline constexpr std::string_view kPaused = "paused";
inline constexpr std::string_view kError = "error";

struct Subscription {
  std::string resource_id;
  std::string name;
  std::string kind;  // table | folder | interface
  std::string provider;
  std::string share_type;
  std::string status;  // approved | pending | rejected | revoked
};

struct ResourceRow {
  Subscription subscription;
  std::optional<int64_t> last_seq;  // the last seq with an outcome (applied or superseded)
  std::optional<std::string> last_applied_at;
  int64_t rows = 0;  // rows of the last applied table batch
  std::string state{kIdle};
  std::optional<std::string> last_error;
};

struct BatchRow {
  std::string batch_id;
  std::string resource_id;
  int64_t seq = 0;
  std::string mode;
  // listed | downloading | applying | failed (held for the operator) | applied | rejected |
  // superseded
  std::string state;
  std::optional<std::string> created_at;  // when the exchange published it
  bool has_outcome() const {
    return state == "applied" || state == "rejected" || state == "superseded";
  }
};

// The end of one batch: recorded with its receipt in one transaction.
struct BatchOutcome {
  std::string batch_id;
  std::string resource_id;
  int64_t seq = 0;
  std::string status;  // applied | rejected | superseded
  int64_t rows = 0;
  int64_t deleted = 0;
  std::optional<std::string> error_code;
  std::optional<std::string> error_message;
  std::string outcome_at;
  std::string receipt_id;
  std::string receipt_body;  // the exact JSON posted, every time
  // When set, the outcome is recorded only if the batch is in this state (an operator's skip
  // of a held batch: a `retry` meanwhile may have sent it to a sync); an error otherwise.
  std::optional<std::string> only_from_state;
};

struct OutboxEntry {
  std::string receipt_id;
  std::string batch_id;
  std::string resource_id;
  std::string body;
  std::string state;  // pending | delivered | refused
  int64_t attempts = 0;
  std::optional<int64_t> last_http_status;
  std::optional<std::string> last_error;
};

// One batch as `fep-agent history` shows it, with its receipt's state.
struct BatchHistoryRow {
  std::string batch_id;
  std::string resource_id;
  int64_t seq = 0;
  std::string mode;
  // listed | downloading | applying | failed (held for the operator) | applied | rejected |
  // superseded
  std::string state;
  int64_t rows = 0;  // rows, or files for a folder
  int64_t deleted = 0;
  std::optional<int64_t> payload_bytes;   // the manifest's payload size, once downloading began
  std::optional<std::string> created_at;  // when the platform published it (from the listing)
  std::optional<std::string> started_at;  // the first download
  std::optional<std::string> outcome_at;
  std::string updated_at;
  std::optional<std::string> error_code;
  std::optional<std::string> error_message;
  std::optional<std::string> receipt_state;  // pending | delivered | refused; none yet: nullopt
  std::optional<int64_t> receipt_http_status;

  // outcome_at - started_at, when both are known.
  std::optional<int64_t> duration_seconds() const;
};

// What is waiting for a resource: batches listed without an outcome and receipts not yet
// accepted. Lag is counted from the oldest published batch still waiting.
struct Backlog {
  std::optional<int64_t> newest_listed_seq;
  std::optional<std::string> newest_listed_at;
  std::optional<std::string> oldest_waiting_at;
  int64_t waiting_batches = 0;
  int64_t pending_receipts = 0;
  int64_t refused_receipts = 0;
  bool resync_requested = false;

  // Counts one batch without an outcome, published at `created_at`. Publication times are
  // compared as instants, not as text: their offsets may differ.
  void add_waiting(const std::optional<std::string>& created_at);
  // How long the oldest waiting batch has waited since the platform published it, at `now`
  // (seconds since the epoch): never negative, 0 when no batch waits, nullopt when no waiting
  // batch has a publication time.
  std::optional<int64_t> lag_seconds(int64_t now) const;
};

// Why an operator action could not be taken, or what it did.
struct HeldBatch {
  std::string batch_id;
  int64_t seq = 0;
  std::string state;  // failed (no receipt yet) | rejected (its receipt is sent)
  std::optional<std::string> error_code;
  std::optional<std::string> error_message;
};

struct Event {
  int64_t id = 0;
  std::string at;
  std::string level;  // info | warn | error
  std::optional<std::string> resource_id;
  std::optional<std::string> batch_id;
  std::string message;
};

class StateStore {
 public:
  // Opens (creating when missing) and migrates to the current schema version.
  static Expected<StateStore> open(const std::filesystem::path& path);
  static constexpr int kSchemaVersion = 3;
  Expected<int> schema_version();

  Status upsert_subscription(const Subscription& s);
  Expected<std::optional<ResourceRow>> resource(const std::string& resource_id);
  Expected<std::vector<ResourceRow>> resources();
  Status set_resource_state(const std::string& resource_id, std::string_view state,
                            const std::optional<std::string>& error);

  // After an operator has dealt with a rejected batch: the resource syncs again from the batch
  // after it (which keeps its rejected receipt). Returns the seq skipped, if any.
  // Recorded in the audit log as operator.unblock by `actor`.
  Expected<std::optional<int64_t>> unblock(const std::string& resource_id,
                                           const std::string& actor = operator_actor());

  Status record_listed(const BatchRow& batch);
  // The first download attempt of a batch, and its payload size from the manifest.
  Status batch_started(const std::string& batch_id, int64_t payload_bytes);
  // The target refused a batch in a way the operator may fix (schema, constraint, target
  // error): the batch waits as `failed`, without a receipt, and the resource blocks until the
  // operator retries, skips or resyncs.
  Status hold_batch(const std::string& batch_id, const std::string& resource_id,
                    const std::string& code, const std::string& message);

  // Operator actions (state_ops.cpp). Each records an event.
  // The batch that blocks `resource_id`: held (failed) or rejected; nullopt when not blocked.
  Expected<std::optional<HeldBatch>> blocking_batch(const std::string& resource_id);
  // A held batch is tried again on the next run. Refused when the block is a rejected batch
  // (its receipt is sent: the platform keeps it).
  Expected<HeldBatch> retry(const std::string& resource_id, const std::string& actor);
  // After `skip`'s rejected receipt is recorded: the resource goes on after the batch.
  Status skipped(const std::string& resource_id, const std::string& batch_id,
                 const std::string& reason, const std::string& actor);
  // Apply no incremental batch until the next full one, which replaces everything before it.
  Status request_resync(const std::string& resource_id, const std::string& actor);
  Expected<Backlog> backlog(const std::string& resource_id);
  // Newest first; every resource when `resource_id` is empty.
  Expected<std::vector<BatchHistoryRow>> history(const std::optional<std::string>& resource_id,
                                                 int limit);
  Expected<std::optional<BatchRow>> batch(const std::string& batch_id);
  Status set_batch_state(const std::string& batch_id, std::string_view state);

  // Batch outcome, resource progress (applied/superseded move last_seq; rejected blocks the
  // resource), the receipt in the outbox and an event: all or nothing. A batch that already
  // has an outcome keeps it (and its receipt): the call is then a no-op.
  Status record_outcome(const BatchOutcome& outcome);

  Expected<std::vector<OutboxEntry>> outbox(std::optional<std::string_view> state);
  // Records the platform's acceptance of a pending receipt; false when it was recorded already
  // (two threads posted the same receipt: the platform takes a receipt_id once).
  Expected<bool> receipt_delivered(const std::string& receipt_id, long http_status);
  Status receipt_refused(const std::string& receipt_id, long http_status, const std::string& why);
  Status receipt_attempt_failed(const std::string& receipt_id, const std::string& why);

  Status add_event(std::string_view level, const std::optional<std::string>& resource_id,
                   const std::optional<std::string>& batch_id, const std::string& message);
  Expected<std::vector<Event>> recent_events(int limit);
  // Deletes the events from before `before` (RFC 3339, compared as instants) and records how
  // many in the audit log, in one transaction; how many went.
  Expected<int64_t> prune_events(const std::string& before);

  // Appends one entry to the tamper-evident audit log (audit_log.h) in a transaction of its
  // own, for actions recorded outside the store: batch.verified, receipt.sent, config.reload.
  // The store's own changes (batch.received, batch.applied|rejected|superseded,
  // receipt.accepted|refused, operator.unblock) are recorded in their own transactions.
  Status audit(const AuditRecord& record);
  // The chain's entry count, last id and hash: log it where the state database cannot reach,
  // so that a cut-off tail shows (`fep-agent audit verify --anchor ID:HASH`).
  Expected<AuditHead> audit_head();

 private:
  explicit StateStore(Database db) : db_(std::move(db)) {}
  Status migrate();
  Database db_;
};

}  // namespace fep::store
