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
  int held = 0;  // batches the target refused, waiting for an operator
  int receipts_delivered = 0;
  int receipts_refused = 0;
  bool blocked = false;             // a resource is blocked by a rejected batch
  std::vector<std::string> errors;  // things that will be tried again (exchange down, ...)

  // 0: all applied or nothing to do; 1: an error a later run may get past (the exchange or
  // the target unreachable, a full disk, credentials rejected, receipts not delivered yet);
  // 2: a batch rejected or a resource blocked; 3: the exchange refused a receipt in this run
  // (400, 404 or 409: it is not sent again). The lowest non-zero code wins.
  int exit_code() const;
};

// Logs an error, counts it in `summary`, and records it in the state store (as the resource's
// last error when `resource_id` is not empty).
void record_error(store::StateStore& store, SyncSummary& summary, const std::string& resource_id,
                  const std::string& message);

}  // namespace fep
