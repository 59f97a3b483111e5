#include "agent/status/state_reader.h"

#include <map>

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

BatchEntry batch_from(const Row& r) {
  return BatchEntry{r.text(0),          r.text(1),          r.integer(2), r.text(3),
                    r.text(4),          r.integer(5),       r.integer(6), r.optional_text(7),
                    r.optional_text(8), r.optional_text(9), r.text(10)};
}

constexpr const char* kBatchColumns =
    "batch_id, resource_id, seq, mode, state, rows, deleted, error_code, error_message, "
    "outcome_at, updated_at";

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

  std::map<std::string, size_t> index;
  st = query(
      "SELECT resource_id, name, kind, provider, share_type, subscription_status, last_seq, "
      "last_applied_at, rows, state, last_error FROM resources ORDER BY resource_id",
      {}, [&](const Row& r) {
        ResourceEntry e;
        e.row.subscription = {r.text(0), r.text(1), r.text(2), r.text(3), r.text(4), r.text(5)};
        e.row.last_seq = r.optional_integer(6);
        e.row.last_applied_at = r.optional_text(7);
        e.row.rows = r.integer(8);
        e.row.state = r.text(9);
        e.row.last_error = r.optional_text(10);
        index[e.row.subscription.resource_id] = out.resources.size();
        out.resources.push_back(std::move(e));
      });
  if (!st) return st;

  st = query(
      "SELECT resource_id, state, count(*), coalesce(sum(rows), 0), coalesce(sum(deleted), 0) "
      "FROM batches WHERE state IN ('applied', 'rejected', 'superseded') "
      "GROUP BY resource_id, state",
      {}, [&](const Row& r) {
        auto it = index.find(r.text(0));
        if (it == index.end()) return;
        BatchCounts& c = out.resources[it->second].counts;
        const std::string state = r.text(1);
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

  st = query(
      "SELECT b.batch_id, b.resource_id, b.seq, b.mode, b.state, b.rows, b.deleted, "
      "b.error_code, b.error_message, b.outcome_at, b.updated_at FROM batches b "
      "WHERE b.state = 'rejected' AND b.seq = (SELECT max(seq) FROM batches "
      "WHERE resource_id = b.resource_id AND state = 'rejected')",
      {}, [&](const Row& r) {
        auto entry = batch_from(r);
        if (auto it = index.find(entry.resource_id); it != index.end())
          out.resources[it->second].last_rejected = std::move(entry);
      });
  if (!st) return st;

  st = query(
      "SELECT state, count(*) FROM outbox WHERE state IN ('pending', 'refused') "
      "GROUP BY state",
      {}, [&](const Row& r) {
        (r.text(0) == "pending" ? out.receipts_pending : out.receipts_refused) = r.integer(1);
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

  // outcome_at is RFC 3339 in local time: its first ten characters are the local date.
  st = query(
      "SELECT substr(outcome_at, 1, 10) AS day, coalesce(sum(rows), 0), count(*) FROM batches "
      "WHERE state = 'applied' AND outcome_at IS NOT NULL AND substr(outcome_at, 1, 10) >= ? "
      "GROUP BY day ORDER BY day",
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
  bool known = false;
  auto st = query("SELECT 1 FROM resources WHERE resource_id = ?", {resource_id},
                  [&](const Row&) { known = true; });
  if (!st) return Unexpected{st.error()};
  if (!known) return std::optional<std::vector<BatchEntry>>{};
  std::vector<BatchEntry> out;
  st = query((std::string("SELECT ") + kBatchColumns +
              " FROM batches WHERE resource_id = ? ORDER BY seq DESC LIMIT ?")
                 .c_str(),
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
