#include "agent/store/state_store.h"

#include <nlohmann/json.hpp>

#include <iterator>

#include "adapters/base/clock.h"
#include "agent/store/migrations.h"

namespace fep::store {
namespace {

constexpr int kLatest = static_cast<int>(std::size(kMigrations));
static_assert(kLatest == StateStore::kSchemaVersion);

SqlValue opt(const std::optional<std::string>& s) {
  return s ? SqlValue(*s) : SqlValue(nullptr);
}

constexpr const char* kResourceColumns =
    "resource_id, name, kind, provider, share_type, subscription_status, last_seq, "
    "last_applied_at, rows, state, last_error";

ResourceRow resource_from(const Row& r) {
  ResourceRow out;
  out.subscription = {r.text(0), r.text(1), r.text(2), r.text(3), r.text(4), r.text(5)};
  out.last_seq = r.optional_integer(6);
  out.last_applied_at = r.optional_text(7);
  out.rows = r.integer(8);
  out.state = r.text(9);
  out.last_error = r.optional_text(10);
  return out;
}

// What the audit log records of a batch's outcome: what the receipt tells the platform.
std::string outcome_detail(const BatchOutcome& o) {
  nlohmann::json detail{{"seq", o.seq}};
  auto receipt = nlohmann::json::parse(o.receipt_body, nullptr, false);
  if (receipt.is_object() && receipt.contains("counts") && receipt["counts"].is_object())
    detail["counts"] = receipt["counts"];
  else
    detail["counts"] = {{"rows", o.rows}, {"deleted", o.deleted}};
  if (o.error_code)
    detail["error"] = {{"code", *o.error_code}, {"message", o.error_message.value_or("")}};
  if (receipt.is_object() && receipt.contains("payload_sha256") &&
      receipt["payload_sha256"].is_string())
    detail["payload_sha256"] = receipt["payload_sha256"];
  detail["receipt_id"] = o.receipt_id;
  return audit_detail(detail);
}

// receipt.accepted or receipt.refused, for the batch and resource the receipt is about.
Status audit_receipt(Database& db, const std::string& action, const std::string& receipt_id,
                     nlohmann::json detail) {
  std::optional<std::string> resource_id, batch_id;
  auto st = db.query("SELECT resource_id, batch_id FROM outbox WHERE receipt_id = ?", {receipt_id},
                     [&](const Row& r) {
                       resource_id = r.text(0);
                       batch_id = r.text(1);
                     });
  if (!st) return st;
  detail["receipt_id"] = receipt_id;
  return append_audit(db, {action, "agent", resource_id, batch_id, audit_detail(detail)});
}

}  // namespace

Expected<StateStore> StateStore::open(const std::filesystem::path& path) {
  auto db = Database::open(path);
  if (!db) return Unexpected{db.error()};
  StateStore store(std::move(*db));
  // WAL lets `status` read while a sync writes; FULL makes every commit survive power loss.
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto st = store.db_.exec(pragma); !st) return Unexpected{st.error()};
  }
  if (auto st = store.migrate(); !st) return Unexpected{st.error()};
  return store;
}

Expected<int> StateStore::schema_version() {
  int version = 0;
  auto st = db_.query("PRAGMA user_version", {},
                      [&](const Row& r) { version = static_cast<int>(r.integer(0)); });
  if (!st) return Unexpected{st.error()};
  return version;
}

Status StateStore::migrate() {
  auto newer = [](int version) {
    return fail("state database schema version " + std::to_string(version) +
                " is newer than this agent supports (" + std::to_string(kLatest) +
                "): was it written by a newer fep-agent?");
  };
  auto version = schema_version();
  if (!version) return Unexpected{version.error()};
  if (*version > kLatest) return newer(*version);
  while (*version < kLatest) {
    Transaction tx(db_);
    if (!tx.begun()) return tx.begun();
    // Read again under the write lock: a command started beside the daemon may have migrated
    // the database between the first read and this transaction.
    version = schema_version();
    if (!version) return Unexpected{version.error()};
    if (*version >= kLatest) return *version > kLatest ? newer(*version) : Status{};
    const int v = *version;
    if (auto st = db_.exec(std::string(kMigrations[v])); !st) return st;
    if (auto st = db_.exec("PRAGMA user_version = " + std::to_string(v + 1)); !st) return st;
    if (auto st = tx.commit(); !st) return st;
    *version = v + 1;
  }
  return {};
}

