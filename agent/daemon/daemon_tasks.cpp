// The daemon's timed tasks, run on its main thread: heartbeat, subscriptions, receipts, the
// status line; and the answers to control requests.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "adapters/base/clock.h"
#include "agent/daemon/daemon.h"
#include "agent/exchange/exchange_client.h"
#include "agent/store/state_store.h"
#include "agent/sync/housekeeping.h"
#include "agent/sync/sync_runner.h"

namespace fep::daemon {
namespace {

using nlohmann::ordered_json;

ordered_json optional_json(const std::optional<std::string>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

// The heartbeat's states are the protocol's five.
std::string heartbeat_state(const std::string& state) {
  for (const char* known : {"idle", "syncing", "blocked", "paused", "error"})
    if (state == known) return state;
  return "idle";
}

// A runner over a fresh state-store connection, for one task of the main thread.
template <class F>
void with_runner(const Config& config, const StopSource& stop, RequestErrors& errors, F&& f) {
  auto store = store::StateStore::open(config.state_dir / "state.db");
  if (!store) {
    spdlog::error("{}", store.error().message);
    return;
  }
  ExchangeClient exchange(config, stop);
  exchange.count_errors_in(&errors);
  SyncRunner runner(config, *store, exchange, stop);
  f(runner, *store, exchange);
}

}  // namespace

std::shared_ptr<const Config> Daemon::current_config() const {
  std::lock_guard guard(mu_);
  return config_;
}

void Daemon::tasks_loop() {
  using std::chrono::steady_clock;
  while (!stop_.stop_requested()) {
    const auto t = steady_clock::now();
    bool receipts = false, heartbeat_due = false, subscriptions_due = false, house_due = false;
    std::shared_ptr<const Config> config;
    {
      std::lock_guard guard(mu_);
      config = config_;
      receipts = receipts_due_ || t >= next_receipts_;
      receipts_due_ = false;
      heartbeat_due = t >= next_heartbeat_;
      subscriptions_due = t >= next_subscriptions_;
      house_due = t >= next_housekeeping_;
    }
    const auto& d = config->daemon;
    if (receipts) deliver_receipts();
    if (heartbeat_due && !stop_.stop_requested()) heartbeat();
    if (subscriptions_due && !stop_.stop_requested()) refresh_subscriptions();
    if (house_due && !stop_.stop_requested()) housekeeping();

    std::unique_lock guard(mu_);
    if (receipts) next_receipts_ = steady_clock::now() + d.receipts_interval;
    if (heartbeat_due) next_heartbeat_ = t + d.heartbeat_interval;
    if (subscriptions_due) next_subscriptions_ = t + d.subscriptions_interval;
    // Retention is counted in days: once an hour is often enough.
    if (house_due) next_housekeeping_ = t + std::chrono::hours(1);
    if (!recovered_) {  // the main loop may dispatch syncs from now on
      recovered_ = true;
      ++events_;
      wake_.notify_all();
    }
    const auto next =
        std::min({next_heartbeat_, next_subscriptions_, next_receipts_, next_housekeeping_});
    tasks_wake_.wait_until(guard, next, [&] { return receipts_due_ || stop_.stop_requested(); });
  }
  std::lock_guard guard(mu_);
  tasks_done_ = true;
  wake_.notify_all();
}

void Daemon::deliver_receipts() {
  auto config = current_config();
  with_runner(*config, stop_, exchange_errors_,
              [](SyncRunner& runner, store::StateStore&, ExchangeClient&) {
                SyncSummary summary;
                runner.deliver_receipts(summary);
              });
}

void Daemon::housekeeping() {
  auto config = current_config();
  with_runner(*config, stop_, exchange_errors_,
              [&](SyncRunner&, store::StateStore& store, ExchangeClient&) {
                (void)housekeep(*config, store, std::chrono::system_clock::now());
              });
}

void Daemon::refresh_subscriptions() {
  auto config = current_config();
  with_runner(*config, stop_, exchange_errors_,
              [](SyncRunner& runner, store::StateStore&, ExchangeClient&) {
                SyncSummary summary;
                runner.refresh_subscriptions(summary);
              });
}

void Daemon::heartbeat() {
  auto config = current_config();
  with_runner(
      *config, stop_, exchange_errors_,
      [&](SyncRunner&, store::StateStore& store, ExchangeClient& ex) {
        ordered_json resources = ordered_json::array();
        for (const auto& r : config->resources) {
          auto row = store.resource(r.id);
          ordered_json entry{{"resource_id", r.id},
                             {"last_seq", nullptr},
                             {"last_applied_at", nullptr},
                             {"state", "idle"},
                             {"error", nullptr}};
          if (row && *row) {
            const auto& res = **row;
            entry["last_seq"] = res.last_seq ? ordered_json(*res.last_seq) : ordered_json(nullptr);
            entry["last_applied_at"] = optional_json(res.last_applied_at);
            entry["state"] = heartbeat_state(res.state);
            entry["error"] = optional_json(res.last_error);
          }
          resources.push_back(entry);
        }
        ordered_json body{{"node", config->node.id},
                          {"agent", "fep-agent/" FEP_VERSION},
                          {"started_at", started_at_},
                          {"resources", resources}};
        // The audit log's head, in the journal whenever it moved: an anchor outside the state
        // database that shows a cut-off tail (`fep-agent audit verify --anchor ID:HASH`).
        if (auto head = store.audit_head()) {
          std::string anchor = std::to_string(head->last_id) + ":" + head->hash;
          if (anchor != logged_audit_head_) {
            spdlog::info("audit log: {} entries, head {}", head->entries, anchor);
            logged_audit_head_ = std::move(anchor);
          }
        }
        // Not retried: the next one is due soon anyway.
        auto sent = ex.heartbeat(body.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
        if (!sent) {
          spdlog::warn("heartbeat: {}", sent.error().message);
        } else {
          std::lock_guard guard(mu_);
          last_heartbeat_at_ = rfc3339_now();
        }
      });
}

status::LiveInfo Daemon::live_status() const {
  status::LiveInfo live;
  std::lock_guard guard(mu_);
  std::vector<std::string> configured;
  for (const auto& r : config_->resources) configured.push_back(r.id);
  live.configured = std::move(configured);
  for (const auto& [id, slot] : slots_) {
    if (slot.running)
      live.running.push_back(id);
    else if (slot.scheduled)
      live.next_run_at[id] = rfc3339(slot.due);
  }
  if (!last_heartbeat_at_.empty()) live.last_heartbeat_at = last_heartbeat_at_;
  live.progress = progress_.snapshot();
  live.exchange_errors = exchange_errors_.snapshot();
  return live;
}

void Daemon::update_status() {
  std::string text;
  {
    std::lock_guard guard(mu_);
    if (!recovered_) {
      text = "starting: delivering pending receipts, asking the platform for subscriptions";
    } else if (running_jobs_ > 0) {
      text = "syncing " + std::to_string(running_jobs_) + " resource(s)";
    } else {
      const std::string* next_id = nullptr;
      SystemTime next{};
      for (const auto& [id, slot] : slots_)
        if (slot.scheduled && (!next_id || slot.due < next)) {
          next_id = &id;
          next = slot.due;
        }
      text = next_id ? "idle; next: " + *next_id + " at " + rfc3339(next) : "idle";
    }
  }
  notifier_.status(text);
}

std::string Daemon::handle_control(const std::string& request) {
  if (request == "progress") {
    // The batches being worked on now, for `fep-agent status`.
    ordered_json list = ordered_json::array();
    const auto now = std::chrono::steady_clock::now();
    for (const auto& p : progress_.snapshot()) list.push_back(progress_json(p, now));
    return ordered_json{{"progress", list}}.dump();
  }
  // "sync" (every resource) or "sync <resource id>".
  if (request != "sync" && request.rfind("sync ", 0) != 0) return R"({"error": "unknown request"})";
  const std::string id = request.size() > 5 ? request.substr(5) : "";
  std::vector<std::future<SyncSummary>> pending;
  {
    std::lock_guard guard(mu_);
    if (stop_.stop_requested()) return R"({"error": "the daemon is stopping"})";
    if (!id.empty() && !slots_.count(id))
      return ordered_json{{"error", "resource " + id + " is not in the configuration"}}.dump(
          -1, ' ', false, ordered_json::error_handler_t::replace);
    for (auto& [slot_id, slot] : slots_) {
      if (!id.empty() && slot_id != id) continue;
      slot.waiting.emplace_back();
      pending.push_back(slot.waiting.back().get_future());
    }
    ++events_;
    wake_.notify_all();
  }
  SyncSummary total;
  for (auto& f : pending) {
    try {
      add(total, f.get());
    } catch (const std::future_error&) {  // the daemon stopped before the run
      total.errors.push_back("the daemon stopped before the sync ran");
    }
  }
  return summary_json(total);
}

}  // namespace fep::daemon
