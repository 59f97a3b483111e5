// Notices the wall clock being set back while the daemon runs.
#pragma once

#include <chrono>
#include <optional>

namespace fep {

// The monotonic clock keeps real time while an administrator or NTP steps the wall clock. A
// step back would delay every `every <n>` schedule by the step; the daemon moves them back by
// it. Steps forward are not reported: a schedule falling due early does no harm, and a resume
// from suspend (which the monotonic clock does not count) should run what is overdue.
class ClockWatch {
 public:
  using Wall = std::chrono::system_clock::time_point;
  using Steady = std::chrono::steady_clock::time_point;

  ClockWatch(Wall wall, Steady steady, std::chrono::milliseconds tolerance)
      : wall_(wall), steady_(steady), tolerance_(tolerance) {}

  // How far the wall clock went back since the previous call, when more than the tolerance.
  std::optional<std::chrono::milliseconds> stepped_back(Wall wall, Steady steady);

 private:
  Wall wall_;
  Steady steady_;
  std::chrono::milliseconds tolerance_;
};

}  // namespace fep
