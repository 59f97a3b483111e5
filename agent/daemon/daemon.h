// `fep-agent run`: syncs each resource on its schedule with a bounded pool of workers, sends
// receipts and heartbeats, refreshes subscriptions, reloads on SIGHUP, stops on SIGTERM, and
// takes `sync --now` requests on its control socket. Idle, it sleeps until the next due time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "adapters/base/shutdown.h"
#include "agent/config/config.h"
#include "agent/daemon/sd_notify.h"
#include "agent/exchange/exchange_client.h"
#include "agent/status/status_model.h"
#include "agent/sync/progress.h"
#include "agent/sync/sync_summary.h"

namespace fep::daemon {

class Daemon {
 public:
  Daemon(std::shared_ptr<const Config> config, std::filesystem::path config_path);
  ~Daemon();

  // Runs until SIGTERM or SIGINT; the process exit code.
  int run();

  // What `sync --now` gets back: one summary for the resources it asked for.
  struct NowResult {
    SyncSummary summary;
    std::string unknown;  // a resource id that is not configured
  };

 private:
  struct Slot {
    SystemTime due;
    SystemTime last_start{};
    bool scheduled = true;  // false for manual schedules: runs only on request
    bool running = false;
    std::vector<std::promise<SyncSummary>> waiting;  // `sync --now` for the next run
    std::vector<std::promise<SyncSummary>> current;  // ... and for the run going on
  };
  struct Job {
    std::shared_ptr<const Config> config;
    std::string resource_id;
  };

  using SteadyTime = std::chrono::steady_clock::time_point;

  void worker_loop();
  // The exchange tasks (receipts, heartbeat, subscriptions, housekeeping) on a thread of their
  // own: their requests can take minutes while the platform is unreachable, and the main loop
  // must keep dispatching and telling systemd's watchdog it is alive meanwhile.
  void tasks_loop();
  void run_job(const Job& job);
  void dispatch_due(SystemTime now);
  int target_limit(const TargetConfig& target) const;
  bool target_full(const std::string& resource_id) const;
  // How long the main loop may sleep: until the next slot that can start is due.
  std::chrono::milliseconds next_wake(SystemTime now) const;
  // At stop: drops the queued jobs and answers the `sync --now` requests no job will answer.
  void release_waiters();
  void reschedule(const std::string& id, Slot& slot, SystemTime now);
  void rebuild_slots(SystemTime now);
  // The wall clock went back by `step`: `every <n>` schedules move back with it so that their
  // interval stays real time (cron schedules and windows follow the wall clock).
  void clock_set_back(std::chrono::milliseconds step);
  void reload();
  // Records a reload (or a refused one) in the audit log.
  void audit_reload(bool ok, const std::string& what);
  void heartbeat();
  void refresh_subscriptions();
  void deliver_receipts();
  void housekeeping();
  std::string handle_control(const std::string& request);
  std::shared_ptr<const Config> current_config() const;
  void update_status();
  status::LiveInfo live_status() const;  // for the status page, from its HTTP threads

  std::shared_ptr<const Config> config_;
  std::filesystem::path config_path_;
  StopSource stop_;
  Notifier notifier_;
  std::string started_at_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, Slot> slots_;
  std::map<std::string, int> active_per_target_;
  std::vector<Job> queue_;
  std::condition_variable work_;
  std::condition_variable tasks_wake_;
  bool reload_requested_ = false;
  bool receipts_due_ = false;
  bool tasks_done_ = false;  // tasks_loop has returned
  bool recovered_ = false;   // tasks_loop's first pass (receipts, subscriptions) is done
  uint64_t events_ = 0;      // bumped by anything that should wake the main loop
  // The exchange tasks' timers: intervals, on the steady clock, so that a wall clock set back
  // does not stop them.
  SteadyTime next_heartbeat_{}, next_subscriptions_{}, next_receipts_{}, next_housekeeping_{};
  std::mt19937_64 rng_{std::random_device{}()};
  std::vector<std::thread> workers_;
  int running_jobs_ = 0;
  std::string last_heartbeat_at_;  // guarded by mu_
  std::string logged_audit_head_;  // the heartbeat thread's only
  ProgressBoard progress_;         // thread-safe on its own
  RequestErrors exchange_errors_;  // thread-safe on its own
};

// Adds the counts of one run to another.
void add(SyncSummary& total, const SyncSummary& run);
// A summary as the control socket's one-line JSON answer.
std::string summary_json(const SyncSummary& summary);

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and the threads it starts later), so
// that the daemon's own signal thread receives them. Call before starting any thread.
void block_daemon_signals();

}  // namespace fep::daemon
