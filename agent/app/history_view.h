// What `fep-agent history` and `fep-agent resources` show.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"
#include "agent/store/state_store.h"

namespace fep::app {

// Batches, newest first; with a RESOURCE column when they are of several resources.
std::string history_table(const std::vector<store::BatchHistoryRow>& batches, bool all_resources,
                          bool colour = false);
std::string history_json(const std::vector<store::BatchHistoryRow>& batches);

// Every subscription the platform lists for this node, and whether it is configured here.
// Configured resources the platform does not list show as "not subscribed".
struct SubscriptionLine {
  store::Subscription subscription;
  std::optional<std::string> target;  // the local target, when configured
};
std::vector<SubscriptionLine> subscription_lines(const Config& config,
                                                 const std::vector<store::Subscription>& listed);
std::string resources_table(const std::vector<SubscriptionLine>& lines, bool colour = false);
std::string resources_json(const std::vector<SubscriptionLine>& lines);

}  // namespace fep::app