Status StateStore::upsert_subscription(const Subscription& s) {
  return db_.run(
      "INSERT INTO resources (resource_id, name, kind, provider, share_type, "
      "subscription_status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(resource_id) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
      "provider = excluded.provider, share_type = excluded.share_type, "
      "subscription_status = excluded.subscription_status, updated_at = excluded.updated_at",
      {s.resource_id, s.name, s.kind, s.provider, s.share_type, s.status, rfc3339_now()});
}

Expected<std::optional<ResourceRow>> StateStore::resource(const std::string& resource_id) {
  std::optional<ResourceRow> out;
  auto st =
      db_.query(std::string("SELECT ") + kResourceColumns + " FROM resources WHERE resource_id = ?",
                {resource_id}, [&](const Row& r) { out = resource_from(r); });
  if (!st) return Unexpected{st.error()};
  return out;
}

Expected<std::vector<ResourceRow>> StateStore::resources() {
  std::vector<ResourceRow> out;
  auto st =
      db_.query(std::string("SELECT ") + kResourceColumns + " FROM resources ORDER BY resource_id",
                {}, [&](const Row& r) { out.push_back(resource_from(r)); });
  if (!st) return Unexpected{st.error()};
  return out;
}

Status StateStore::set_resource_state(const std::string& resource_id, std::string_view state,
                                      const std::optional<std::string>& error) {
  // A blocked resource stays blocked, whatever happens next, until an operator unblocks it:
  // otherwise a later run could apply the batch after the one that was rejected.
  return db_.run(
      "INSERT INTO resources (resource_id, state, last_error, updated_at) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(resource_id) DO UPDATE SET "
      "state = CASE WHEN resources.state = 'blocked' THEN 'blocked' ELSE excluded.state END, "
      "last_error = CASE WHEN resources.state = 'blocked' THEN resources.last_error "
      "ELSE excluded.last_error END, updated_at = excluded.updated_at",
      {resource_id, std::string(state), opt(error), rfc3339_now()});
}

Expected<std::optional<int64_t>> StateStore::unblock(const std::string& resource_id,
                                                     const std::string& actor) {
  Transaction tx(db_);
  if (!tx.begun()) return Unexpected{tx.begun().error()};
  std::optional<int64_t> skipped;
  std::optional<std::string> skipped_batch;
  auto st = db_.query(
      "SELECT seq, batch_id FROM batches WHERE resource_id = ? AND state = 'rejected' "
      "ORDER BY seq DESC LIMIT 1",
      {resource_id}, [&](const Row& r) {
        skipped = r.integer(0);
        skipped_batch = r.text(1);
      });
  if (!st) return Unexpected{st.error()};
  // The rejected batch keeps its receipt; syncing goes on after it.
  st = db_.run(
      "UPDATE resources SET state = 'idle', last_error = NULL, "
      "last_seq = max(coalesce(last_seq, 0), coalesce(?, 0)), updated_at = ? "
      "WHERE resource_id = ? AND state = 'blocked'",
      {skipped ? SqlValue(*skipped) : SqlValue(nullptr), rfc3339_now(), resource_id});
  if (!st) return Unexpected{st.error()};
  if (db_.changes() == 0) return fail("resource " + resource_id + " is not blocked");
  st = db_.run("INSERT INTO events (at, level, resource_id, message) VALUES (?, 'warn', ?, ?)",
               {rfc3339_now(), resource_id,
                "unblocked by an operator" +
                    (skipped ? "; syncing goes on after seq " + std::to_string(*skipped) : "")});
  if (!st) return Unexpected{st.error()};
  nlohmann::json detail = nlohmann::json::object();
  if (skipped) detail["after_seq"] = *skipped;
  st = append_audit(db_,
                    {"operator.unblock", actor, resource_id, skipped_batch, audit_detail(detail)});
  if (!st) return Unexpected{st.error()};
  if (auto c = tx.commit(); !c) return Unexpected{c.error()};
  return skipped;
}

Status StateStore::record_listed(const BatchRow& b) {
  Transaction tx(db_);
  if (!tx.begun()) return tx.begun();
  auto st = db_.run(
      "INSERT INTO batches (batch_id, resource_id, seq, mode, state, created_at, updated_at) "
      "VALUES (?, ?, ?, ?, 'listed', ?, ?) ON CONFLICT(batch_id) DO NOTHING",
      {b.batch_id, b.resource_id, b.seq, b.mode, opt(b.created_at), rfc3339_now()});
  if (!st) return st;
  if (db_.changes() > 0) {  // seen for the first time
    nlohmann::json detail{{"seq", b.seq}, {"mode", b.mode}};
    if (b.created_at) detail["created_at"] = *b.created_at;
    st = append_audit(db_,
                      {"batch.received", "agent", b.resource_id, b.batch_id, audit_detail(detail)});
    if (!st) return st;
  }
  return tx.commit();
}

