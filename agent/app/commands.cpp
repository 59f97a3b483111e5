#include "agent/app/commands.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <signal.h>

#include <iostream>
#include <memory>
#include <thread>

#include "adapters/base/files.h"
#include "adapters/base/shutdown.h"
#include "agent/app/status_view.h"
#include "agent/daemon/control_socket.h"
#include "agent/exchange/exchange_client.h"
#include "agent/store/state_store.h"
#include "agent/sync/folder_sink.h"
#include "agent/sync/sync_runner.h"

namespace fep::app {
namespace {

Expected<store::StateStore> open_store(const Config& config) {
  if (auto st = ensure_directory(config.state_dir); !st) return Unexpected{st.error()};
  return store::StateStore::open(config.state_dir / "state.db");
}

}  // namespace

int run_check_config(const Config& config) {
  std::cout << config.source.string() << ": configuration is valid (" << config.targets.size()
            << " targets, " << config.resources.size() << " resources)\n";
  return 0;
}

int run_sync_once(const Config& config, const std::optional<std::string>& resource) {
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
  SyncRunner runner(config, *store, exchange, stop);
  auto summary = runner.run_once(resource);
  spdlog::info(
      "sync done: {} applied, {} rejected, {} superseded, {} receipts delivered, {} refused{}",
      summary.applied, summary.rejected, summary.superseded, summary.receipts_delivered,
      summary.receipts_refused,
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
  auto view = collect_status(config, *store);
  if (!view) {
    std::cerr << "fep-agent: " << view.error().message << "\n";
    return 1;
  }
  std::cout << (json ? status_json(*view) : status_table(*view));
  return 0;
}

}  // namespace fep::app
