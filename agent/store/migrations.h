// The state database's schema history. Migration N takes the schema from version N-1 to N;
// PRAGMA user_version holds the version reached. Never edit a migration that has shipped:
// append a new one.
#pragma once

#include <string_view>

namespace fep::store {

inline constexpr std::string_view kMigrations[] = {
    // 1: resources, batches, receipt outbox, event log.
    R"sql(
CREATE TABLE resources (
  resource_id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL DEFAULT '',
  provider TEXT NOT NULL DEFAULT '',
  share_type TEXT NOT NULL DEFAULT '',
  subscription_status TEXT NOT NULL DEFAULT '',
  last_seq INTEGER,
  last_applied_at TEXT,
  rows INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT 'idle',
  last_error TEXT,
  updated_at TEXT NOT NULL
);
CREATE TABLE batches (
  batch_id TEXT PRIMARY KEY,
  resource_id TEXT NOT NULL REFERENCES resources(resource_id),
  seq INTEGER NOT NULL,
  mode TEXT NOT NULL,
  state TEXT NOT NULL,
  rows INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  error_code TEXT,
  error_message TEXT,
  outcome_at TEXT,
  updated_at TEXT NOT NULL,
  UNIQUE (resource_id, seq)
);
CREATE TABLE outbox (
  receipt_id TEXT PRIMARY KEY,
  batch_id TEXT NOT NULL UNIQUE REFERENCES batches(batch_id),
  resource_id TEXT NOT NULL,
  body TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  last_http_status INTEGER,
  last_error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX outbox_state ON outbox(state);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  level TEXT NOT NULL,
  resource_id TEXT,
  batch_id TEXT,
  message TEXT NOT NULL
);
)sql",
    // 2: batch timings and sizes for history and lag, the operator's resync request, and the
    // tamper-evident audit log (each entry carries the hash of the one before it).
    R"sql(
ALTER TABLE batches ADD COLUMN created_at TEXT;
ALTER TABLE batches ADD COLUMN payload_bytes INTEGER;
ALTER TABLE batches ADD COLUMN started_at TEXT;
ALTER TABLE resources ADD COLUMN resync INTEGER NOT NULL DEFAULT 0;
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  resource_id TEXT,
  batch_id TEXT,
  detail TEXT NOT NULL,
  alg TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
)sql",
    // 3: what the status snapshot reads, without reading every batch ever listed: per resource
    // and state totals kept by triggers, and indexes for the held, rejected and waiting batches
    // and for the applied rows per day. Years of hourly batches made each snapshot a scan.
    R"sql(
CREATE INDEX batches_by_state ON batches(state, resource_id, seq);
CREATE INDEX batches_by_outcome ON batches(state, outcome_at);
CREATE INDEX batches_waiting ON batches(resource_id, created_at)
  WHERE state NOT IN ('applied', 'rejected', 'superseded');
CREATE TABLE batch_totals (
  resource_id TEXT NOT NULL,
  state TEXT NOT NULL,
  batches INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  payload_bytes INTEGER NOT NULL,
  PRIMARY KEY (resource_id, state)
) WITHOUT ROWID;
INSERT INTO batch_totals
  SELECT resource_id, state, count(*), sum(rows), sum(deleted), coalesce(sum(payload_bytes), 0)
  FROM batches GROUP BY resource_id, state;
CREATE TRIGGER batch_totals_insert AFTER INSERT ON batches BEGIN
  INSERT INTO batch_totals VALUES (NEW.resource_id, NEW.state, 1, NEW.rows, NEW.deleted,
                                   coalesce(NEW.payload_bytes, 0))
  ON CONFLICT (resource_id, state) DO UPDATE SET batches = batches + 1,
    rows = rows + excluded.rows, deleted = deleted + excluded.deleted,
    payload_bytes = payload_bytes + excluded.payload_bytes;
END;
CREATE TRIGGER batch_totals_delete AFTER DELETE ON batches BEGIN
  UPDATE batch_totals SET batches = batches - 1, rows = rows - OLD.rows,
    deleted = deleted - OLD.deleted, payload_bytes = payload_bytes - coalesce(OLD.payload_bytes, 0)
  WHERE resource_id = OLD.resource_id AND state = OLD.state;
END;
CREATE TRIGGER batch_totals_update
AFTER UPDATE OF resource_id, state, rows, deleted, payload_bytes ON batches BEGIN
  UPDATE batch_totals SET batches = batches - 1, rows = rows - OLD.rows,
    deleted = deleted - OLD.deleted, payload_bytes = payload_bytes - coalesce(OLD.payload_bytes, 0)
  WHERE resource_id = OLD.resource_id AND state = OLD.state;
  INSERT INTO batch_totals VALUES (NEW.resource_id, NEW.state, 1, NEW.rows, NEW.deleted,
                                   coalesce(NEW.payload_bytes, 0))
  ON CONFLICT (resource_id, state) DO UPDATE SET batches = batches + 1,
    rows = rows + excluded.rows, deleted = deleted + excluded.deleted,
    payload_bytes = payload_bytes + excluded.payload_bytes;
END;
)sql",
};

}  // namespace fep::store