Expected<std::optional<BatchRow>> StateStore::batch(const std::string& batch_id) {
  std::optional<BatchRow> out;
  auto st = db_.query(
      "SELECT batch_id, resource_id, seq, mode, state, created_at FROM batches "
      "WHERE batch_id = ?",
      {batch_id}, [&](const Row& r) {
        out =
            BatchRow{r.text(0), r.text(1), r.integer(2), r.text(3), r.text(4), r.optional_text(5)};
      });
  if (!st) return Unexpected{st.error()};
  return out;
}

Status StateStore::set_batch_state(const std::string& batch_id, std::string_view state) {
  // An outcome is final: never turn an applied or rejected batch back into a working state.
  return db_.run(
      "UPDATE batches SET state = ?, updated_at = ? WHERE batch_id = ? AND state NOT IN "
      "('applied', 'rejected', 'superseded')",
      {std::string(state), rfc3339_now(), batch_id});
}

Status StateStore::record_outcome(const BatchOutcome& o) {
  Transaction tx(db_);
  if (!tx.begun()) return tx.begun();
  auto existing = batch(o.batch_id);
  if (!existing) return Unexpected{existing.error()};
  if (o.only_from_state && (!*existing || (*existing)->state != *o.only_from_state))
    return fail("batch " + o.batch_id + " is no longer " + *o.only_from_state +
                (*existing ? " (now " + (*existing)->state + ")" : std::string()) +
                ": nothing recorded");
  if (*existing && ((*existing)->state == "applied" || (*existing)->state == "rejected" ||
                    (*existing)->state == "superseded"))
    return {};

  const std::string now = rfc3339_now();
  Status st = db_.run(
      "INSERT INTO batches (batch_id, resource_id, seq, mode, state, rows, deleted, error_code, "
      "error_message, outcome_at, updated_at) VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(batch_id) DO UPDATE SET state = excluded.state, rows = excluded.rows, "
      "deleted = excluded.deleted, error_code = excluded.error_code, "
      "error_message = excluded.error_message, outcome_at = excluded.outcome_at, "
      "updated_at = excluded.updated_at",
      {o.batch_id, o.resource_id, o.seq, o.status, o.rows, o.deleted, opt(o.error_code),
       opt(o.error_message), o.outcome_at, now});
  if (!st) return st;

  if (o.status == "rejected") {
    std::string why = *o.error_code + ": " + o.error_message.value_or("");
    st = db_.run(
        "UPDATE resources SET state = ?, last_error = ?, updated_at = ? "
        "WHERE resource_id = ?",
        {std::string(kBlocked), "batch " + o.batch_id + " rejected: " + why, now, o.resource_id});
  } else if (o.status == "applied") {
    st = db_.run(
        "UPDATE resources SET last_seq = ?, last_applied_at = ?, rows = ?, "
        "last_error = NULL, updated_at = ?, resync = CASE WHEN (SELECT mode FROM batches "
        "WHERE batch_id = ?) = 'full' THEN 0 ELSE resync END WHERE resource_id = ?",
        {o.seq, o.outcome_at, o.rows, now, o.batch_id, o.resource_id});
  } else {
    st = db_.run("UPDATE resources SET last_seq = ?, updated_at = ? WHERE resource_id = ?",
                 {o.seq, now, o.resource_id});
  }
  if (!st) return st;

  st = db_.run(
      "INSERT INTO outbox (receipt_id, batch_id, resource_id, body, created_at, "
      "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
      {o.receipt_id, o.batch_id, o.resource_id, o.receipt_body, now, now});
  if (!st) return st;

  std::string message = "batch " + o.batch_id + " (seq " + std::to_string(o.seq) + ") " + o.status;
  if (o.status == "applied")
    message += ": " + std::to_string(o.rows) + " rows, " + std::to_string(o.deleted) + " deleted";
  if (o.error_code) message += ": " + *o.error_code + ": " + o.error_message.value_or("");
  st = db_.run(
      "INSERT INTO events (at, level, resource_id, batch_id, message) "
      "VALUES (?, ?, ?, ?, ?)",
      {now, o.status == "rejected" ? "error" : "info", o.resource_id, o.batch_id, message});
  if (!st) return st;
  st = append_audit(db_,
                    {"batch." + o.status, "agent", o.resource_id, o.batch_id, outcome_detail(o)});
  if (!st) return st;
  return tx.commit();
}

