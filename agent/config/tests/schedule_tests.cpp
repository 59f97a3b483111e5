#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>

#include "agent/config/schedule.h"

using namespace fep;
using namespace std::chrono;

namespace {

// Local time in these tests is UTC, so the expected instants are easy to write.
struct Utc {
  Utc() {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};
const Utc kUtc;

SystemTime at(int y, int mo, int d, int h, int mi, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return system_clock::from_time_t(timegm(&tm));
}

}  // namespace

TEST_CASE("intervals: every n seconds, minutes, hours, days") {
  CHECK(parse_schedule("every 30s")->interval == seconds(30));
  CHECK(parse_schedule("every 15m")->interval == minutes(15));
  CHECK(parse_schedule("every 6h")->interval == hours(6));
  CHECK(parse_schedule("every 1d")->interval == hours(24));
  CHECK(parse_schedule("manual")->kind == Schedule::Kind::manual);
  CHECK_FALSE(parse_schedule("every 0m").ok());
  CHECK_FALSE(parse_schedule("every 5w").ok());
  CHECK_FALSE(parse_schedule("sometimes").ok());

  auto s = *parse_schedule("every 15m");
  const auto now = at(2026, 11, 20, 10, 0);
  CHECK(next_run(s, std::nullopt, SystemTime{}, now) == now);  // never ran: now
  CHECK(next_run(s, std::nullopt, now - minutes(5), now) == now + minutes(10));
  CHECK_FALSE(next_run(*parse_schedule("manual"), std::nullopt, SystemTime{}, now).has_value());
}

TEST_CASE("cron: the next matching minute after the last run") {
  auto nightly = *parse_schedule("0 2 * * *");
  CHECK(nightly.kind == Schedule::Kind::cron);
  CHECK(next_run(nightly, std::nullopt, SystemTime{}, at(2026, 11, 20, 10, 0)) ==
        at(2026, 11, 21, 2, 0));
  // Ran at 02:00:05 today: the next is tomorrow, not again in the same minute.
  CHECK(next_run(nightly, std::nullopt, at(2026, 11, 21, 2, 0, 5), at(2026, 11, 21, 2, 0, 30)) ==
        at(2026, 11, 22, 2, 0));

  auto quarter = *parse_schedule("*/15 8-17 * * 1-5");  // weekdays, office hours
  // 2026-11-21 is a Saturday: the next is Monday 08:00.
  CHECK(next_run(quarter, std::nullopt, SystemTime{}, at(2026, 11, 21, 12, 7)) ==
        at(2026, 11, 23, 8, 0));
  CHECK(next_run(quarter, std::nullopt, SystemTime{}, at(2026, 11, 23, 9, 1)) ==
        at(2026, 11, 23, 9, 15));

  auto sunday = *parse_schedule("30 1 * * 7");  // 7 is Sunday too
  CHECK(next_run(sunday, std::nullopt, SystemTime{}, at(2026, 11, 20, 0, 0)) ==
        at(2026, 11, 22, 1, 30));
  CHECK_FALSE(parse_schedule("60 * * * *").ok());
  CHECK_FALSE(parse_schedule("* * *").ok());
}

TEST_CASE("windows hold runs until they open, across midnight too") {
  auto night = *parse_window("22:00-06:00");
  CHECK(night.contains(23 * 60));
  CHECK(night.contains(5 * 60 + 59));
  CHECK_FALSE(night.contains(6 * 60));
  CHECK_FALSE(night.contains(12 * 60));
  auto s = *parse_schedule("every 1h");
  CHECK(next_run(s, night, SystemTime{}, at(2026, 11, 20, 12, 30)) == at(2026, 11, 20, 22, 0));
  CHECK(next_run(s, night, SystemTime{}, at(2026, 11, 20, 23, 30)) == at(2026, 11, 20, 23, 30));
  CHECK_FALSE(parse_window("22:00").ok());
  CHECK_FALSE(parse_window("10:00-10:00").ok());
}
