#include "agent/daemon/clock_watch.h"

namespace fep {

std::optional<std::chrono::milliseconds> ClockWatch::stepped_back(Wall wall, Steady steady) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto expected = wall_ + duration_cast<Wall::duration>(steady - steady_);
  const auto behind = duration_cast<milliseconds>(expected - wall);
  wall_ = wall;
  steady_ = steady;
  if (behind > tolerance_) return behind;
  return std::nullopt;
}

}  // namespace fep
