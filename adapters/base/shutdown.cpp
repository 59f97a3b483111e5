#include "adapters/base/shutdown.h"

namespace fep {

void StopSource::request_stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

bool StopSource::stop_requested() const {
  std::lock_guard lock(mu_);
  return stopped_;
}

bool StopSource::sleep_for(std::chrono::milliseconds d) const {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [this] { return stopped_; });
}

}  // namespace fep
