// What `fep-agent status` shows: one row per configured resource, and receipts that need a look.
#pragma once

#include <string>
#include <vector>

#include "adapters/base/expected.h"
#include "agent/config/config.h"
#include "agent/store/state_store.h"

namespace fep::app {

struct StatusView {
  std::vector<store::ResourceRow> resources;  // configured resources, in config order
  std::vector<store::OutboxEntry> pending_receipts;
  std::vector<store::OutboxEntry> refused_receipts;
};

Expected<StatusView> collect_status(const Config& config, store::StateStore& store);
std::string status_table(const StatusView& view);
std::string status_json(const StatusView& view);

// Terminal columns taken by UTF-8 text (CJK characters take two).
size_t display_width(std::string_view utf8);

}  // namespace fep::app
