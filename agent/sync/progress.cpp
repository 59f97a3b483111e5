#include "agent/sync/progress.h"

#include <nlohmann/json.hpp>

namespace fep {

nlohmann::ordered_json progress_json(const BatchProgress& p,
                                     std::chrono::steady_clock::time_point now) {
  return {{"resource_id", p.resource_id},
          {"batch_id", p.batch_id},
          {"seq", p.seq},
          {"phase", p.phase},
          {"bytes_done", p.bytes_done},
          {"bytes_total", p.bytes_total},
          {"items_done", p.items_done},
          {"items_total", p.items_total},
          {"elapsed_seconds", p.elapsed_seconds(now)}};
}

std::optional<BatchProgress> progress_from_json(const nlohmann::json& j,
                                                std::chrono::steady_clock::time_point now) {
  if (!j.is_object()) return std::nullopt;
  try {
    BatchProgress p;
    p.resource_id = j.value("resource_id", "");
    p.batch_id = j.value("batch_id", "");
    p.seq = j.value("seq", int64_t{0});
    p.phase = j.value("phase", "");
    p.bytes_done = j.value("bytes_done", int64_t{0});
    p.bytes_total = j.value("bytes_total", int64_t{0});
    p.items_done = j.value("items_done", int64_t{0});
    p.items_total = j.value("items_total", int64_t{0});
    p.phase_started = now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                std::chrono::duration<double>(j.value("elapsed_seconds", 0.0)));
    return p;
  } catch (const nlohmann::json::exception&) {  // a member of the wrong type
    return std::nullopt;
  }
}

}  // namespace fep
