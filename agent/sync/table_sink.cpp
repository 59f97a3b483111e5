#include "agent/sync/table_sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "adapters/base/clock.h"
#include "adapters/base/digest.h"
#include "agent/sync/folder_sink.h"

namespace fep {
namespace {

// How often a batch is tried again in one run after a lost connection or a deadlock.
constexpr int kTransientAttempts = 3;

// Rolls back unless the batch committed: a failed batch leaves nothing visible.
class RollbackGuard {
 public:
  explicit RollbackGuard(odbc::Connection* c) : connection_(c) {}
  ~RollbackGuard() {
    if (connection_ && !committed_) (void)connection_->rollback();
  }
  void committed() { committed_ = true; }

 private:
  odbc::Connection* connection_;
  bool committed_ = false;
};

int64_t to_int(const std::optional<std::string>& text) {
  int64_t v = 0;
  if (text) std::from_chars(text->data(), text->data() + text->size(), v);
  return v;
}

// The database file a connection string names (SQLite's "Database=/path"), or "".
std::string database_file(const std::string& connection) {
  size_t at = 0;
  while (at < connection.size()) {
    const size_t end = std::min(connection.find(';', at), connection.size());
    const std::string part = connection.substr(at, end - at);
    const size_t eq = part.find('=');
    std::string key = part.substr(0, eq == std::string::npos ? 0 : eq);
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (eq != std::string::npos && key == "database" && part.size() > eq + 1 && part[eq + 1] == '/')
      return part.substr(eq + 1);
    at = end + 1;
  }
  return "";
}

bool has_column(const std::vector<std::string>& columns, const std::string& name) {
  return std::any_of(columns.begin(), columns.end(), [&](const std::string& c) {
    return std::equal(c.begin(), c.end(), name.begin(), name.end(),
                      [](char a, char b) { return std::tolower(a) == std::tolower(b); });
  });
}

odbc::DbExpected<std::optional<std::string>> lookup_schema(odbc::Connection& connection,
                                                           const sql::Dialect& dialect) {
  if (dialect.db_schema()) return dialect.db_schema();
  const auto query = dialect.current_schema_query();
  if (!query) return std::optional<std::string>();
  RollbackGuard end_read(&connection);
  auto stmt = connection.prepare(*query);
  if (!stmt) return Unexpected{stmt.error()};
  if (auto st = (*stmt)->execute({}); !st) return Unexpected{st.error()};
  auto row = (*stmt)->fetch();
  if (!row) return Unexpected{row.error()};
  if (!*row) return std::optional<std::string>();
  auto name = (*stmt)->get_text(0);
  if (!name) return Unexpected{name.error()};
  return *name;
}

}  // namespace

TableSink::TableSink(const TargetConfig& target) : target_(target) {}
TableSink::~TableSink() = default;

std::string TableSink::work_table_name(std::string_view prefix, const std::string& table) {
  constexpr size_t kMaxName = 63;
  if (prefix.size() + table.size() <= kMaxName) return std::string(prefix) + table;
  Sha256 hash;
  hash.update(table);
  const std::string tag = "_" + hash.hex_digest().substr(0, 8);
  return std::string(prefix) + table.substr(0, kMaxName - prefix.size() - tag.size()) + tag;
}

std::string TableSink::local_table_name(const TargetConfig& target, const ResourceConfig& resource,
                                        const std::string& manifest_table) {
  return target.table_prefix + resource.table.value_or(manifest_table);
}

ApplyFailure TableSink::database_failure(const std::string& what, const odbc::DbError& error) {
  const std::string message = what + ": " + error.message;
  switch (dialect_ ? dialect_->classify(error) : error.error_class) {
    case odbc::ErrorClass::reconnect:
      // Dropped on the next ensure_connected(): statements and guards still refer to it now.
      reconnect_ = true;
      return retry_later(message);
    case odbc::ErrorClass::retry:
      return retry_later(message);
    case odbc::ErrorClass::timeout:
      return retry_next_run(message);
    case odbc::ErrorClass::unavailable: {
      const std::string file = database_file(target_.connection);
      return target_unavailable(
          "target " + target_.name + (file.empty() ? std::string() : " (" + file + ")") +
          " cannot take writes (no space left on its disk, a failing disk, or read-only): " +
          message);
    }
    case odbc::ErrorClass::constraint:
      return reject(RejectCode::constraint_violation, message);
    case odbc::ErrorClass::data:
    case odbc::ErrorClass::statement:
      break;
  }
  return reject(RejectCode::target_error, message);
}

Expected<void, ApplyFailure> TableSink::ensure_connected() {
  if (reconnect_) {
    connection_.reset();
    dialect_.reset();
    agent_tables_ready_ = false;
    reconnect_ = false;
  }
  if (connection_) return {};
  auto conn = odbc::connect(target_.connection, target_.password);
  if (!conn)
    return Unexpected{
        retry_later("target " + target_.name + ": cannot connect: " + conn.error().message)};
  std::string dialect_name;
  if (target_.dialect) {
    dialect_name = *target_.dialect;
  } else {
    auto detected = sql::dialect_for_dbms((*conn)->dbms_name());
    if (!detected)
      return Unexpected{target_unavailable("target " + target_.name + ": " +
                                           detected.error().message + "; set targets." +
                                           target_.name + ".dialect")};
    dialect_name = *detected;
  }
  auto dialect = sql::make_dialect(dialect_name, (*conn)->identifier_quote(), target_.db_schema,
                                   (*conn)->dbms_name(), (*conn)->dbms_version());
  if (!dialect)
    return Unexpected{
        target_unavailable("target " + target_.name + ": " + dialect.error().message)};
  for (const auto& sql : (*dialect)->session_setup(target_.statement_timeout))
    if (auto st = (*conn)->execute(sql); !st)
      return Unexpected{
          retry_later("target " + target_.name + ": session setup: " + st.error().message)};
  // With autocommit off the settings open a transaction, and PostgreSQL undoes a SET that is
  // rolled back (as the next read's guard would): commit them.
  if (auto st = (*conn)->commit(); !st)
    return Unexpected{
        retry_later("target " + target_.name + ": session setup: " + st.error().message)};
  if (!(*dialect)->session_bounds_statements())
    (*conn)->set_query_timeout(target_.statement_timeout);
  // Catalog lookups stay in the schema the tables go in: the target's, else the connection's
  // own. Without one, a table of the same name in any other schema would be taken for ours.
  auto schema = lookup_schema(**conn, **dialect);
  if (!schema)
    return Unexpected{
        retry_later("target " + target_.name + ": current schema: " + schema.error().message)};
  lookup_schema_ = std::move(schema).value();
  connection_ = std::move(conn).value();
  dialect_ = std::move(dialect).value();
  return {};
}

Expected<void, ApplyFailure> TableSink::run(const std::string& what, const std::string& sql) {
  if (auto st = connection_->execute(sql); !st)
    return Unexpected{database_failure(what, st.error())};
  return {};
}

Expected<void, ApplyFailure> TableSink::ensure_agent_tables() {
  if (agent_tables_ready_) return {};
  const std::pair<std::string_view, std::string> tables[] = {
      {sql::kBookkeepingTable, dialect_->create_bookkeeping()},
      {sql::kSchemaTable, dialect_->create_schema_registry()}};
  for (const auto& [name, create] : tables) {
    auto exists = connection_->table_exists(lookup_schema_, std::string(name));
    if (!exists) return Unexpected{database_failure(std::string(name), exists.error())};
    if (*exists) continue;
    if (auto st = run("creating " + std::string(name), create); !st) return st;
    if (auto st = connection_->commit(); !st)
      return Unexpected{database_failure("creating " + std::string(name), st.error())};
  }
  agent_tables_ready_ = true;
  return {};
}

Expected<std::optional<AppliedCounts>, ApplyFailure> TableSink::find_applied(
    const ResourceConfig&, const std::string& batch_id) {
  return find_applied(batch_id);
}

Expected<std::optional<AppliedCounts>, ApplyFailure> TableSink::find_applied(
    const std::string& batch_id) {
  if (auto st = ensure_connected(); !st) return Unexpected{st.error()};
  if (auto st = ensure_agent_tables(); !st) return Unexpected{st.error()};
  RollbackGuard end_read(connection_.get());  // ends the read transaction
  auto stmt = connection_->prepare(dialect_->select_bookkeeping());
  if (!stmt) return Unexpected{database_failure("bookkeeping lookup", stmt.error())};
  if (auto st = (*stmt)->execute({odbc::Param::text(batch_id)}); !st)
    return Unexpected{database_failure("bookkeeping lookup", st.error())};
  auto row = (*stmt)->fetch();
  if (!row) return Unexpected{database_failure("bookkeeping lookup", row.error())};
  if (!*row) return std::optional<AppliedCounts>();
  auto rows = (*stmt)->get_text(0);
  auto deleted = (*stmt)->get_text(1);
  if (!rows) return Unexpected{database_failure("bookkeeping lookup", rows.error())};
  if (!deleted) return Unexpected{database_failure("bookkeeping lookup", deleted.error())};
  return std::optional<AppliedCounts>(
      AppliedCounts{.rows = to_int(*rows), .deleted = to_int(*deleted), .already_in_target = true});
}

Expected<std::optional<TableSink::Registration>, ApplyFailure> TableSink::registration(
    const std::string& table) {
  auto stmt = connection_->prepare(dialect_->select_schema_registry());
  if (!stmt) return Unexpected{database_failure("schema registry", stmt.error())};
  if (auto st = (*stmt)->execute({odbc::Param::text(table)}); !st)
    return Unexpected{database_failure("schema registry", st.error())};
  auto row = (*stmt)->fetch();
  if (!row) return Unexpected{database_failure("schema registry", row.error())};
  if (!*row) return std::optional<Registration>();
  auto json = (*stmt)->get_text(0);
  auto owner = (*stmt)->get_text(1);
  if (!json) return Unexpected{database_failure("schema registry", json.error())};
  if (!owner) return Unexpected{database_failure("schema registry", owner.error())};
  Registration out{std::nullopt, owner->value_or("")};
  auto schema = schema_from_json(json->value_or(""));
  if (schema)
    out.schema = std::move(schema).value();
  else  // a damaged entry: compare by column names only, as for a table of unknown origin
    spdlog::warn("table {}: {}", table, schema.error().message);
  return std::optional<Registration>(std::move(out));
}

Expected<void, ApplyFailure> TableSink::register_table(const std::string& resource_id,
                                                       const sql::TableSchema& schema) {
  auto registry_delete = connection_->prepare(dialect_->delete_schema_registry());
  auto registry_insert = connection_->prepare(dialect_->insert_schema_registry());
  for (auto* stmt : {&registry_delete, &registry_insert})
    if (!*stmt) return Unexpected{database_failure("recording the schema", stmt->error())};
  using odbc::Param;
  if (auto st = (*registry_delete)->execute({Param::text(schema.name)}); !st)
    return Unexpected{database_failure("recording the schema", st.error())};
  if (auto st = (*registry_insert)
                    ->execute({Param::text(schema.name), Param::text(resource_id),
                               Param::text(schema_to_json(schema)), Param::text(rfc3339_now())});
      !st)
    return Unexpected{database_failure("recording the schema", st.error())};
  return {};
}

Expected<void, ApplyFailure> TableSink::record(const Manifest& manifest,
                                               const sql::TableSchema& schema,
                                               const AppliedCounts& counts) {
  if (auto st = register_table(manifest.resource_id, schema); !st) return st;
  auto bookkeeping = connection_->prepare(dialect_->insert_bookkeeping());
  if (!bookkeeping) return Unexpected{database_failure("recording the batch", bookkeeping.error())};
  const std::string seq = std::to_string(manifest.seq), rows = std::to_string(counts.rows),
                    deleted = std::to_string(counts.deleted), now = rfc3339_now();
  using odbc::Param;
  if (auto st = (*bookkeeping)
                    ->execute({Param::text(manifest.batch_id), Param::text(manifest.resource_id),
                               Param::text(seq), Param::text(rows), Param::text(deleted),
                               Param::text(now)});
      !st)
    return Unexpected{database_failure("recording the batch", st.error())};
  return {};
}

Expected<AppliedCounts, ApplyFailure> TableSink::apply(const Manifest& manifest,
                                                       const std::filesystem::path& payload,
                                                       const ResourceConfig& resource) {
  for (int attempt = 1;; ++attempt) {
    auto result = apply_once(manifest, payload, resource);
    if (result || result.error().kind != ApplyFailure::Kind::transient ||
        !result.error().again_now || attempt >= kTransientAttempts)
      return result;
    spdlog::warn("{}: batch {}: {}; trying again", resource.id, manifest.batch_id,
                 result.error().rejection.message);
  }
}

Expected<AppliedCounts, ApplyFailure> TableSink::apply_once(const Manifest& manifest,
                                                            const std::filesystem::path& payload,
                                                            const ResourceConfig& resource) {
  auto already = find_applied(manifest.batch_id);
  if (!already) return Unexpected{already.error()};
  if (*already) return **already;

  sql::TableSchema wanted = *manifest.table;
  wanted.name = local_table_name(target_, resource, manifest.table->name);
  if (wanted.name.size() > 63)  // PostgreSQL would cut it short, MySQL refuse it
    return Unexpected{target_unavailable(
        "table name " + wanted.name + " is longer than 63 characters: shorten targets." +
        target_.name + ".table_prefix or set the resource's table")};

  auto exists = connection_->table_exists(lookup_schema_, wanted.name);
  if (!exists) return Unexpected{database_failure("table " + wanted.name, exists.error())};
  std::optional<std::vector<std::string>> existing;
  if (*exists) {
    auto columns = connection_->column_names(lookup_schema_, wanted.name);
    if (!columns) return Unexpected{database_failure("table " + wanted.name, columns.error())};
    existing = std::move(columns).value();
  }
  auto registered = registration(wanted.name);
  if (!registered) return Unexpected{registered.error()};
  (void)connection_->rollback();  // end the catalog reads' transaction before any DDL
  // Never write into a table that belongs to another resource, or that the agent did not create
  // unless the configuration names it: a full batch would empty it.
  if (*registered && (*registered)->resource_id != manifest.resource_id)
    return Unexpected{target_unavailable("table " + wanted.name + " is written by resource " +
                                         (*registered)->resource_id +
                                         "; give this resource its own `table:`")};
  if (existing && !*registered && !resource.table)
    return Unexpected{target_unavailable(
        "table " + wanted.name +
        " exists but fep-agent did not create it; set the resource's `table:` to let it write "
        "there")};
  const std::optional<sql::TableSchema> known = *registered ? (*registered)->schema : std::nullopt;
  auto plan = plan_schema(wanted, known, existing, manifest.mode, resource.on_schema_change);
  if (!plan) return Unexpected{ApplyFailure{ApplyFailure::Kind::reject, plan.error()}};

  // DDL that commits by itself (MySQL, DM) runs before the batch's transaction; elsewhere it is
  // part of it. A rebuild on such a database loads a staging table and swaps it in afterwards.
  const bool early_ddl = dialect_->ddl_commits();
  const bool staged = early_ddl && plan->action == SchemaPlan::Action::rebuild;
  sql::TableSchema into = wanted;
  std::vector<std::string> ddl;
  switch (plan->action) {
    case SchemaPlan::Action::create:
      ddl.push_back(dialect_->create_table(wanted));
      break;
    case SchemaPlan::Action::add_columns:
      for (const auto& c : plan->added)
        if (!existing || !has_column(*existing, c.name))
          ddl.push_back(dialect_->add_column(wanted.name, c));
      break;
    case SchemaPlan::Action::rebuild:
      if (staged) {
        into.name = work_table_name("_fep_new_", wanted.name);
        auto stale = connection_->table_exists(lookup_schema_, into.name);
        if (stale && *stale) ddl.push_back(dialect_->drop_table(into.name));
      } else {
        ddl.push_back(dialect_->drop_table(wanted.name));
      }
      ddl.push_back(dialect_->create_table(into));
      break;
    case SchemaPlan::Action::keep:
      break;
  }
  if (manifest.mode == BatchMode::full && plan->action != SchemaPlan::Action::create &&
      plan->action != SchemaPlan::Action::rebuild)
    ddl.push_back(dialect_->delete_all(wanted.name));  // not DDL, but it opens the transaction

  RollbackGuard guard(connection_.get());
  for (const auto& sql : ddl)
    if (auto st = run("preparing table " + wanted.name, sql); !st) return Unexpected{st.error()};
  // A table created by DDL that commits by itself stays if the batch fails: register it as this
  // resource's at once, or the next attempt would take it for a table of someone else's.
  if (early_ddl && plan->action == SchemaPlan::Action::create) {
    if (auto st = register_table(manifest.resource_id, wanted); !st) return Unexpected{st.error()};
    if (auto st = connection_->commit(); !st)
      return Unexpected{database_failure("commit", st.error())};
  }
  auto counts = load_rows(manifest, payload, into);
  if (!counts) return counts;
  if (!staged)
    if (auto st = record(manifest, wanted, *counts); !st) return Unexpected{st.error()};
  if (auto st = connection_->commit(); !st)
    return Unexpected{database_failure("commit", st.error())};
  guard.committed();
  if (!staged) return counts;

  // The staging table is loaded and committed: swap it in, then record the batch. A crash in
  // between loads the full batch again on restart, which gives the same table.
  const std::string old = work_table_name("_fep_old_", wanted.name);
  auto stale_old = connection_->table_exists(lookup_schema_, old);
  if (stale_old && *stale_old)
    if (auto st = run("rebuilding " + wanted.name, dialect_->drop_table(old)); !st)
      return Unexpected{st.error()};
  for (const auto& sql : dialect_->swap_tables(wanted.name, into.name, old))
    if (auto st = run("swapping in the rebuilt " + wanted.name, sql); !st)
      return Unexpected{st.error()};
  RollbackGuard record_guard(connection_.get());
  if (auto st = record(manifest, wanted, *counts); !st) return Unexpected{st.error()};
  if (auto st = connection_->commit(); !st)
    return Unexpected{database_failure("commit", st.error())};
  record_guard.committed();
  if (auto st = run("dropping the old " + wanted.name, dialect_->drop_table(old)); !st)
    spdlog::warn("{}", st.error().rejection.message);
  return counts;
}

std::unique_ptr<BatchSink> make_sink(const TargetConfig& target) {
  if (target.type == TargetType::folder) return make_folder_sink(target);
  return std::make_unique<TableSink>(target);
}

}  // namespace fep
