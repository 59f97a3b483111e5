#include "agent/sync/table_sink.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "adapters/base/clock.h"
#include "agent/batch/csv_reader.h"
#include "agent/batch/payload_source.h"
#include "agent/sync/row_decoder.h"

namespace fep {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Rolls back unless the batch committed: a failed batch leaves nothing visible.
class RollbackGuard {
 public:
  explicit RollbackGuard(odbc::Connection& c) : connection_(c) {}
  ~RollbackGuard() {
    if (!committed_) (void)connection_.rollback();
  }
  void committed() { committed_ = true; }

 private:
  odbc::Connection& connection_;
  bool committed_ = false;
};

std::vector<odbc::Param> bind_columns(const DecodedRow& row, const sql::TableSchema& schema,
                                      const std::vector<size_t>& columns) {
  std::vector<odbc::Param> params;
  params.reserve(columns.size());
  for (size_t c : columns) {
    if (row.null[c])
      params.push_back(odbc::Param::null_value());
    else if (schema.columns[c].type.kind == sql::ColumnKind::binary_)
      params.push_back(odbc::Param::binary(row.values[c]));
    else
      params.push_back(odbc::Param::text(row.values[c]));
  }
  return params;
}

}  // namespace

TableSink::TableSink(const TargetConfig& target) : target_(target) {}

ApplyFailure TableSink::database_failure(const std::string& what, const odbc::DbError& error) {
  const std::string message = what + ": " + error.message;
  switch (error.error_class) {
    case odbc::ErrorClass::reconnect:
      connection_.reset();
      dialect_.reset();
      bookkeeping_ready_ = false;
      return retry_later(message);
    case odbc::ErrorClass::retry:
      return retry_later(message);
    case odbc::ErrorClass::constraint:
      return reject(RejectCode::constraint_violation, message);
    case odbc::ErrorClass::data:
    case odbc::ErrorClass::statement:
      break;
  }
  return reject(RejectCode::target_error, message);
}

Expected<void, ApplyFailure> TableSink::ensure_connected() {
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
      return Unexpected{retry_later("target " + target_.name + ": " + detected.error().message +
                                    "; set targets." + target_.name + ".dialect")};
    dialect_name = *detected;
  }
  auto dialect = sql::make_dialect(dialect_name, (*conn)->identifier_quote());
  if (!dialect)
    return Unexpected{retry_later("target " + target_.name + ": " + dialect.error().message)};
  connection_ = std::move(conn).value();
  dialect_ = std::move(dialect).value();
  return {};
}

Expected<std::optional<AppliedCounts>, ApplyFailure> TableSink::find_applied(
    const std::string& batch_id) {
  if (auto st = ensure_connected(); !st) return Unexpected{st.error()};
  if (!bookkeeping_ready_) {
    auto exists = connection_->table_exists(std::string(sql::kBookkeepingTable));
    if (!exists) return Unexpected{database_failure("bookkeeping table", exists.error())};
    if (!*exists) {
      if (auto st = connection_->execute(dialect_->create_bookkeeping()); !st)
        return Unexpected{database_failure("creating the bookkeeping table", st.error())};
      if (auto st = connection_->commit(); !st)
        return Unexpected{database_failure("creating the bookkeeping table", st.error())};
    }
    bookkeeping_ready_ = true;
  }
  auto stmt = connection_->prepare(dialect_->select_bookkeeping());
  if (!stmt) return Unexpected{database_failure("bookkeeping lookup", stmt.error())};
  if (auto st = (*stmt)->execute({odbc::Param::text(batch_id)}); !st)
    return Unexpected{database_failure("bookkeeping lookup", st.error())};
  auto row = (*stmt)->fetch();
  if (!row) return Unexpected{database_failure("bookkeeping lookup", row.error())};
  std::optional<AppliedCounts> found;
  if (*row) {
    auto rows = (*stmt)->get_text(0);
    auto deleted = (*stmt)->get_text(1);
    if (!rows || !deleted)
      return Unexpected{
          database_failure("bookkeeping lookup", !rows ? rows.error() : deleted.error())};
    found =
        AppliedCounts{std::stoll(rows->value_or("0")), std::stoll(deleted->value_or("0")), true};
  }
  (void)connection_->rollback();  // ends the read transaction
  return found;
}

