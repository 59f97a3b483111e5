#include <doctest/doctest.h>

#include "agent/daemon/clock_watch.h"

using namespace fep;
using namespace std::chrono;

TEST_CASE("a wall clock set back is reported once, by how far; forward steps are not") {
  const ClockWatch::Wall wall{seconds(1'800'000'000)};
  const ClockWatch::Steady steady{seconds(5000)};
  ClockWatch watch(wall, steady, seconds(2));

  // Both clocks advance together: nothing, whatever the time between calls.
  CHECK_FALSE(watch.stepped_back(wall + seconds(60), steady + seconds(60)));
  // A second of drift between calls is within the tolerance.
  CHECK_FALSE(watch.stepped_back(wall + seconds(119), steady + seconds(120)));
  // Set back an hour 30 s later: reported as an hour.
  auto back = watch.stepped_back(wall + seconds(149) - hours(1), steady + seconds(150));
  REQUIRE(back);
  CHECK(*back == hours(1));
  // The new wall clock is the reference from then on.
  CHECK_FALSE(watch.stepped_back(wall + seconds(209) - hours(1), steady + seconds(210)));
  // Forward (set ahead, or the machine resumed from suspend): not reported.
  CHECK_FALSE(watch.stepped_back(wall + seconds(209) + hours(5), steady + seconds(211)));
}
