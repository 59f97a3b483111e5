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
#include "agent/sync/batch_sink.h"
#include "agent/sync/schema_plan.h"

namespace fep {

class TableSink final : public BatchSink {
 public:
  // `target` must outlive the sink. The connection is opened on first use and dropped after
  // an error that calls for reconnecting.
  explicit TableSink(const TargetConfig& target);
  ~TableSink();

  ResourceKind kind() const override { return ResourceKind::table; }
  Expected<AppliedCounts, ApplyFailure> apply(const Manifest& manifest,
                                              const std::filesystem::path& payload,
                                              const ResourceConfig& resource) override;
  Expected<std::optional<AppliedCounts>, ApplyFailure> find_applied(
      const ResourceConfig& resource, const std::string& batch_id) override;
  // The same, for one batch id: the target's bookkeeping table is shared by its resources.
  Expected<std::optional<AppliedCounts>, ApplyFailure> find_applied(const std::string& batch_id);

  // The table a resource's batch lands in: the target's prefix, then the resource's `table`
  // or the manifest's name.
  static std::string local_table_name(const TargetConfig& target, const ResourceConfig& resource,
                                      const std::string& manifest_table);
  // A working table of `table` (`prefix` _fep_new_ or _fep_old_): the whole name when it fits in
  // 63 characters, else its start and 8 hex digits of its SHA-256, so that two tables never
  // share one.
  static std::string work_table_name(std::string_view prefix, const std::string& table);

 private:
  Expected<void, ApplyFailure> ensure_connected();
  Expected<void, ApplyFailure> ensure_agent_tables();
  Expected<AppliedCounts, ApplyFailure> apply_once(const Manifest& manifest,
                                                   const std::filesystem::path& payload,
                                                   const ResourceConfig& resource);
  // What _fep_tables says about a table: the schema it holds (nullopt when unreadable) and the
  // resource that writes it.
  struct Registration {
    std::optional<sql::TableSchema> schema;
    std::string resource_id;
  };
  Expected<std::optional<Registration>, ApplyFailure> registration(const std::string& table);
  Expected<void, ApplyFailure> run(const std::string& what, const std::string& sql);
  // Records `schema` as the table's and `resource_id` as its owner (_fep_tables).
  Expected<void, ApplyFailure> register_table(const std::string& resource_id,
                                              const sql::TableSchema& schema);
  Expected<void, ApplyFailure> record(const Manifest& manifest, const sql::TableSchema& schema,
                                      const AppliedCounts& counts);
  // Streams the payload's rows into `into` inside the open transaction.
  Expected<AppliedCounts, ApplyFailure> load_rows(const Manifest& manifest,
                                                  const std::filesystem::path& payload,
                                                  const sql::TableSchema& into);
  ApplyFailure database_failure(const std::string& what, const odbc::DbError& error);

  const TargetConfig& target_;
  std::unique_ptr<odbc::Connection> connection_;
  std::unique_ptr<sql::Dialect> dialect_;
  // Where catalog lookups search: the target's schema, or the connection's current one.
  std::optional<std::string> lookup_schema_;
  bool agent_tables_ready_ = false;
  bool reconnect_ = false;  // the connection is lost: open a new one before the next use
};

}  // namespace fep
