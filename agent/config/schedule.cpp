#include "agent/config/schedule.h"

#include <charconv>
#include <ctime>
#include <vector>

namespace fep {
namespace {

using namespace std::chrono;

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool to_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

// One cron field: "*", "*/n", "a", "a-b", "a-b/n", and comma lists of those.
template <size_t N>
bool parse_field(std::string_view field, int lo, int hi, std::bitset<N>& bits) {
  while (!field.empty()) {
    auto comma = field.find(',');
    auto part = field.substr(0, comma);
    field = comma == std::string_view::npos ? std::string_view() : field.substr(comma + 1);
    int step = 1;
    if (auto slash = part.find('/'); slash != std::string_view::npos) {
      if (!to_int(part.substr(slash + 1), step) || step < 1) return false;
      part = part.substr(0, slash);
    }
    int a = lo, b = hi;
    if (part != "*") {
      auto dash = part.find('-');
      if (dash == std::string_view::npos) {
        if (!to_int(part, a)) return false;
        b = step > 1 ? hi : a;
      } else if (!to_int(part.substr(0, dash), a) || !to_int(part.substr(dash + 1), b)) {
        return false;
      }
    }
    if (a < lo || b > hi || a > b) return false;
    for (int v = a; v <= b; v += step) bits.set(static_cast<size_t>(v));
  }
  return true;
}

Expected<CronSpec> parse_cron(std::string_view text) {
  std::vector<std::string_view> fields;
  while (!(text = trim(text)).empty()) {
    auto space = text.find(' ');
    fields.push_back(text.substr(0, space));
    text = space == std::string_view::npos ? std::string_view() : text.substr(space);
  }
  if (fields.size() != 5) return fail("a cron expression has 5 fields");
  CronSpec c;
  std::bitset<8> weekdays;  // 7 is Sunday too
  if (!parse_field(fields[0], 0, 59, c.minutes) || !parse_field(fields[1], 0, 23, c.hours) ||
      !parse_field(fields[2], 1, 31, c.days) || !parse_field(fields[3], 1, 12, c.months) ||
      !parse_field(fields[4], 0, 7, weekdays))
    return fail("a cron field is out of range or malformed");
  for (size_t d = 0; d < 7; ++d) c.weekdays[d] = weekdays[d];
  if (weekdays[7]) c.weekdays[0] = true;
  c.any_day = fields[2] == "*";
  c.any_weekday = fields[4] == "*";
  return c;
}

bool cron_day_matches(const CronSpec& c, const std::tm& t) {
  const bool day = c.days[static_cast<size_t>(t.tm_mday)];
  const bool weekday = c.weekdays[static_cast<size_t>(t.tm_wday)];
  // As in cron: when both are restricted, either one matching is enough.
  if (!c.any_day && !c.any_weekday) return day || weekday;
  return day && weekday;
}

std::tm local(SystemTime t) {
  std::time_t secs = system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return tm;
}

SystemTime next_cron(const CronSpec& c, SystemTime after) {
  // Minute by minute is at most a year of steps, done once per run: simple beats clever here.
  auto t = time_point_cast<minutes>(after) + minutes(1);
  for (int i = 0; i < 366 * 24 * 60; ++i, t += minutes(1)) {
    std::tm tm = local(t);
    if (c.minutes[static_cast<size_t>(tm.tm_min)] && c.hours[static_cast<size_t>(tm.tm_hour)] &&
        c.months[static_cast<size_t>(tm.tm_mon + 1)] && cron_day_matches(c, tm))
      return t;
  }
  return after + hours(24 * 366);
}

SystemTime into_window(const TimeWindow& w, SystemTime t) {
  for (int i = 0; i < 24 * 60 + 1; ++i) {
    std::tm tm = local(t);
    if (w.contains(tm.tm_hour * 60 + tm.tm_min)) return t;
    t = time_point_cast<minutes>(t) + minutes(1);
  }
  return t;
}

}  // namespace

bool TimeWindow::contains(int minute) const {
  if (start <= end) return minute >= start && minute < end;
  return minute >= start || minute < end;
}

Expected<Schedule> parse_schedule(std::string_view text) {
  text = trim(text);
  Schedule s;
  if (text == "manual") return s;
  if (text.starts_with("every ")) {
    auto spec = trim(text.substr(6));
    if (spec.size() < 2) return fail("expected \"every <n><unit>\"");
    const char unit = spec.back();
    int n = 0;
    if (!to_int(spec.substr(0, spec.size() - 1), n) || n < 1)
      return fail("expected \"every <n><unit>\" with n >= 1");
    const long factor = unit == 's'   ? 1
                        : unit == 'm' ? 60
                        : unit == 'h' ? 3600
                        : unit == 'd' ? 86400
                                      : 0;
    if (factor == 0) return fail("the unit of \"every\" is s, m, h or d");
    s.kind = Schedule::Kind::interval;
    s.interval = seconds(n * factor);
    return s;
  }
  auto cron = parse_cron(text);
  if (!cron)
    return fail(
        "expected \"every <n><s|m|h|d>\", a 5-field cron expression (\"0 2 * * *\") or "
        "\"manual\"; " +
        cron.error().message);
  s.kind = Schedule::Kind::cron;
  s.cron = *cron;
  return s;
}

Expected<TimeWindow> parse_window(std::string_view text) {
  auto hhmm = [](std::string_view s, int& out) {
    int h = 0, m = 0;
    if (s.size() != 5 || s[2] != ':' || !to_int(s.substr(0, 2), h) || !to_int(s.substr(3), m) ||
        h > 24 || m > 59 || (h == 24 && m != 0))
      return false;
    out = h * 60 + m;
    return true;
  };
  text = trim(text);
  TimeWindow w;
  auto dash = text.find('-');
  if (dash == std::string_view::npos || !hhmm(trim(text.substr(0, dash)), w.start) ||
      !hhmm(trim(text.substr(dash + 1)), w.end) || w.start == w.end)
    return fail("expected \"HH:MM-HH:MM\" (local time; 22:00-06:00 spans midnight)");
  return w;
}

std::optional<SystemTime> next_run(const Schedule& schedule,
                                   const std::optional<TimeWindow>& window, SystemTime last_start,
                                   SystemTime now) {
  SystemTime t;
  switch (schedule.kind) {
    case Schedule::Kind::manual:
      return std::nullopt;
    case Schedule::Kind::interval:
      t = std::max(now, last_start + schedule.interval);
      break;
    case Schedule::Kind::cron:
      t = next_cron(schedule.cron, std::max(now, last_start) - minutes(1) + seconds(59));
      break;
  }
  return window ? into_window(*window, t) : t;
}

}  // namespace fep
