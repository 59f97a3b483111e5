// The status endpoint's answers, rendered from a snapshot: JSON for /api/v1/... and the
// Prometheus text format for /metrics. Pure functions: the tests call them directly.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/status/status_model.h"

namespace fep::status {

// One command an operator may run: retry | skip | resync | unblock | sync_now.
struct ActionCommand {
  std::string code;
  std::string command;
};

// What an operator should do about a resource.
//   retry                 a batch is held (the target refused it): fix the cause, then retry; or
//                         skip it, or resync
//   skip                  a batch was rejected (its receipt is sent): go on after it, or resync
//   unblock               blocked, but the blocking batch is not in the database
//   resync_wait           resync requested: waiting for the next full batch (nothing to run)
//   approve_subscription | check_target | see_error | first_sync
// `commands` in the order to consider them; `command` is the first one, or "" when none.
struct Action {
  std::string code;
  std::string command;
  std::vector<ActionCommand> commands;
  std::optional<std::string> batch_id;  // the held or rejected batch the commands are about
};

// ok | syncing | attention | blocked | unknown (the dashboard's green, blue, amber, red, grey).
std::string_view health_of(const ResourceEntry& r, bool running);
std::optional<Action> action_for(const ResourceEntry& r);

// The resource's lag (store::Backlog::lag_seconds); nullopt for a resource the state database
// does not know.
std::optional<int64_t> lag_seconds(const ResourceEntry& r,
                                   std::chrono::system_clock::time_point now);

// Download or apply rate (bytes or items per second) and the seconds left at that rate, of a
// batch in progress; nullopt when not computable yet (nothing done, under a second elapsed, or
// no total known).
struct ProgressFigures {
  double elapsed_seconds = 0;
  std::optional<double> rate_per_second;
  std::optional<int64_t> eta_seconds;
};
ProgressFigures progress_figures(const BatchProgress& p, std::chrono::steady_clock::time_point now);

// The resources to show: the configured ones in configuration order when the agent says which
// (a configured resource the database does not know yet is shown as unknown), else all.
std::vector<ResourceEntry> shown_resources(const Snapshot& s, const LiveInfo& live);

// The local date (YYYY-MM-DD) `days_back` days before `now`.
std::string local_date(std::chrono::system_clock::time_point now, int days_back = 0);

inline constexpr int kChartDays = 30;
inline constexpr int kStatusEvents = 20;

// GET /api/v1/status: the agent, a summary, every shown resource, receipts needing a look,
// rows applied per day (the last kChartDays days, zeros included) and recent events.
// `db_error`: the state database could not be read (the snapshot is then empty).
std::string status_json(const View& v, const std::optional<std::string>& db_error = std::nullopt);
std::string resources_json(const View& v);
std::string batches_json(const std::string& resource_id, const std::vector<BatchEntry>& batches);
// One batch, as in batches_json and `fep-agent history --json`.
nlohmann::ordered_json batch_json(const BatchEntry& b);
// A running batch's progress with its rate and time left, as in status_json and
// `fep-agent status --json`.
nlohmann::ordered_json progress_json(const BatchProgress& p,
                                     std::chrono::system_clock::time_point now,
                                     std::chrono::steady_clock::time_point steady_now);
std::string events_json(const std::vector<store::Event>& events);
std::string error_json(std::string_view code, std::string_view message);

// GET /metrics, Prometheus text exposition format 0.0.4.
std::string metrics_text(const View& v, bool db_ok = true);

}  // namespace fep::status
