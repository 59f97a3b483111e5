// What `fep-agent status` shows: one row per configured resource, what blocks it and what to do,
// and receipts that need a look.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "adapters/base/expected.h"
#include "agent/app/text_table.h"
#include "agent/config/config.h"
#include "agent/store/state_store.h"
#include "agent/sync/progress.h"

namespace fep::app {

struct ResourceStatus {
  store::ResourceRow row;
  store::Backlog backlog;
  std::optional<store::HeldBatch> blocking;  // the batch that blocks it, when blocked
  // Seconds since the oldest waiting batch was published; 0 when nothing waits.
  int64_t lag_seconds = 0;
};

struct StatusView {
  std::vector<ResourceStatus> resources;  // configured resources, in config order
  std::vector<store::OutboxEntry> pending_receipts;
  std::vector<store::OutboxEntry> refused_receipts;
  std::vector<BatchProgress> progress;  // what a running daemon is working on now
};

// `now` in seconds since the epoch.
Expected<StatusView> collect_status(const Config& config, store::StateStore& store, int64_t now);
std::string status_table(const StatusView& view, bool colour = false);
std::string status_json(const StatusView& view);

// What an operator can do about a blocked resource, one command per line.
std::string blocked_advice(const std::string& resource_id, const store::HeldBatch& batch);

}  // namespace fep::app
