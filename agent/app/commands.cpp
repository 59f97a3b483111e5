#include "agent/app/commands.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <optional>

#include <iostream>
#include <memory>
#include <thread>

#include "adapters/base/files.h"
#include "adapters/base/shutdown.h"
#include "agent/app/progress_view.h"
#include "agent/app/status_view.h"
#include "agent/daemon/control_socket.h"
#include "agent/daemon/daemon.h"
#include "agent/exchange/exchange_client.h"
#include "agent/store/state_store.h"
#include "agent/sync/folder_sink.h"
#include "agent/sync/housekeeping.h"
#include "agent/sync/sync_runner.h"

namespace fep::app {
namespace {

Expected<store::StateStore> open_store(const Config& config) {
  if (auto st = ensure_directory(config.state_dir); !st) return Unexpected{st.error()};
  return store::StateStore::open(config.state_dir / "state.db");
}

// Redraws the batches at hand on one terminal line (stderr) five times a second.
class ProgressDisplay {
 public:
  ProgressDisplay(const Config& config, const ProgressBoard& board)
      : config_(config), board_(board), thread_([this] { draw(); }) {}
  ~ProgressDisplay() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void draw() {
    std::unique_lock lock(mutex_);
    bool shown = false;
    while (!wake_.wait_for(lock, std::chrono::milliseconds(200), [this] { return done_; })) {
      std::string line;
      const auto now = std::chrono::steady_clock::now();
      for (const auto& p : board_.snapshot()) {
        const ResourceConfig* r = config_.find_resource(p.resource_id);
        const TargetConfig* t = r ? config_.find_target(r->target) : nullptr;
        line +=
            (line.empty() ? "" : " | ") + progress_line(p, now, t && t->type == TargetType::folder);
      }
      if (line.empty() && !shown) continue;
      std::cerr << "\r\x1b[K" << line << std::flush;
      shown = !line.empty();
    }
    if (shown) std::cerr << "\r\x1b[K" << std::flush;
  }

  const Config& config_;
  const ProgressBoard& board_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

// What a running daemon is downloading or applying now; nothing when no daemon answers.
std::vector<BatchProgress> daemon_progress(const Config& config) {
  std::vector<BatchProgress> out;
  const auto socket = daemon::control_socket_path(config.daemon.control_socket, config.state_dir);
  auto reply = daemon::control_request(socket, "progress");
  if (!reply) return out;
  auto doc = nlohmann::json::parse(*reply, nullptr, false);
  if (doc.is_discarded() || !doc.contains("progress") || !doc["progress"].is_array()) return out;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& p : doc["progress"])
    if (auto b = progress_from_json(p, now)) out.push_back(std::move(*b));
  return out;
}

}  // namespace

int run_check_config(const Config& config) {
  std::cout << config.source.string() << ": configuration is valid (" << config.targets.size()
            << " targets, " << config.resources.size() << " resources)\n";
  return 0;
}

int run_sync_once(const Config& config, const std::optional<std::string>& resource) {
  // Before any thread starts: SIGTERM and SIGINT go to the thread below.
  daemon::block_daemon_signals();
  // The lock comes first: two agents must not even migrate the state database together.
  if (auto st = ensure_directory(config.state_dir); !st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  FileLock lock(config.state_dir / "agent.lock");
  if (!lock.try_lock()) {
    spdlog::error("another fep-agent is running with state directory {} (use sync --now to ask it)",
                  config.state_dir.string());
    return 1;
  }
  auto store = open_store(config);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 1;
  }
  // SIGTERM or SIGINT: finish or roll back the batch at hand, skip the rest, exit.
  auto stop_source = std::make_shared<StopSource>();  // outlives this call: the thread may too
  const StopSource& stop = *stop_source;
  std::thread([stop_source] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    if (sigwait(&set, &sig) == 0) {
      spdlog::warn("signal {}: stopping after the current step", sig);
      stop_source->request_stop();
    }
  }).detach();
  ExchangeClient exchange(config, stop);
  ProgressBoard board;
  std::optional<ProgressDisplay> display;
  if (isatty(STDERR_FILENO) == 1) display.emplace(config, board);
  SyncRunner runner(config, *store, exchange, stop, &board);
  auto summary = runner.run_once(resource);
  display.reset();
  // A machine that syncs from cron or a timer instead of the daemon needs it too.
  if (!stop.stop_requested()) (void)housekeep(config, *store, std::chrono::system_clock::now());
  spdlog::info(
      "sync done: {} applied, {} rejected, {} held, {} superseded, {} receipts delivered, {} "
      "refused{}",
      summary.applied, summary.rejected, summary.held, summary.superseded,
      summary.receipts_delivered, summary.receipts_refused,
      summary.blocked ? "; a resource is blocked (see fep-agent status)" : "");
  return summary.exit_code();
}

