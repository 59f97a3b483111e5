// Operator actions on the state store, and the queries behind `history` and the backlog figures.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "adapters/base/clock.h"
#include "agent/store/audit_log.h"
#include "agent/store/state_store.h"

namespace fep::store {
namespace {

std::string describe(const HeldBatch& b) {
  return "batch " + b.batch_id + " (seq " + std::to_string(b.seq) + ")";
}

}  // namespace

Status StateStore::batch_started(const std::string& batch_id, int64_t payload_bytes) {
  return db_.run(
      "UPDATE batches SET started_at = coalesce(started_at, ?), payload_bytes = ?, "
      "updated_at = ? WHERE batch_id = ?",
      {rfc3339_now(), payload_bytes, rfc3339_now(), batch_id});
}

Status StateStore::hold_batch(const std::string& batch_id, const std::string& resource_id,
                              const std::string& code, const std::string& message) {
  Transaction tx(db_);
  if (!tx.begun()) return tx.begun();
  const std::string now = rfc3339_now();
  auto st = db_.run(
      "UPDATE batches SET state = 'failed', error_code = ?, error_message = ?, updated_at = ? "
      "WHERE batch_id = ? AND state NOT IN ('applied', 'rejected', 'superseded')",
      {code, message, now, batch_id});
  if (!st) return st;
  const std::string why = "batch " + batch_id + " failed: " + code + ": " + message;
  st = db_.run(
      "UPDATE resources SET state = 'blocked', last_error = ?, updated_at = ? "
      "WHERE resource_id = ?",
      {why, now, resource_id});
  if (!st) return st;
  st = db_.run(
      "INSERT INTO events (at, level, resource_id, batch_id, message) VALUES (?, 'error', ?, ?, ?)",
      {now, resource_id, batch_id, why + " (held for the operator: retry, skip or resync)"});
  if (!st) return st;
  st = append_audit(db_, {"batch.held", "agent", resource_id, batch_id,
                          audit_detail({{"error_code", code}, {"message", message}})});
  if (!st) return st;
  return tx.commit();
}

Expected<std::optional<HeldBatch>> StateStore::blocking_batch(const std::string& resource_id) {
  auto row = resource(resource_id);
  if (!row) return Unexpected{row.error()};
  if (!*row) return fail("resource " + resource_id + " is not in the state database yet");
  if ((*row)->state != kBlocked) return std::optional<HeldBatch>{};
  std::optional<HeldBatch> out;
  auto take = [&](const Row& r) {
    out = HeldBatch{r.text(0), r.integer(1), r.text(2), r.optional_text(3), r.optional_text(4)};
  };
  const char* kColumns = "SELECT batch_id, seq, state, error_code, error_message FROM batches ";
  auto st = db_.query(
      std::string(kColumns) + "WHERE resource_id = ? AND state = 'failed' ORDER BY seq LIMIT 1",
      {resource_id}, take);
  if (!st) return Unexpected{st.error()};
  if (out) return out;
  st = db_.query(std::string(kColumns) +
                     "WHERE resource_id = ? AND state = 'rejected' ORDER BY seq DESC LIMIT 1",
                 {resource_id}, take);
  if (!st) return Unexpected{st.error()};
  return out;
}

Expected<HeldBatch> StateStore::retry(const std::string& resource_id, const std::string& actor) {
  Transaction tx(db_);
  if (!tx.begun()) return Unexpected{tx.begun().error()};
  auto blocking = blocking_batch(resource_id);
  if (!blocking) return Unexpected{blocking.error()};
  if (!*blocking) return fail("resource " + resource_id + " is not blocked");
  const HeldBatch held = **blocking;
  if (held.state != "failed")
    return fail(describe(held) +
                " was rejected and its receipt is sent: the platform keeps it, so it cannot be "
                "applied now. Use `fep-agent resync " +
                resource_id + "` to wait for the next full batch, or `fep-agent skip " +
                resource_id + " --batch " + held.batch_id + " --reason TEXT` to go on after it");
  const std::string now = rfc3339_now();
  auto st = db_.run(
      "UPDATE batches SET state = 'listed', error_code = NULL, error_message = NULL, "
      "updated_at = ? WHERE batch_id = ?",
      {now, held.batch_id});
  if (!st) return Unexpected{st.error()};
  st = db_.run(
      "UPDATE resources SET state = 'idle', last_error = NULL, updated_at = ? "
      "WHERE resource_id = ?",
      {now, resource_id});
  if (!st) return Unexpected{st.error()};
  st = db_.run(
      "INSERT INTO events (at, level, resource_id, batch_id, message) VALUES (?, 'warn', ?, ?, ?)",
      {now, resource_id, held.batch_id, describe(held) + " to be tried again (" + actor + ")"});
  if (!st) return Unexpected{st.error()};
  st = append_audit(
      db_, {"operator.retry", actor, resource_id, held.batch_id,
            audit_detail({{"seq", held.seq}, {"error_code", held.error_code.value_or("")}})});
  if (!st) return Unexpected{st.error()};
  if (auto c = tx.commit(); !c) return Unexpected{c.error()};
  return held;
}

Status StateStore::skipped(const std::string& resource_id, const std::string& batch_id,
                           const std::string& reason, const std::string& actor) {
  Transaction tx(db_);
  if (!tx.begun()) return tx.begun();
  const std::string now = rfc3339_now();
  auto st = db_.run(
      "UPDATE resources SET state = 'idle', last_error = NULL, updated_at = ?, "
      "last_seq = max(coalesce(last_seq, 0), (SELECT seq FROM batches WHERE batch_id = ?)) "
      "WHERE resource_id = ? AND state = 'blocked'",
      {now, batch_id, resource_id});
  if (!st) return st;
  if (db_.changes() == 0) return fail(resource_id + " is not blocked (any more): nothing skipped");
  st = db_.run(
      "INSERT INTO events (at, level, resource_id, batch_id, message) VALUES (?, 'warn', ?, ?, ?)",
      {now, resource_id, batch_id,
       "batch " + batch_id + " skipped (" + actor + "): " + reason + "; syncing goes on after it"});
  if (!st) return st;
  st = append_audit(
      db_, {"operator.skip", actor, resource_id, batch_id, audit_detail({{"reason", reason}})});
  if (!st) return st;
  return tx.commit();
}

Status StateStore::request_resync(const std::string& resource_id, const std::string& actor) {
  Transaction tx(db_);
  if (!tx.begun()) return tx.begun();
  const std::string now = rfc3339_now();
  auto st = db_.run(
      "UPDATE resources SET resync = 1, state = 'idle', last_error = NULL, updated_at = ? "
      "WHERE resource_id = ?",
      {now, resource_id});
  if (!st) return st;
  if (db_.changes() == 0)
    return fail("resource " + resource_id + " is not in the state database yet");
  st = db_.run("INSERT INTO events (at, level, resource_id, message) VALUES (?, 'warn', ?, ?)",
               {now, resource_id,
                "resync requested (" + actor +
                    "): no incremental batch is applied until the next full one"});
  if (!st) return st;
  st = append_audit(db_, {"operator.resync", actor, resource_id, std::nullopt, "{}"});
  if (!st) return st;
  return tx.commit();
}

void Backlog::add_waiting(const std::optional<std::string>& created_at) {
  ++waiting_batches;
  const auto at = created_at ? parse_rfc3339(*created_at) : std::nullopt;
  if (!at) return;
  const auto oldest = oldest_waiting_at ? parse_rfc3339(*oldest_waiting_at) : std::nullopt;
  if (!oldest || *at < *oldest) oldest_waiting_at = created_at;
}

std::optional<int64_t> Backlog::lag_seconds(int64_t now) const {
  if (waiting_batches == 0) return 0;
  const auto published = oldest_waiting_at ? parse_rfc3339(*oldest_waiting_at) : std::nullopt;
  if (!published) return std::nullopt;
  return std::max<int64_t>(0, now - *published);
}

Expected<Backlog> StateStore::backlog(const std::string& resource_id) {
  Backlog out;
  auto st = db_.query(
      "SELECT seq, created_at FROM batches WHERE resource_id = ? ORDER BY seq DESC LIMIT 1",
      {resource_id}, [&](const Row& r) {
        out.newest_listed_seq = r.integer(0);
        out.newest_listed_at = r.optional_text(1);
      });
  if (st)
    st = db_.query(
        "SELECT created_at FROM batches WHERE resource_id = ? AND state NOT IN "
        "('applied', 'rejected', 'superseded')",
        {resource_id}, [&](const Row& r) { out.add_waiting(r.optional_text(0)); });
  if (st)
    st = db_.query(
        "SELECT coalesce(sum(state = 'pending'), 0), coalesce(sum(state = 'refused'), 0) "
        "FROM outbox WHERE resource_id = ?",
        {resource_id}, [&](const Row& r) {
          out.pending_receipts = r.integer(0);
          out.refused_receipts = r.integer(1);
        });
  if (st)
    st = db_.query("SELECT resync FROM resources WHERE resource_id = ?", {resource_id},
                   [&](const Row& r) { out.resync_requested = r.integer(0) != 0; });
  if (!st) return Unexpected{st.error()};
  return out;
}

std::optional<int64_t> BatchHistoryRow::duration_seconds() const {
  return seconds_between(started_at, outcome_at);
}

Expected<std::vector<BatchHistoryRow>> StateStore::history(
    const std::optional<std::string>& resource_id, int limit) {
  std::vector<BatchHistoryRow> out;
  std::string sql =
      "SELECT b.batch_id, b.resource_id, b.seq, b.mode, b.state, b.rows, b.deleted, "
      "b.payload_bytes, b.created_at, b.started_at, b.outcome_at, b.error_code, "
      "b.error_message, o.state, o.last_http_status, b.updated_at FROM batches b "
      "LEFT JOIN outbox o ON o.batch_id = b.batch_id ";
  std::vector<SqlValue> params;
  if (resource_id) {
    sql += "WHERE b.resource_id = ? ORDER BY b.seq DESC ";
    params.emplace_back(*resource_id);
  } else {
    sql += "ORDER BY b.rowid DESC ";
  }
  sql += "LIMIT ?";
  params.emplace_back(int64_t{limit});
  auto st = db_.query(sql, params, [&](const Row& r) {
    BatchHistoryRow h;
    h.batch_id = r.text(0);
    h.resource_id = r.text(1);
    h.seq = r.integer(2);
    h.mode = r.text(3);
    h.state = r.text(4);
    h.rows = r.integer(5);
    h.deleted = r.integer(6);
    h.payload_bytes = r.optional_integer(7);
    h.created_at = r.optional_text(8);
    h.started_at = r.optional_text(9);
    h.outcome_at = r.optional_text(10);
    h.error_code = r.optional_text(11);
    h.error_message = r.optional_text(12);
    h.receipt_state = r.optional_text(13);
    h.receipt_http_status = r.optional_integer(14);
    h.updated_at = r.text(15);
    out.push_back(std::move(h));
  });
  if (!st) return Unexpected{st.error()};
  return out;
}

Expected<int64_t> StateStore::prune_events(const std::string& before) {
  Transaction tx(db_);
  if (!tx.begun()) return Unexpected{tx.begun().error()};
  // julianday() reads the offsets, so rows written under another time zone compare right.
  auto st = db_.run("DELETE FROM events WHERE julianday(at) < julianday(?)", {before});
  if (!st) return Unexpected{st.error()};
  const int64_t removed = db_.changes();
  if (removed > 0) {
    st = append_audit(db_, {"housekeeping.events_deleted", "agent", std::nullopt, std::nullopt,
                            audit_detail({{"before", before}, {"count", removed}})});
    if (!st) return Unexpected{st.error()};
  }
  if (auto done = tx.commit(); !done) return Unexpected{done.error()};
  return removed;
}

}  // namespace fep::store
