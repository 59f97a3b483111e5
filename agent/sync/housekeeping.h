// What the agent keeps only for a while (the `retention` section): events in the state database
// and the payloads of rejected batches kept for inspection; and spool files no batch will read
// again. The audit log is never deleted.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/store/state_store.h"

namespace fep {

struct HousekeepingResult {
  int64_t events_deleted = 0;
  int64_t payloads_deleted = 0;
  int64_t spool_files_deleted = 0;    // downloads no batch will read again
  std::vector<std::string> problems;  // what could not be done; the next pass tries again
};

// Deletes what is older than its retention at `now`. Each deletion is in the audit log.
HousekeepingResult housekeep(const Config& config, store::StateStore& store,
                             std::chrono::system_clock::time_point now);

}  // namespace fep
