// A read-only connection to the agent's state database, for the status endpoint. It never
// writes, never creates the file, and reads each answer in one short read transaction: in WAL
// mode a reader never blocks the syncs that write.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/base/expected.h"
#include "agent/status/status_model.h"
#include "agent/store/sqlite_db.h"

namespace fep::status {

class StateReader {
 public:
  // Opens `state_db` read-only (store::Database::open_read_only, with its busy timeout for
  // the brief moments a checkpoint holds a lock). Fails when the file is missing or has no schema
  // yet.
  static Expected<StateReader> open(const std::filesystem::path& state_db);

  // Resources with their batch counts, held and last rejected batch and backlog (waiting
  // batches, receipts, resync request); receipts; rows per day (outcomes on or after
  // `since_date`, YYYY-MM-DD) and the newest `events` events, from one consistent read.
  Expected<Snapshot> snapshot(const std::string& since_date, int events);

  // A resource's newest batches (by seq, newest first) with their receipt's state; nullopt when
  // the resource is unknown.
  Expected<std::optional<std::vector<BatchEntry>>> batches(const std::string& resource_id,
                                                           int limit);
  Expected<std::vector<store::Event>> events(int limit);

 private:
  explicit StateReader(store::Database db) : db_(std::move(db)) {}
  template <class F>
  Status query(const std::string& sql, const std::vector<store::SqlValue>& params, F&& on_row) {
    return db_.query(sql, params, std::forward<F>(on_row));
  }
  Status read_snapshot(Snapshot& out, const std::string& since_date, int events);

  store::Database db_;
};

}  // namespace fep::status
