#include "agent/daemon/daemon.h"

#include "adapters/base/digest.h"

#include <pthread.h>
#include <signal.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "adapters/base/clock.h"
#include "adapters/base/files.h"
#include "agent/daemon/clock_watch.h"
#include "agent/daemon/control_socket.h"
#include "agent/exchange/exchange_client.h"
#include "agent/status/status_server.h"
#include "agent/store/state_store.h"
#include "agent/sync/sync_runner.h"

namespace fep::daemon {
namespace {

using namespace std::chrono;

sigset_t daemon_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

}  // namespace

void add(SyncSummary& total, const SyncSummary& s) {
  total.applied += s.applied;
  total.rejected += s.rejected;
  total.superseded += s.superseded;
  total.receipts_delivered += s.receipts_delivered;
  total.receipts_refused += s.receipts_refused;
  total.blocked = total.blocked || s.blocked;
  total.errors.insert(total.errors.end(), s.errors.begin(), s.errors.end());
}

std::string summary_json(const SyncSummary& s) {
  nlohmann::json j{{"applied", s.applied},       {"rejected", s.rejected},
                   {"superseded", s.superseded}, {"receipts_delivered", s.receipts_delivered},
                   {"blocked", s.blocked},       {"errors", s.errors},
                   {"exit_code", s.exit_code()}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void block_daemon_signals() {
  sigset_t set = daemon_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

Daemon::Daemon(std::shared_ptr<const Config> config, std::filesystem::path config_path)
    : config_(std::move(config)), config_path_(std::move(config_path)) {}

Daemon::~Daemon() = default;

int Daemon::run() {
  const Config& config = *config_;
  if (auto st = ensure_directory(config.state_dir); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  FileLock lock(config.state_dir / "agent.lock");
  if (!lock.try_lock()) {
    spdlog::error("another fep-agent is running with state directory {}",
                  config.state_dir.string());
    return 1;
  }
  {
    auto store = store::StateStore::open(config.state_dir / "state.db");
    if (!store) {
      spdlog::error("{}", store.error().message);
      return 1;
    }
  }
  started_at_ = rfc3339_now();

  // Signals arrive on a thread of their own, turned into flags the main loop reads.
  std::thread signals([this] {
    sigset_t set = daemon_signals();
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      std::lock_guard guard(mu_);
      ++events_;
      if (sig == SIGHUP) {
        reload_requested_ = true;
        wake_.notify_all();
        continue;
      }
      stop_.request_stop();
      wake_.notify_all();
      work_.notify_all();
      tasks_wake_.notify_all();
      return;
    }
  });

  // Recovery first, on the exchange tasks' thread (tasks_loop): receipts a crash left behind and
  // what the platform says now, before any resource syncs. The daemon is up and answers the
  // watchdog meanwhile, however long an unreachable platform makes that take.
  {
    std::lock_guard guard(mu_);
    rebuild_slots(system_clock::now());
    const auto now = steady_clock::now();
    next_heartbeat_ = now;
    next_subscriptions_ = now;
    next_receipts_ = now;
    next_housekeeping_ = now;
  }

  ControlServer control;
  const auto socket = control_socket_path(config.daemon.control_socket, config.state_dir);
  if (auto st = control.start(socket, [this](const std::string& r) { return handle_control(r); });
      !st)
    spdlog::warn("no control socket ({}); `sync --now` will not reach this daemon",
                 st.error().message);
  status::StatusServer status_server;
  status::ServerOptions status_options;
  status_options.allow_remote = config.status.allow_remote;
  if (auto st = status_server.start(
          config.status.listen, config.state_dir / "state.db",
          {FEP_VERSION, started_at_, config.node.id, [this] { return live_status(); }},
          status_options);
      !st)
    spdlog::warn("no status page: {}", st.error().message);
  else
    spdlog::info("status page on http://{}/", status_server.address());
  for (int i = 0; i < config.daemon.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  std::thread tasks([this] { tasks_loop(); });
  notifier_.ready();
  spdlog::info("fep-agent {} running: {} resources, {} workers, control socket {}", FEP_VERSION,
               config.resources.size(), config.daemon.workers, socket.string());

  SteadyTime next_watchdog = steady_clock::now();
  ClockWatch clock(system_clock::now(), steady_clock::now(), seconds(2));
  while (!stop_.stop_requested()) {
    uint64_t seen = 0;
    bool reload_now = false;
    {
      std::lock_guard guard(mu_);
      seen = events_;  // anything from here on wakes the wait below
      reload_now = reload_requested_;
      reload_requested_ = false;
    }
    if (reload_now) reload();
    {
      std::lock_guard guard(mu_);
      if (auto step = clock.stepped_back(system_clock::now(), steady_clock::now()))
        clock_set_back(*step);
      dispatch_due(system_clock::now());
    }
    const auto watchdog = notifier_.watchdog_interval();
    if (watchdog && steady_clock::now() >= next_watchdog) {
      notifier_.watchdog();
      next_watchdog = steady_clock::now() + *watchdog;
    }
    update_status();

    std::unique_lock guard(mu_);
    auto sleep = next_wake(system_clock::now());
    if (watchdog)
      sleep = std::min(sleep, duration_cast<milliseconds>(next_watchdog - steady_clock::now()));
    wake_.wait_for(guard, std::max(sleep, milliseconds(0)),
                   [&] { return events_ != seen || stop_.stop_requested(); });
  }

  // Stop: no new jobs; batches being applied get the grace time, then roll back with the exit.
  notifier_.stopping();
  spdlog::info("stopping");
  release_waiters();
  status_server.stop();
  {
    std::unique_lock guard(mu_);
    work_.notify_all();
    const bool done =
        wake_.wait_for(guard, config_->daemon.shutdown_grace, [&] { return running_jobs_ == 0; });
    if (!done) {
      spdlog::warn("{} batch(es) still running after the shutdown grace time; they roll back",
                   running_jobs_);
      std::_Exit(0);
    }
  }
  control.stop();  // after the jobs: a `sync --now` waiting for one gets its result
  for (auto& w : workers_) w.join();
  {
    // The exchange tasks stop between requests; one in flight ends at its timeout at worst.
    std::unique_lock guard(mu_);
    tasks_wake_.notify_all();
    if (!wake_.wait_for(guard, seconds(20), [&] { return tasks_done_; })) {
      spdlog::warn("an exchange request is still running; stopping without it");
      std::_Exit(0);
    }
  }
  tasks.join();
  pthread_kill(signals.native_handle(), SIGTERM);  // ends its sigwait if no signal came
  signals.join();
  spdlog::info("stopped");
  return 0;
}

void Daemon::worker_loop() {
  for (;;) {
    Job job;
    {
      std::unique_lock guard(mu_);
      work_.wait(guard, [&] { return !queue_.empty() || stop_.stop_requested(); });
      if (stop_.stop_requested()) return;
      job = std::move(queue_.front());
      queue_.erase(queue_.begin());
    }
    run_job(job);
  }
}

void Daemon::run_job(const Job& job) {
  SyncSummary summary;
  const ResourceConfig* resource = job.config->find_resource(job.resource_id);
  auto store = store::StateStore::open(job.config->state_dir / "state.db");
  if (!store) {
    summary.errors.push_back(store.error().message);
  } else if (resource) {
    ExchangeClient exchange(*job.config, stop_);
    exchange.count_errors_in(&exchange_errors_);
    SyncRunner runner(*job.config, *store, exchange, stop_, &progress_);
    runner.sync_subscribed(*resource, summary);
    // Its receipts go now, so that `sync --now` answers when the platform has them. Another
    // thread may post the same receipt meanwhile: the same receipt_id is idempotent.
    runner.deliver_receipts(summary);
  }

  std::lock_guard guard(mu_);
  auto it = slots_.find(job.resource_id);
  if (resource) --active_per_target_[resource->target];
  --running_jobs_;
  receipts_due_ = true;
  tasks_wake_.notify_all();
  ++events_;
  if (it != slots_.end()) {
    Slot& slot = it->second;
    slot.running = false;
    for (auto& p : slot.current) p.set_value(summary);
    slot.current.clear();
    if (!config_->find_resource(job.resource_id)) {  // removed by a reload meanwhile
      for (auto& p : slot.waiting) p.set_value(summary);
      slots_.erase(it);
    } else {
      reschedule(job.resource_id, slot, system_clock::now());
    }
  }
  wake_.notify_all();
}

int Daemon::target_limit(const TargetConfig& target) const {
  // SQLite takes one writer at a time: a second connection would only wait on its lock.
  std::string connection = target.connection;
  for (auto& c : connection) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (target.dialect == "sqlite" || connection.find("sqlite") != std::string::npos) return 1;
  return config_->daemon.max_connections;
}

void Daemon::dispatch_due(SystemTime now) {
  if (!recovered_) return;  // tasks_loop's first pass has not finished
  for (auto& [id, slot] : slots_) {
    if (slot.running || stop_.stop_requested()) continue;
    const bool due = (slot.scheduled && slot.due <= now) || !slot.waiting.empty();
    if (!due) continue;
    const ResourceConfig* resource = config_->find_resource(id);
    if (!resource) continue;
    int& active = active_per_target_[resource->target];
    if (active >= target_limit(*config_->find_target(resource->target)))
      continue;  // the target is busy: wait
    ++active;
    ++running_jobs_;
    slot.running = true;
    slot.last_start = now;
    slot.current = std::move(slot.waiting);
    slot.waiting.clear();
    queue_.push_back(Job{config_, id});
    work_.notify_one();
  }
}

bool Daemon::target_full(const std::string& resource_id) const {
  const ResourceConfig* resource = config_->find_resource(resource_id);
  if (!resource) return false;
  const auto it = active_per_target_.find(resource->target);
  return it != active_per_target_.end() &&
         it->second >= target_limit(*config_->find_target(resource->target));
}

milliseconds Daemon::next_wake(SystemTime now) const {
  // At most a minute: a wall clock that jumps is noticed within that.
  milliseconds sleep = minutes(1);
  for (const auto& [id, slot] : slots_) {
    // A slot whose target is busy waits for a job to end, which wakes the loop anyway;
    // counting its past due time here would spin.
    if (slot.running || !slot.scheduled || target_full(id)) continue;
    sleep = std::min(sleep, duration_cast<milliseconds>(slot.due - now));
  }
  return std::max(sleep, milliseconds(0));
}

void Daemon::release_waiters() {
  SyncSummary stopping;
  stopping.errors.push_back("the daemon is stopping; the sync did not run or did not finish");
  std::lock_guard guard(mu_);
  for (const auto& job : queue_) {  // queued, never started: not running after all
    --running_jobs_;
    if (const ResourceConfig* r = job.config->find_resource(job.resource_id))
      --active_per_target_[r->target];
    if (auto it = slots_.find(job.resource_id); it != slots_.end()) {
      it->second.running = false;
      for (auto& p : it->second.current) p.set_value(stopping);
      it->second.current.clear();
    }
  }
  queue_.clear();
  // A job that runs answers its own requests when it ends, within the grace time.
  for (auto& [id, slot] : slots_) {
    for (auto& p : slot.waiting) p.set_value(stopping);
    slot.waiting.clear();
  }
  wake_.notify_all();
}

void Daemon::reschedule(const std::string& id, Slot& slot, SystemTime now) {
  const ResourceConfig* resource = config_->find_resource(id);
  if (!resource) return;
  auto next = next_run(resource->schedule, resource->window, slot.last_start, now);
  slot.scheduled = next.has_value();
  if (!next) return;
  const auto jitter_ms = config_->daemon.jitter.count();
  std::uniform_int_distribution<int64_t> pick(0, std::max<int64_t>(jitter_ms, 0));
  slot.due = *next + milliseconds(pick(rng_));
}

void Daemon::clock_set_back(milliseconds step) {
  spdlog::warn("the wall clock was set back by {} s; interval schedules keep their intervals",
               duration_cast<seconds>(step).count());
  const auto now = system_clock::now();
  for (auto& [id, slot] : slots_) {
    const ResourceConfig* resource = config_->find_resource(id);
    if (!resource || resource->schedule.kind != Schedule::Kind::interval) continue;
    slot.last_start -= step;
    if (!slot.running) reschedule(id, slot, now);
  }
}

void Daemon::rebuild_slots(SystemTime now) {
  for (const auto& r : config_->resources) {
    auto [it, added] = slots_.try_emplace(r.id);
    if (!it->second.running) reschedule(r.id, it->second, now);
  }
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (!config_->find_resource(it->first) && !it->second.running) {
      for (auto& p : it->second.waiting) p.set_value(SyncSummary{});
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
}

void Daemon::reload() {
  notifier_.reloading();
  auto fresh = load_config(config_path_);
  if (!fresh) {
    spdlog::error("reload: {}; keeping the configuration in use", fresh.error().message);
    audit_reload(false, fresh.error().message);
    notifier_.ready();
    return;
  }
  if (fresh->state_dir != config_->state_dir)
    spdlog::warn("reload: state_dir changes only when the daemon restarts");
  auto next = std::make_shared<Config>(std::move(fresh).value());
  next->state_dir = config_->state_dir;
  std::lock_guard guard(mu_);
  config_ = std::move(next);
  rebuild_slots(system_clock::now());
  ++events_;
  spdlog::info("configuration reloaded: {} resources", config_->resources.size());
  audit_reload(true, std::to_string(config_->resources.size()) + " resources");
  notifier_.ready();
}

void Daemon::audit_reload(bool ok, const std::string& what) {
  auto store = store::StateStore::open(config_->state_dir / "state.db");
  if (!store) {
    spdlog::error("audit log: {}", store.error().message);
    return;
  }
  auto digest = sha256_file(config_path_);
  if (auto st = store->audit({"config.reload", "agent", std::nullopt, std::nullopt,
                              store::audit_detail({{"source", config_path_.string()},
                                                   {"config_sha256", digest ? *digest : ""},
                                                   {"ok", ok},
                                                   {ok ? "summary" : "error", what}})});
      !st)
    spdlog::error("audit log: {}", st.error().message);
}

}  // namespace fep::daemon
