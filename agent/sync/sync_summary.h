// What one sync pass did, and how the process should exit because of it.
#pragma once

#include <string>
#include <vector>

#include "agent/store/state_store.h"

namespace fep {

struct SyncSummary {
  int applied = 0;
  int rejected = 0;
  int superseded = 0;
  int receipts_delivered = 0;
  int receipts_refused = 0;
  bool blocked = false;             // a resource is blocked by a rejected batch
  std::vector<std::string> errors;  // things that will be tried again (exchange down, ...)

  // 0: all applied or nothing to do; 2: a rejection or a blocked resource; 1: an error.
  int exit_code() const;
};

// Logs an error, counts it in `summary`, and records it in the state store (as the resource's
// last error when `resource_id` is not empty).
void record_error(store::StateStore& store, SyncSummary& summary, const std::string& resource_id,
                  const std::string& message);

}  // namespace fep
