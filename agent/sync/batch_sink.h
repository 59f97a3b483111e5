// Where a batch lands: a table in a database (TableSink) or a local folder (FolderSink). Each
// applies a batch atomically and records it in the target itself, so that the target can say
// whether a batch is there after a crash.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "adapters/base/expected.h"
#include "agent/batch/manifest.h"
#include "agent/config/config.h"
#include "agent/sync/apply_result.h"

namespace fep {

class BatchSink {
 public:
  virtual ~BatchSink() = default;

  // The resource kind this sink takes (tables for odbc targets, folders for folder targets).
  virtual ResourceKind kind() const = 0;

  // Asks the target whether `batch_id` of `resource` is recorded there (crash recovery).
  virtual Expected<std::optional<AppliedCounts>, ApplyFailure> find_applied(
      const ResourceConfig& resource, const std::string& batch_id) = 0;

  // Applies the checked payload whole, or nothing of it.
  virtual Expected<AppliedCounts, ApplyFailure> apply(const Manifest& manifest,
                                                      const std::filesystem::path& payload,
                                                      const ResourceConfig& resource) = 0;

  // Called during apply with the rows or files written so far (for a progress display).
  void set_progress(std::function<void(int64_t done)> report) { report_ = std::move(report); }

 protected:
  void report_progress(int64_t done) const {
    if (report_) report_(done);
  }

 private:
  std::function<void(int64_t)> report_;
};

// The sink for `target` (which must outlive it).
std::unique_ptr<BatchSink> make_sink(const TargetConfig& target);

}  // namespace fep
