// Live progress of the batches being worked on: written by the sync (download and apply),
// read by the terminal display and the daemon's status page. Nothing here is persisted.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace fep {

struct BatchProgress {
  std::string resource_id;
  std::string batch_id;
  int64_t seq = 0;
  std::string phase;        // downloading | applying
  int64_t bytes_done = 0;   // downloading: payload bytes received
  int64_t bytes_total = 0;  // the manifest's payload size
  int64_t items_done = 0;   // applying: rows (tables) or files (folders) written
  int64_t items_total = 0;  // the manifest's row_count or file count; 0 when unknown
  std::chrono::steady_clock::time_point phase_started{};
  // Downloading: the spool file, whose size is the bytes received (no hook in the transfer).
  std::filesystem::path watch_file;
  double elapsed_seconds(std::chrono::steady_clock::time_point now) const {
    return std::chrono::duration<double>(now - phase_started).count();
  }
};

// Thread-safe: one entry per resource being synced.
class ProgressBoard {
 public:
  void begin(const std::string& resource_id, const std::string& batch_id, int64_t seq,
             const std::string& phase, int64_t bytes_total, int64_t items_total,
             std::filesystem::path watch_file = {}) {
    std::lock_guard lock(mutex_);
    BatchProgress& p = slot(resource_id);
    p = {resource_id,
         batch_id,
         seq,
         phase,
         0,
         bytes_total,
         0,
         items_total,
         std::chrono::steady_clock::now(),
         std::move(watch_file)};
  }
  void bytes(const std::string& resource_id, int64_t done) {
    std::lock_guard lock(mutex_);
    slot(resource_id).bytes_done = done;
  }
  void items(const std::string& resource_id, int64_t done) {
    std::lock_guard lock(mutex_);
    slot(resource_id).items_done = done;
  }
  void end(const std::string& resource_id) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [&](const auto& p) { return p.resource_id == resource_id; });
  }
  std::vector<BatchProgress> snapshot() const {
    std::vector<BatchProgress> out;
    {
      std::lock_guard lock(mutex_);
      out = entries_;
    }
    for (auto& p : out)
      if (!p.watch_file.empty()) {
        std::error_code ec;
        auto size = std::filesystem::file_size(p.watch_file, ec);
        p.bytes_done = ec ? 0 : static_cast<int64_t>(size);
      }
    return out;
  }

 private:
  BatchProgress& slot(const std::string& resource_id) {
    for (auto& p : entries_)
      if (p.resource_id == resource_id) return p;
    entries_.push_back({});
    entries_.back().resource_id = resource_id;
    return entries_.back();
  }
  mutable std::mutex mutex_;
  std::vector<BatchProgress> entries_;
};

// The form the daemon's control socket answers `progress` with, and back.
nlohmann::ordered_json progress_json(const BatchProgress& p,
                                     std::chrono::steady_clock::time_point now);
std::optional<BatchProgress> progress_from_json(const nlohmann::json& j,
                                                std::chrono::steady_clock::time_point now);

}  // namespace fep