Expected<std::vector<OutboxEntry>> StateStore::outbox(std::optional<std::string_view> state) {
  std::vector<OutboxEntry> out;
  std::string sql =
      "SELECT receipt_id, batch_id, resource_id, body, state, attempts, last_http_status, "
      "last_error FROM outbox";
  std::vector<SqlValue> params;
  if (state) {
    sql += " WHERE state = ?";
    params.emplace_back(std::string(*state));
  }
  sql += " ORDER BY created_at, rowid";
  auto st = db_.query(sql, params, [&](const Row& r) {
    out.push_back({r.text(0), r.text(1), r.text(2), r.text(3), r.text(4), r.integer(5),
                   r.optional_integer(6), r.optional_text(7)});
  });
  if (!st) return Unexpected{st.error()};
  return out;
}

Expected<bool> StateStore::receipt_delivered(const std::string& receipt_id, long http_status) {
  Transaction tx(db_);
  if (!tx.begun()) return Unexpected{tx.begun().error()};
  auto st = db_.run(
      "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, "
      "last_http_status = ?, last_error = NULL, updated_at = ? "
      "WHERE receipt_id = ? AND state = 'pending'",
      {int64_t{http_status}, rfc3339_now(), receipt_id});
  if (!st) return Unexpected{st.error()};
  const bool recorded = db_.changes() > 0;
  if (recorded) {
    st = audit_receipt(db_, "receipt.accepted", receipt_id, {{"http_status", http_status}});
    if (!st) return Unexpected{st.error()};
  }
  if (auto done = tx.commit(); !done) return Unexpected{done.error()};
  return recorded;
}

Status StateStore::receipt_refused(const std::string& receipt_id, long http_status,
                                   const std::string& why) {
  Transaction tx(db_);
  if (!tx.begun()) return tx.begun();
  // Only a pending receipt: another thread may have had the same one accepted meanwhile.
  auto st = db_.run(
      "UPDATE outbox SET state = 'refused', attempts = attempts + 1, "
      "last_http_status = ?, last_error = ?, updated_at = ? "
      "WHERE receipt_id = ? AND state = 'pending'",
      {int64_t{http_status}, why, rfc3339_now(), receipt_id});
  if (!st) return st;
  if (db_.changes() == 0) return tx.commit();
  st = db_.run(
      "INSERT INTO events (at, level, resource_id, batch_id, message) "
      "SELECT ?, 'error', resource_id, batch_id, ? FROM outbox WHERE receipt_id = ?",
      {rfc3339_now(),
       "receipt refused by the exchange (HTTP " + std::to_string(http_status) + "): " + why,
       receipt_id});
  if (!st) return st;
  if (db_.changes() > 0) {
    st = audit_receipt(db_, "receipt.refused", receipt_id,
                       {{"http_status", http_status}, {"reason", why}});
    if (!st) return st;
  }
  return tx.commit();
}

Status StateStore::receipt_attempt_failed(const std::string& receipt_id, const std::string& why) {
  return db_.run(
      "UPDATE outbox SET attempts = attempts + 1, last_error = ?, updated_at = ? "
      "WHERE receipt_id = ? AND state = 'pending'",
      {why, rfc3339_now(), receipt_id});
}

Status StateStore::add_event(std::string_view level, const std::optional<std::string>& resource_id,
                             const std::optional<std::string>& batch_id,
                             const std::string& message) {
  return db_.run(
      "INSERT INTO events (at, level, resource_id, batch_id, message) "
      "VALUES (?, ?, ?, ?, ?)",
      {rfc3339_now(), std::string(level), opt(resource_id), opt(batch_id), message});
}

Expected<std::vector<Event>> StateStore::recent_events(int limit) {
  std::vector<Event> out;
  auto st = db_.query(
      "SELECT id, at, level, resource_id, batch_id, message FROM events ORDER BY id DESC LIMIT ?",
      {int64_t{limit}}, [&](const Row& r) {
        out.push_back({r.integer(0), r.text(1), r.text(2), r.optional_text(3), r.optional_text(4),
                       r.text(5)});
      });
  if (!st) return Unexpected{st.error()};
  return out;
}

Status StateStore::audit(const AuditRecord& record) {
  Transaction tx(db_);
  if (!tx.begun()) return tx.begun();
  if (auto st = append_audit(db_, record); !st) return st;
  return tx.commit();
}

Expected<AuditHead> StateStore::audit_head() {
  return store::audit_head(db_);
}

}  // namespace fep::store
