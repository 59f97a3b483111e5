// Applies one table batch to an ODBC target in a single transaction, together with the row in
// the target's bookkeeping table that says the batch is there.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "adapters/base/expected.h"
#include "adapters/dialects/dialect.h"
#include "adapters/odbc/odbc.h"
#include "agent/batch/manifest.h"
#include "agent/config/config.h"
#include "agent/sync/apply_result.h"

namespace fep {

class TableSink {
 public:
  // `target` must outlive the sink. The connection is opened on first use and dropped after
  // an error that calls for reconnecting.
  explicit TableSink(const TargetConfig& target);

  Expected<AppliedCounts, ApplyFailure> apply(const Manifest& manifest,
                                              const std::filesystem::path& payload,
                                              const ResourceConfig& resource);

  // Asks the target whether `batch_id` is recorded there (crash recovery).
  Expected<std::optional<AppliedCounts>, ApplyFailure> find_applied(const std::string& batch_id);

 private:
  Expected<void, ApplyFailure> ensure_connected();
  Expected<AppliedCounts, ApplyFailure> load(const Manifest& manifest,
                                             const std::filesystem::path& payload,
                                             const sql::TableSchema& schema, bool table_exists);
  ApplyFailure database_failure(const std::string& what, const odbc::DbError& error);

  const TargetConfig& target_;
  std::unique_ptr<odbc::Connection> connection_;
  std::unique_ptr<sql::Dialect> dialect_;
  bool bookkeeping_ready_ = false;
};

}  // namespace fep
