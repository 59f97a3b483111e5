#include "agent/app/progress_view.h"

#include <cstdio>

#include "agent/app/text_table.h"

namespace fep::app {
namespace {

std::string percent(int64_t done, int64_t total) {
  if (total <= 0) return "";
  char text[16];
  std::snprintf(text, sizeof text, " %d%%", static_cast<int>(done * 100 / total));
  return text;
}

std::string count(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string progress_line(const BatchProgress& p, std::chrono::steady_clock::time_point now,
                          bool folder) {
  const double seconds = p.elapsed_seconds(now);
  const bool downloading = p.phase == "downloading";
  const int64_t done = downloading ? p.bytes_done : p.items_done;
  const int64_t total = downloading ? p.bytes_total : p.items_total;
  std::string line = p.resource_id + " seq " + std::to_string(p.seq) + " " + p.phase + " ";
  if (downloading)
    line += short_bytes(done) + " / " + short_bytes(total);
  else
    line += count(done) + " / " + count(total) + (folder ? " files" : " rows");
  line += percent(done, total);
  if (seconds >= 0.5 && done > 0) {
    const double rate = done / seconds;
    line += downloading ? " " + short_bytes(static_cast<int64_t>(rate)) + "/s"
                        : " " + count(static_cast<int64_t>(rate)) + "/s";
    if (total > done) line += " ETA " + short_duration(static_cast<int64_t>((total - done) / rate));
  }
  return line;
}

}  // namespace fep::app