Expected<AppliedCounts, ApplyFailure> TableSink::apply(const Manifest& manifest,
                                                       const std::filesystem::path& payload,
                                                       const ResourceConfig& resource) {
  auto already = find_applied(manifest.batch_id);
  if (!already) return Unexpected{already.error()};
  if (*already) return **already;

  sql::TableSchema schema = *manifest.table;
  if (resource.table) schema.name = *resource.table;

  auto exists = connection_->table_exists(schema.name);
  if (!exists) return Unexpected{database_failure("table " + schema.name, exists.error())};
  if (*exists) {
    auto columns = connection_->column_names(schema.name);
    if (!columns) return Unexpected{database_failure("table " + schema.name, columns.error())};
    std::set<std::string> have;
    for (const auto& c : *columns) have.insert(lower(c));
    for (const auto& c : schema.columns)
      if (!have.count(lower(c.name)))
        return Unexpected{reject(RejectCode::schema_mismatch,
                                 "the local table " + schema.name + " has no column " + c.name)};
  }
  return load(manifest, payload, schema, *exists);
}

Expected<AppliedCounts, ApplyFailure> TableSink::load(const Manifest& manifest,
                                                      const std::filesystem::path& payload,
                                                      const sql::TableSchema& schema,
                                                      bool table_exists) {
  auto source = open_payload(payload, manifest.payload.compression, manifest.payload.encoding);
  if (!source) return Unexpected{reject(RejectCode::payload_invalid, source.error().message)};
  CsvReader reader(**source);
  CsvRecord record;
  auto got = reader.next(record);
  if (!got) return Unexpected{reject(RejectCode::payload_invalid, got.error().message)};
  if (!*got) return Unexpected{reject(RejectCode::payload_invalid, "the payload has no header")};
  auto decoder = RowDecoder::from_header(record, schema, manifest.mode);
  if (!decoder) return Unexpected{ApplyFailure{false, decoder.error()}};

  odbc::Connection& db = *connection_;
  RollbackGuard guard(db);
  auto fail_db = [&](const std::string& what, const odbc::DbError& e) {
    return Unexpected{database_failure(what, e)};
  };
  if (!table_exists) {
    if (auto created = db.execute(dialect_->create_table(schema)); !created)
      return fail_db("creating table " + schema.name, created.error());
  }
  if (manifest.mode == BatchMode::full)
    if (auto st = db.execute(dialect_->delete_all(schema.name)); !st)
      return fail_db("emptying table " + schema.name, st.error());

  std::vector<std::string> names;
  std::vector<size_t> all_columns;
  for (size_t c = 0; c < schema.columns.size(); ++c) {
    names.push_back(schema.columns[c].name);
    all_columns.push_back(c);
  }
  auto write = db.prepare(manifest.mode == BatchMode::full ? dialect_->insert(schema.name, names)
                                                           : dialect_->upsert(schema, names));
  if (!write) return fail_db("preparing the insert", write.error());
  std::unique_ptr<odbc::Statement> remove;
  if (manifest.mode == BatchMode::incremental) {
    auto prepared = db.prepare(dialect_->delete_by_key(schema));
    if (!prepared) return fail_db("preparing the delete", prepared.error());
    remove = std::move(prepared).value();
  }

  AppliedCounts counts;
  DecodedRow row;
  for (;;) {
    got = reader.next(record);
    if (!got) return Unexpected{reject(RejectCode::payload_invalid, got.error().message)};
    if (!*got) break;
    if (auto st = decoder->decode(record, row); !st)
      return Unexpected{ApplyFailure{false, st.error()}};
    const bool is_delete = row.op == DecodedRow::Op::remove;
    auto params = bind_columns(row, schema, is_delete ? decoder->key_columns() : all_columns);
    auto st = (is_delete ? remove : *write)->execute(params);
    if (!st) return fail_db("line " + std::to_string(record.line), st.error());
    ++(is_delete ? counts.deleted : counts.rows);
  }

  const int64_t records = counts.rows + counts.deleted;
  if (static_cast<uint64_t>(records) != manifest.row_count)
    return Unexpected{
        reject(RejectCode::payload_invalid, "the payload has " + std::to_string(records) +
                                                " records but the manifest's row_count is " +
                                                std::to_string(manifest.row_count))};

  auto mark = db.prepare(dialect_->insert_bookkeeping());
  if (!mark) return fail_db("recording the batch", mark.error());
  const std::string seq = std::to_string(manifest.seq), rows = std::to_string(counts.rows),
                    deleted = std::to_string(counts.deleted), now = rfc3339_now();
  if (auto st = (*mark)->execute({odbc::Param::text(manifest.batch_id),
                                  odbc::Param::text(manifest.resource_id), odbc::Param::text(seq),
                                  odbc::Param::text(rows), odbc::Param::text(deleted),
                                  odbc::Param::text(now)});
      !st)
    return fail_db("recording the batch", st.error());
  if (auto st = db.commit(); !st) return fail_db("commit", st.error());
  guard.committed();
  return counts;
}

}  // namespace fep
