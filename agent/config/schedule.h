// When a resource syncs: every <interval>, a 5-field cron expression, or only on request; and
// optionally only inside a daily window.
#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/base/expected.h"

namespace fep {

struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;     // 1-31
  std::bitset<13> months;   // 1-12
  std::bitset<7> weekdays;  // 0 = Sunday
  bool any_day = true;      // day-of-month field was "*"
  bool any_weekday = true;  // day-of-week field was "*"
};

struct Schedule {
  enum class Kind { interval, cron, manual };
  Kind kind = Kind::manual;
  std::chrono::seconds interval{0};
  CronSpec cron;
};

// Minutes after local midnight; `end` before `start` wraps past midnight ("22:00-06:00").
struct TimeWindow {
  int start = 0;
  int end = 0;
  bool contains(int minute_of_day) const;
};

// "every 30s" | "every 15m" | "every 6h" | "every 1d" | "0 2 * * *" | "manual".
Expected<Schedule> parse_schedule(std::string_view text);
// "HH:MM-HH:MM".
Expected<TimeWindow> parse_window(std::string_view text);

using SystemTime = std::chrono::system_clock::time_point;

// The next time at or after `earliest` that the schedule allows, in local time, moved into the
// window when there is one. nullopt for manual schedules.
std::optional<SystemTime> next_run(const Schedule& schedule,
                                   const std::optional<TimeWindow>& window, SystemTime last_start,
                                   SystemTime now);

}  // namespace fep
