#include "agent/status/state_reader.h"

#include <algorithm>
#include <map>

#include "agent/status/render.h"

namespace fep::status {
namespace {

using store::Row;
using store::SqlValue;

// Ends a read transaction however the reading ends.
class ReadTransaction {
 public:
  explicit ReadTransaction(store::Database& db) : db_(db), begun_(db.exec("BEGIN")) {}
  ~ReadTransaction() {
    if (begun_) (void)db_.exec("COMMIT");
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  const Status& begun() const { return begun_; }

 private:
  store::Database& db_;
  Status begun_;
};

// Schema 1 databases (an agent not yet upgraded) lack the batch timings, sizes and the resync
// flag: those read as NULL and 0.
std::string batch_select(int version) {
  const bool v2 = version >= 2;
  return std::string(
             "SELECT b.batch_id, b.resource_id, b.seq, b.mode, b.state, b.rows, b.deleted, "
             "b.error_code, b.error_message, b.outcome_at, b.updated_at, ") +
         (v2 ? "b.payload_bytes, b.created_at, b.started_at, " : "NULL, NULL, NULL, ") +
         "o.state, o.last_http_status FROM batches b "
         "LEFT JOIN outbox o ON o.batch_id = b.batch_id ";
}

BatchEntry batch_from(const Row& r) {
  BatchEntry b;
  b.batch_id = r.text(0);
  b.resource_id = r.text(1);
  b.seq = r.integer(2);
  b.mode = r.text(3);
  b.state = r.text(4);
  b.rows = r.integer(5);
  b.deleted = r.integer(6);
  b.error_code = r.optional_text(7);
  b.error_message = r.optional_text(8);
  b.outcome_at = r.optional_text(9);
  b.updated_at = r.text(10);
  b.payload_bytes = r.optional_integer(11);
  b.created_at = r.optional_text(12);
  b.started_at = r.optional_text(13);
  b.receipt_state = r.optional_text(14);
  b.receipt_http_status = r.optional_integer(15);
  return b;
}

}  // namespace

Expected<StateReader> StateReader::open(const std::filesystem::path& state_db) {
  auto db = store::Database::open_read_only(state_db);
  if (!db) return Unexpected{db.error()};
  StateReader reader(std::move(db).value());
  int version = 0;
  if (auto st = reader.query("PRAGMA user_version", {},
                             [&](const Row& r) { version = static_cast<int>(r.integer(0)); });
      !st)
    return Unexpected{st.error()};
  if (version < 1)
    return fail("the state database " + state_db.string() +
                " has no schema yet: has fep-agent run with this state_dir?");
  return reader;
}

Expected<Snapshot> StateReader::snapshot(const std::string& since_date, int events) {
  Snapshot out;
  ReadTransaction tx(db_);
  if (!tx.begun()) return Unexpected{tx.begun().error()};
  if (auto st = read_snapshot(out, since_date, events); !st) return Unexpected{st.error()};
  return out;
}

Status StateReader::read_snapshot(Snapshot& out, const std::string& since_date, int events) {
  Status st = query("PRAGMA user_version", {},
                    [&](const Row& r) { out.schema_version = static_cast<int>(r.integer(0)); });
  if (!st) return st;

  const bool v2 = out.schema_version >= 2;
  std::map<std::string, size_t> index;
  st = query(std::string("SELECT resource_id, name, kind, provider, share_type, "
                         "subscription_status, last_seq, last_applied_at, rows, state, "
                         "last_error, ") +
                 (v2 ? "resync" : "0") + " FROM resources ORDER BY resource_id",
             {}, [&](const Row& r) {
               ResourceEntry e;
               e.row.subscription = {r.text(0), r.text(1), r.text(2),
                                     r.text(3), r.text(4), r.text(5)};
               e.row.last_seq = r.optional_integer(6);
               e.row.last_applied_at = r.optional_text(7);
               e.row.rows = r.integer(8);
               e.row.state = r.text(9);
               e.row.last_error = r.optional_text(10);
               e.backlog.resync_requested = r.integer(11) != 0;
               index[e.row.subscription.resource_id] = out.resources.size();
               out.resources.push_back(std::move(e));
             });
  if (!st) return st;

  auto entry_of = [&](const std::string& resource_id) -> ResourceEntry* {
    auto it = index.find(resource_id);
    return it == index.end() ? nullptr : &out.resources[it->second];
  };

  // Schema 3 keeps the totals (triggers on batches); before, every batch is added up.
  const std::string totals =
      out.schema_version >= 3
          ? "SELECT resource_id, state, batches, rows, deleted, payload_bytes FROM batch_totals "
            "WHERE state IN ('applied', 'rejected', 'superseded')"
          : std::string(
                "SELECT resource_id, state, count(*), coalesce(sum(rows), 0), "
                "coalesce(sum(deleted), 0), ") +
                (v2 ? "coalesce(sum(payload_bytes), 0)" : "0") +
                " FROM batches WHERE state IN ('applied', 'rejected', 'superseded') "
                "GROUP BY resource_id, state";
  st = query(totals, {}, [&](const Row& r) {
    ResourceEntry* e = entry_of(r.text(0));
    if (!e) return;
    BatchCounts& c = e->counts;
    const std::string state = r.text(1);
    if (state != "superseded") c.bytes_downloaded += r.integer(5);
    if (state == "applied") {
      c.applied = r.integer(2);
      c.rows_applied = r.integer(3);
      c.rows_deleted = r.integer(4);
    } else if (state == "rejected") {
      c.rejected = r.integer(2);
    } else {
      c.superseded = r.integer(2);
    }
  });
  if (!st) return st;

  // The newest rejected batch and the oldest held one of each resource.
  st = query(batch_select(out.schema_version) +
                 "WHERE b.state = 'rejected' AND b.seq = (SELECT max(seq) FROM batches "
                 "WHERE resource_id = b.resource_id AND state = 'rejected')",
             {}, [&](const Row& r) {
               auto batch = batch_from(r);
               if (ResourceEntry* e = entry_of(batch.resource_id))
                 e->last_rejected = std::move(batch);
             });
  if (!st) return st;
  st = query(batch_select(out.schema_version) +
                 "WHERE b.state = 'failed' AND b.seq = (SELECT min(seq) FROM batches "
                 "WHERE resource_id = b.resource_id AND state = 'failed')",
             {}, [&](const Row& r) {
               auto batch = batch_from(r);
               if (ResourceEntry* e = entry_of(batch.resource_id)) e->held = std::move(batch);
             });
  if (!st) return st;

  // The backlog: the newest listed batch, and the batches listed without an outcome. Their
  // oldest publication time is compared as instants, not as text (offsets may differ).
  // Driven by the resources (CROSS JOIN keeps that order): one index lookup each, not a pass
  // over every batch.
  st = query(std::string("SELECT b.resource_id, b.seq, ") + (v2 ? "b.created_at" : "NULL") +
                 " FROM resources r CROSS JOIN batches b ON b.resource_id = r.resource_id "
                 "AND b.seq = (SELECT max(seq) FROM batches WHERE resource_id = r.resource_id)",
             {}, [&](const Row& r) {
               if (ResourceEntry* e = entry_of(r.text(0))) {
                 e->backlog.newest_listed_seq = r.integer(1);
                 e->backlog.newest_listed_at = r.optional_text(2);
               }
             });
  if (!st) return st;
  st = query(std::string("SELECT resource_id, ") + (v2 ? "created_at" : "NULL") +
                 " FROM batches WHERE state NOT IN ('applied', 'rejected', 'superseded')",
             {}, [&](const Row& r) {
               if (ResourceEntry* e = entry_of(r.text(0)))
                 e->backlog.add_waiting(r.optional_text(1));
             });
  if (!st) return st;

  st = query(
      "SELECT resource_id, state, count(*) FROM outbox WHERE state IN ('pending', 'refused') "
      "GROUP BY resource_id, state",
      {}, [&](const Row& r) {
        const std::string id = r.text(0);
        const bool pending = r.text(1) == "pending";
        const int64_t n = r.integer(2);
        ReceiptCounts& c = out.receipts_by_resource[id];
        (pending ? c.pending : c.refused) = n;
        (pending ? out.receipts_pending : out.receipts_refused) += n;
        if (ResourceEntry* e = entry_of(id))
          (pending ? e->backlog.pending_receipts : e->backlog.refused_receipts) = n;
      });
  if (!st) return st;
  st = query(
      "SELECT receipt_id, batch_id, resource_id, state, attempts, last_http_status, last_error, "
      "created_at FROM outbox WHERE state IN ('pending', 'refused') "
      "ORDER BY created_at, rowid LIMIT ?",
      {int64_t{kReceiptList}}, [&](const Row& r) {
        out.receipts.push_back({r.text(0), r.text(1), r.text(2), r.text(3), r.integer(4),
                                r.optional_integer(5), r.optional_text(6), r.text(7)});
      });
  if (!st) return st;

  // outcome_at is RFC 3339 in local time: its first ten characters are the local date, and
  // every time of a day sorts at or after the day itself (an index range, not a scan).
  st = query(
      "SELECT substr(outcome_at, 1, 10) AS day, coalesce(sum(rows), 0), count(*) FROM batches "
      "WHERE state = 'applied' AND outcome_at >= ? GROUP BY day ORDER BY day",
      {since_date}, [&](const Row& r) {
        out.rows_per_day.push_back({r.text(0), r.integer(1), r.integer(2)});
      });
  if (!st) return st;

  auto recent = this->events(events);
  if (!recent) return Unexpected{recent.error()};
  out.recent_events = std::move(*recent);
  return {};
}

Expected<std::optional<std::vector<BatchEntry>>> StateReader::batches(
    const std::string& resource_id, int limit) {
  ReadTransaction tx(db_);
  if (!tx.begun()) return Unexpected{tx.begun().error()};
  int version = 0;
  auto st = query("PRAGMA user_version", {},
                  [&](const Row& r) { version = static_cast<int>(r.integer(0)); });
  if (!st) return Unexpected{st.error()};
  bool known = false;
  st = query("SELECT 1 FROM resources WHERE resource_id = ?", {resource_id},
             [&](const Row&) { known = true; });
  if (!st) return Unexpected{st.error()};
  if (!known) return std::optional<std::vector<BatchEntry>>{};
  std::vector<BatchEntry> out;
  st = query(batch_select(version) + "WHERE b.resource_id = ? ORDER BY b.seq DESC LIMIT ?",
             {resource_id, int64_t{limit}}, [&](const Row& r) { out.push_back(batch_from(r)); });
  if (!st) return Unexpected{st.error()};
  return std::optional<std::vector<BatchEntry>>{std::move(out)};
}

Expected<std::vector<store::Event>> StateReader::events(int limit) {
  std::vector<store::Event> out;
  auto st = query(
      "SELECT id, at, level, resource_id, batch_id, message FROM events ORDER BY id DESC LIMIT ?",
      {int64_t{limit}}, [&](const Row& r) {
        out.push_back({r.integer(0), r.text(1), r.text(2), r.optional_text(3), r.optional_text(4),
                       r.text(5)});
      });
  if (!st) return Unexpected{st.error()};
  return out;
}

}  // namespace fep::status
