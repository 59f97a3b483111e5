#include "agent/app/commands.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <iostream>

#include "adapters/base/files.h"
#include "adapters/base/shutdown.h"
#include "agent/app/status_view.h"
#include "agent/exchange/exchange_client.h"
#include "agent/store/state_store.h"
#include "agent/sync/sync_runner.h"

namespace fep::app {
namespace {

// One agent at a time per state directory: the lock is released when the process exits.
class InstanceLock {
 public:
  explicit InstanceLock(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640)) {}
  ~InstanceLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool acquire() { return fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) == 0; }

 private:
  int fd_;
};

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
  auto store = open_store(config);
  if (!store) {
    spdlog::error("{}", store.error().message);
    return 1;
  }
  InstanceLock lock(config.state_dir / "agent.lock");
  if (!lock.acquire()) {
    spdlog::error("another fep-agent is running with state directory {}",
                  config.state_dir.string());
    return 1;
  }
  StopSource stop;
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
