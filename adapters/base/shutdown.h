// A stop signal that every wait and retry loop can be woken by.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace fep {

class StopSource {
 public:
  void request_stop();
  bool stop_requested() const;
  // Sleeps for `d` unless a stop is requested first. Returns false when woken by a stop.
  bool sleep_for(std::chrono::milliseconds d) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopped_ = false;
};

}  // namespace fep