int run_sync_now(const Config& config, const std::optional<std::string>& resource) {
  const auto socket = daemon::control_socket_path(config.daemon.control_socket, config.state_dir);
  auto reply = daemon::control_request(socket, resource ? "sync " + *resource : "sync");
  if (!reply) {
    spdlog::info("no daemon answers on {}: syncing in this process", socket.string());
    return run_sync_once(config, resource);
  }
  auto answer = nlohmann::json::parse(*reply, nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) {
    std::cerr << "fep-agent: unexpected answer from the daemon: " << *reply << "\n";
    return 1;
  }
  if (answer.contains("error")) {
    std::cerr << "fep-agent: " << answer["error"].dump() << "\n";
    return 1;
  }
  std::cout << "applied " << answer.value("applied", 0) << ", rejected "
            << answer.value("rejected", 0) << ", superseded " << answer.value("superseded", 0)
            << ", receipts delivered " << answer.value("receipts_delivered", 0) << "\n";
  if (answer.contains("errors") && answer["errors"].is_array())
    for (const auto& e : answer["errors"])
      if (e.is_string()) std::cerr << "fep-agent: " << e.get<std::string>() << "\n";
  return answer.value("exit_code", 1);
}

int run_verify(const Config& config, const std::string& resource) {
  const ResourceConfig* r = config.find_resource(resource);
  const TargetConfig* target = r ? config.find_target(r->target) : nullptr;
  if (!target || target->type != TargetType::folder) {
    std::cerr << "fep-agent: " << resource << " is not a folder resource of this configuration\n";
    return 1;
  }
  auto v = verify_folder(*target, *r);
  if (!v) {
    std::cerr << "fep-agent: " << v.error().message << "\n";
    return 1;
  }
  std::cout << format_verification(*r, *v);
  return v->ok() ? 0 : 2;
}

int run_unblock(const Config& config, const std::string& resource) {
  if (!config.find_resource(resource)) {
    std::cerr << "fep-agent: resource " << resource << " is not in the configuration\n";
    return 1;
  }
  auto store = open_store(config);
  if (!store) {
    std::cerr << "fep-agent: " << store.error().message << "\n";
    return 1;
  }
  auto blocking = store->blocking_batch(resource);
  if (blocking && *blocking && (*blocking)->state == "failed") {
    std::cerr << "fep-agent: " << resource << " is blocked by batch " << (*blocking)->batch_id
              << ", which the target refused and which has no receipt yet: use `fep-agent retry "
              << resource << "` after fixing the target, or `fep-agent skip " << resource
              << " --batch " << (*blocking)->batch_id << " --reason TEXT`\n";
    return 1;
  }
  auto skipped = store->unblock(resource);
  if (!skipped) {
    std::cerr << "fep-agent: " << skipped.error().message << "\n";
    return 1;
  }
  std::cout << resource << " unblocked"
            << (*skipped ? "; it goes on after seq " + std::to_string(**skipped) +
                               " (that batch keeps its rejected receipt)"
                         : "")
            << "\n";
  return 0;
}

int run_status(const Config& config, bool json) {
  auto store = open_store(config);
  if (!store) {
    std::cerr << "fep-agent: " << store.error().message << "\n";
    return 1;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto view = collect_status(config, *store, now);
  if (!view) {
    std::cerr << "fep-agent: " << view.error().message << "\n";
    return 1;
  }
  view->progress = daemon_progress(config);
  std::cout << (json ? status_json(*view) : status_table(*view, colour_stdout()));
  return 0;
}

}  // namespace fep::app
