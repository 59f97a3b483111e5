"""Kill loop: fep-agent killed with SIGKILL at random moments, restarted, checked every time.

The agent (`sync --once`, sometimes the `run` daemon) syncs table and folder resources of a few
tens of thousands of rows from an exchange-sim that injects faults at moderate rates. Each round
aims its SIGKILL at one phase: while a payload downloads, while a batch is being applied, while
receipts wait to be delivered, or at any moment. After every kill the invariants are checked:

  - state.db passes PRAGMA integrity_check (so does the target database);
  - every table holds exactly the content of the batches its _fep_batches records, which are a
    prefix of the published batches, in seq order (a batch is in whole or not at all);
  - the folder's link names a published batch and the folder holds exactly its content;
  - nothing the agent's state calls applied is missing from the target;
  - every receipt the exchange accepted matches a batch that is in the target, with the counts
    this test expects; receipts.log holds no 409 (no second, different receipt for a batch).

At the end the agent runs without kills until everything is applied; then every batch is applied
exactly once, the exchange holds exactly one accepted receipt per batch, and all of the above.

In CI (CTest: integration.killloop) it kills 50 times within about two minutes. scripts/chaos-soak
runs the same loop with 500 kills:  python3 killloop.py --kills 500
The helpers here (data models, agent configuration, checks) are shared with test_chaos.py.
"""

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import harness

COLUMNS = ["id", "name", "reg_capital", "established", "updated_at"]
NAME_PARTS = ["郑州", "洛阳", "开封", "市场", "科技", "有限公司", "建设", "物流", "a,b", 'say "hi"',
              "line\nbreak", "Ünïcode", "  spaced  "]


def connect(path):
    """An sqlite3 connection that the with statement closes (sqlite3's own only commits)."""
    return contextlib.closing(sqlite3.connect(path, timeout=30, isolation_level=None))


def table_in(db, name):
    return db.execute("SELECT count(*) FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]


def table_schema(table):
    return dict(harness.SAMPLE_SCHEMA, name=table)


def rows_digest(rows):
    """(count, sha256) of rows given as (id, name, reg_capital, established, updated_at) tuples
    sorted by id: the same for the test's model and for what sqlite3 reads back."""
    h = hashlib.sha256()
    n = 0
    for row in rows:
        h.update(repr(tuple(row)).encode())
        h.update(b"\n")
        n += 1
    return n, h.hexdigest()


def csv_field(value):
    if value is None:
        return ""
    if value == "" or any(c in value for c in ',"\r\n') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


class Batch:
    def __init__(self, batch_id, seq, mode, counts, rejected=False):
        self.batch_id = batch_id
        self.seq = seq
        self.mode = mode
        self.counts = counts  # the receipt's counts when applied
        self.rejected = rejected  # published to be rejected (a corrupted payload)
        self.after = None  # table: (count, digest); folder: {path: bytes} after this batch


class TableResource:
    """A table resource: the batches published for it and the content each leaves, computed
    here from the test's own data (never read back from the agent)."""

    kind = "table"

    def __init__(self, rid, table, seed):
        self.id = rid
        self.table = table
        self.rng = random.Random(seed)
        self.state = {}  # id -> row tuple, after every batch that is to be applied
        self.next_id = 1
        self.batches = []

    def _row(self, rid):
        r = self.rng
        name = None if r.random() < 0.03 else "".join(r.choice(NAME_PARTS) for _ in range(3))
        if name is not None and r.random() < 0.02:
            name = ""
        cap = None if r.random() < 0.03 else f"{r.randint(-10**6, 10**12) / 100:.2f}"
        est = None
        if r.random() >= 0.05:
            est = f"{r.randint(1980, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        upd = None
        if r.random() >= 0.1:
            upd = (f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d} "
                   f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}")
        return (rid, name, cap, est, upd)

    def _line(self, row, op=None):
        fields = [str(row[0])] + [csv_field(v) for v in row[1:]]
        # Timestamps may come with a T; the agent stores them with a space.
        if row[4] is not None and self.rng.random() < 0.3:
            fields[4] = row[4].replace(" ", "T")
        return ",".join(([op] if op else []) + fields) + "\n"

    def publish_full(self, ex, rows, batch_id=None, rejected=False):
        new = {}
        for _ in range(rows):
            new[self.next_id] = self._row(self.next_id)
            self.next_id += 1
        csv = ",".join(COLUMNS) + "\n" + "".join(self._line(new[k]) for k in sorted(new))
        if not rejected:
            self.state = new
        return self._publish(ex, csv, "full", {"rows": rows, "deleted": 0}, batch_id, rejected)

    def publish_incremental(self, ex, updates, deletes, inserts, batch_id=None, rejected=False):
        keys = sorted(self.state)
        touched = self.rng.sample(keys, min(len(keys), updates + deletes))
        upd, dele = touched[:updates], touched[updates:]
        lines = []
        state = dict(self.state)
        for k in upd:
            row = self._row(k)
            state[k] = row
            lines.append(self._line(row, "U"))
        for k in dele:
            del state[k]
            lines.append(f"D,{k},,,,\n")
        for _ in range(inserts):
            row = self._row(self.next_id)
            state[self.next_id] = row
            self.next_id += 1
            lines.append(self._line(row, "U"))
        self.rng.shuffle(lines)
        csv = "_op," + ",".join(COLUMNS) + "\n" + "".join(lines)
        if not rejected:
            self.state = state
        return self._publish(ex, csv, "incremental",
                             {"rows": len(upd) + inserts, "deleted": len(dele)}, batch_id, rejected)

    def _publish(self, ex, csv, mode, counts, batch_id, rejected):
        seq = len(self.batches) + 1
        batch_id = batch_id or f"B-{self.id}-{seq:04d}"
        ex.publish_table(self.id, schema=table_schema(self.table), csv=csv, mode=mode,
                         batch_id=batch_id, seq=seq)
        b = Batch(batch_id, seq, mode, counts, rejected)
        b.after = rows_digest(self.state[k] for k in sorted(self.state))
        self.batches.append(b)
        return b

    def expected(self):
        return self.batches[-1].after if self.batches else (0, rows_digest([])[1])

    # --- what the target holds -----------------------------------------------------------------

    def applied_in_target(self, agent):
        """Batch ids in the target's _fep_batches for this resource, by seq."""
        if not agent.db.exists():
            return []
        with connect(agent.db) as db:
            if not table_in(db, "_fep_batches"):
                return []
            return [r[0] for r in db.execute(
                "SELECT batch_id FROM _fep_batches WHERE resource_id = ? ORDER BY seq", (self.id,))]

    def content(self, agent):
        with connect(agent.db) as db:
            if not table_in(db, self.table):
                return rows_digest([])
            return rows_digest(db.execute(
                f'SELECT {", ".join(COLUMNS)} FROM "{self.table}" ORDER BY id'))

    def check(self, test, agent):
        """The target holds a prefix of the applicable batches and exactly their content.
        Returns the batch ids in the target."""
        applied = self.applied_in_target(agent)
        wanted = [b for b in self.batches if not b.rejected]
        test.assertEqual(applied, [b.batch_id for b in wanted[:len(applied)]],
                         f"{self.id}: _fep_batches is not a prefix of the published batches")
        want = wanted[len(applied) - 1].after if applied else rows_digest([])
        test.assertEqual(self.content(agent), want,
                         f"{self.id}: table content differs from batches {applied}")
        return applied


class FolderResource:
    """A folder resource with its published batches and the files each leaves."""

    kind = "folder"

    def __init__(self, rid, path, seed):
        self.id = rid
        self.path = path
        self.rng = random.Random(seed)
        self.state = {}
        self.next_file = 1
        self.batches = []

    def _file(self):
        name = f"d{self.next_file % 5}/f{self.next_file:05d}.bin"
        self.next_file += 1
        return name

    def _content(self):
        return self.rng.randbytes(self.rng.randint(1, 96 * 1024))

    def publish_full(self, ex, files, batch_id=None):
        new = {self._file(): self._content() for _ in range(files)}
        self.state = new
        return self._publish(ex, new, "full", [], batch_id, {
            "files": len(new), "deleted": None, "bytes": sum(map(len, new.values()))})

    def publish_incremental(self, ex, changes, deletes, inserts, batch_id=None):
        keys = sorted(self.state)
        touched = self.rng.sample(keys, min(len(keys), changes + deletes))
        chg, dele = touched[:changes], touched[changes:]
        files = {k: self._content() for k in chg}
        files.update({self._file(): self._content() for _ in range(inserts)})
        state = {k: v for k, v in self.state.items() if k not in dele}
        state.update(files)
        self.state = state
        return self._publish(ex, files, "incremental", dele, batch_id, {
            "files": len(files), "deleted": len(dele), "bytes": sum(map(len, files.values()))})

    def _publish(self, ex, files, mode, deletes, batch_id, counts):
        seq = len(self.batches) + 1
        batch_id = batch_id or f"B-{self.id}-{seq:04d}"
        ex.publish_folder(self.id, files=files, mode=mode, deletes=deletes, batch_id=batch_id,
                          seq=seq)
        b = Batch(batch_id, seq, mode, counts)
        b.after = dict(self.state)
        self.batches.append(b)
        return b

    def link(self, agent):
        return agent.files / self.path

    def current_batch(self, agent):
        link = self.link(agent)
        return Path(os.readlink(link)).name if link.is_symlink() else None

    def content(self, agent):
        out = {}
        top = self.link(agent)
        for dirpath, _, names in os.walk(top, followlinks=False):
            for name in names:
                p = Path(dirpath) / name
                out[str(p.relative_to(top))] = p.read_bytes()
        return out

    def applied_in_target(self, agent):
        cur = self.current_batch(agent)
        if cur is None:
            return []
        ids = [b.batch_id for b in self.batches]
        return ids[:ids.index(cur) + 1] if cur in ids else [cur]

    def check(self, test, agent):
        cur = self.current_batch(agent)
        if cur is None:
            return []
        by_id = {b.batch_id: b for b in self.batches}
        test.assertIn(cur, by_id, f"{self.id}: the folder link names an unknown batch")
        got = self.content(agent)
        want = by_id[cur].after
        test.assertEqual(sorted(got), sorted(want), f"{self.id}: files differ from batch {cur}")
        for k in want:
            test.assertEqual(got[k], want[k], f"{self.id}: {k} differs from batch {cur}")
        return self.applied_in_target(agent)


class ChaosAgent:
    """fep-agent configured with an SQLite target (ODBC) and a folder target."""

    def __init__(self, exchange, tmp, resources, retry_cap="1s", schedule="every 1s"):
        self.exchange = exchange
        self.dir = Path(tmp)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = self.dir / "local.db"
        self.files = self.dir / "files"
        self.state = self.dir / "state"
        self.state_db = self.state / "state.db"
        self.log_path = self.dir / "agent.log"
        self.socket = self.dir / "control.sock"
        token = self.dir / "token"
        token.write_text(exchange.token + "\n")
        token.chmod(0o600)
        items = ""
        for r in resources:
            if r.kind == "table":
                items += f"  - {{id: {r.id}, target: local_db, schedule: \"{schedule}\"}}\n"
            else:
                items += f"  - {{id: {r.id}, target: files, path: {r.path}, schedule: \"{schedule}\"}}\n"
        self.config = self.dir / "agent.yaml"
        self.config.write_text(
            "node:\n"
            f"  id: {exchange.node}\n"
            "exchange:\n"
            f"  url: {exchange.url}\n"
            f"  token_file: {token}\n"
            "  allow_insecure_http: true\n"
            "  connect_timeout: 2s\n"
            "  low_speed_time: 5s\n"
            "  max_attempts: 3\n"
            "  retry_base: 20ms\n"
            f"  retry_cap: {retry_cap}\n"
            f"state_dir: {self.state}\n"
            "targets:\n"
            "  local_db:\n"
            "    type: odbc\n"
            f'    connection: "Driver=SQLite3;Database={self.db}"\n'
            "  files:\n"
            "    type: folder\n"
            f"    path: {self.files}\n"
            "resources:\n" + items +
            "daemon:\n"
            "  workers: 2\n"
            "  heartbeat_interval: 1s\n"
            "  receipts_interval: 1s\n"
            "  subscriptions_interval: 2s\n"
            "  jitter: 1ms\n"
            "  shutdown_grace: 10s\n"
            f"  control_socket: {self.socket}\n", encoding="utf-8")

    def _log(self):
        return open(self.log_path, "ab")

    def start(self, *args):
        """Starts `fep-agent ARGS` in the background (output to agent.log)."""
        with self._log() as log:
            log.write(f"==== fep-agent {' '.join(args)}\n".encode())
            return subprocess.Popen([harness.agent_bin(), "--config", str(self.config), *args],
                                    stdout=log, stderr=subprocess.STDOUT)

    def run(self, *args, timeout=120):
        proc = self.start(*args)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def query_state(self, sql, params=()):
        if not self.state_db.exists():
            return []
        with connect(self.state_db) as db:
            return db.execute(sql, params).fetchall()


def integrity(test, path):
    if not Path(path).exists():
        return
    with connect(path) as db:
        test.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)],
                         f"{path}: integrity_check")


def check_consistent(test, agent, exchange, resources):
    """The invariants that hold at any moment the agent is not running. Returns the batch ids
    in the targets."""
    integrity(test, agent.state_db)
    integrity(test, agent.db)
    in_target = set()
    for r in resources:
        in_target.update(r.check(test, agent))
    # The agent never records as applied what the target does not have.
    applied_state = {b for (b,) in agent.query_state(
        "SELECT batch_id FROM batches WHERE state = 'applied'")}
    test.assertLessEqual(applied_state, in_target,
                         "state.db says applied, the target has not got it")
    # At most one receipt per batch in the agent's outbox (the schema's UNIQUE says so too).
    ids = [b for (b,) in agent.query_state("SELECT batch_id FROM outbox")]
    test.assertEqual(len(ids), len(set(ids)), "two receipts for one batch in the outbox")
    refused = agent.query_state("SELECT batch_id, last_error FROM outbox WHERE state = 'refused'")
    test.assertEqual(refused, [], "receipts refused by the exchange")
    # The exchange: accepted receipts only for batches in the target, with the expected counts.
    batches = {b.batch_id: b for r in resources for b in r.batches}
    for rec in exchange.receipts():
        b = batches[rec["batch_id"]]
        if rec["status"] == "applied":
            test.assertIn(rec["batch_id"], in_target, "an applied receipt for a batch not in the target")
            want = dict(b.counts)
            if want.get("deleted") is None:  # a full folder batch: files removed vary
                want["deleted"] = rec["counts"]["deleted"]
            test.assertEqual(rec["counts"], want, f"receipt counts of {rec['batch_id']}")
    bad = [e for e in exchange.receipt_log() if e["status"] not in (200, 201)]
    test.assertEqual(bad, [], "receipts.log: receipts the exchange refused (409 = a conflicting receipt)")
    return in_target


def check_final(test, agent, exchange, resources, rejected=()):
    """Everything published is applied exactly once (or rejected, for `rejected`), with exactly
    one accepted receipt per batch."""
    in_target = check_consistent(test, agent, exchange, resources)
    for r in resources:
        want = [b.batch_id for b in r.batches if not b.rejected]
        test.assertEqual(r.applied_in_target(agent), want, f"{r.id}: batches in the target")
        if r.kind == "table":
            test.assertEqual(r.content(agent), r.expected(), f"{r.id}: final content")
        else:
            test.assertEqual(r.current_batch(agent), want[-1], f"{r.id}: final folder version")
    receipts = exchange.receipts()
    by_batch = {}
    for rec in receipts:
        by_batch.setdefault(rec["batch_id"], []).append(rec)
    all_batches = [b for r in resources for b in r.batches]
    test.assertEqual(sorted(by_batch), sorted(b.batch_id for b in all_batches),
                     "the exchange holds a receipt for every batch, and for no other")
    for b in all_batches:
        (rec,) = by_batch[b.batch_id]
        test.assertEqual(rec["status"], "rejected" if b.batch_id in rejected else "applied", b.batch_id)
    # Exactly one first acceptance (201) per batch; any resend got 200 with the same receipt.
    firsts = {}
    for e in exchange.receipt_log():
        if e["status"] == 201:
            firsts[e["batch_id"]] = firsts.get(e["batch_id"], 0) + 1
        else:
            test.assertEqual(e["status"], 200)
            test.assertEqual(e["receipt_id"], exchange.receipt(e["batch_id"])["receipt_id"])
    test.assertEqual(firsts, {b.batch_id: 1 for b in all_batches})
    # The agent's state: every batch has its outcome, every receipt delivered.
    outcomes = dict(agent.query_state("SELECT batch_id, state FROM batches"))
    for b in all_batches:
        test.assertEqual(outcomes.get(b.batch_id),
                         "rejected" if b.batch_id in rejected else "applied", b.batch_id)
    test.assertEqual(agent.query_state("SELECT count(*) FROM outbox WHERE state != 'delivered'"),
                     [(0,)])
    return in_target


def write_plan(exchange, plan):
    path = exchange.tmp / "faults.json"
    path.write_text(json.dumps(plan))
    exchange.extra_args = list(exchange.extra_args) + ["--faults", str(path)]
    return path


def fault_log(exchange):
    path = exchange.root / "faults.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- the kill loop ------------------------------------------------------------------------------

KILL_FAULTS = {"error_500": 0.03, "error_429": 0.01, "reset_payload": 0.05, "short_body": 0.04,
               "slow_drip": 0.35, "ignore_range": 0.3, "duplicate_listing": 0.01,
               "lose_receipt_answer": 0.3}


class Watcher:
    """Tells which phase a run is in, from what changed since the run started: a spool file
    that grew (a download), the target's rollback journal (a write transaction: a batch being
    applied), a receipt recorded in this run and not yet delivered (receipt posting)."""

    def __init__(self, agent):
        self.agent = agent
        self.db = None
        self.spool = {}
        self.pending = set()

    def _spool_sizes(self):
        out = {}
        try:
            for p in (self.agent.state / "spool").iterdir():
                try:
                    out[p.name] = p.stat().st_size
                except OSError:
                    pass
        except OSError:
            pass
        return out

    def _pending(self):
        if self.db is None and self.agent.state_db.exists():
            self.db = sqlite3.connect(self.agent.state_db, timeout=0.05, isolation_level=None)
        if self.db is None:
            return set()
        try:
            return {r for (r,) in self.db.execute("SELECT receipt_id FROM outbox WHERE state = 'pending'")}
        except sqlite3.Error:
            return set()

    def start(self):
        """Takes the baseline, before the agent starts."""
        self.spool = self._spool_sizes()
        self.pending = self._pending()

    def phases(self, receipts=True):
        seen = set()
        for name, size in self._spool_sizes().items():
            if size > self.spool.get(name, 0):
                seen.add("download")
        if Path(str(self.agent.db) + "-journal").exists():
            seen.add("apply")
        if receipts and self._pending() - self.pending:
            seen.add("receipt")
        return seen

    def close(self):
        if self.db is not None:
            self.db.close()
            self.db = None


def unapplied(agent, resources):
    n = 0
    for r in resources:
        n += len([b for b in r.batches if not b.rejected]) - len(r.applied_in_target(agent))
    return n


def publish_more(exchange, resources, rng, rows):
    r = rng.choice(resources)
    if r.kind == "table":
        r.publish_incremental(exchange, updates=rows * 6 // 10, deletes=rows // 5, inserts=rows // 5)
    else:
        r.publish_incremental(exchange, changes=12, deletes=4, inserts=6)


def kill_loop(test, kills, budget, seed, rows=50000, say=print):
    """Runs the loop; returns a dict of numbers for the report."""
    rng = random.Random(seed)
    started = time.monotonic()
    ex = harness.Exchange()
    test.addCleanup(ex.close)
    write_plan(ex, {"seed": seed, "rates": KILL_FAULTS, "max_page": 3, "drip_pieces": 8,
                    "drip_pause_ms": 30})
    tables = [TableResource("R-KILL-T1", "kill_t1", seed + 1),
              TableResource("R-KILL-T2", "kill_t2", seed + 2)]
    folder = FolderResource("R-KILL-F1", "parcels", seed + 3)
    resources = tables + [folder]
    for r in resources:
        ex.subscribe(r.id, name=r.id, kind=r.kind, status="approved")
    for t in tables:
        t.publish_full(ex, rows)
        t.publish_incremental(ex, updates=rows * 6 // 10, deletes=rows // 5, inserts=rows // 5)
    folder.publish_full(ex, 40)
    folder.publish_incremental(ex, changes=12, deletes=4, inserts=6)
    ex.start()
    tmp = Path(tempfile.mkdtemp(prefix="fep-killloop-"))
    if not ex.keep:
        test.addCleanup(shutil.rmtree, tmp, True)
    agent = ChaosAgent(ex, tmp, resources, retry_cap="200ms")
    watcher = Watcher(agent)
    test.addCleanup(watcher.close)

    stats = {"kills": 0, "rounds": 0, "finished_before_kill": 0, "daemon_kills": 0,
             "aimed": {}, "landed": {"download": 0, "apply": 0, "receipt": 0, "applied_unrecorded": 0,
                                     "other": 0}}
    counted_unrecorded = set()
    while stats["kills"] < kills:
        if time.monotonic() - started > budget:
            test.fail(f"only {stats['kills']} kills in {budget}s: {stats}")
        while unapplied(agent, resources) < 2:
            publish_more(ex, resources, rng, rows)
        stats["rounds"] += 1
        daemon = stats["rounds"] % 4 == 0  # every fourth round: the daemon
        # "commit": right after the target's transaction ends (its journal goes away), when the
        # agent records the outcome in its own state.
        aim = rng.choice(["download", "apply", "commit", "receipt", "any"])
        journal_seen = False
        watcher.start()
        proc = agent.start("run") if daemon else agent.start("sync", "--once")
        t0 = time.monotonic()
        delay = None
        killed = False
        landed = set()
        try:
            while True:
                if proc.poll() is not None:
                    break
                now = time.monotonic() - t0
                if delay is None:
                    if aim == "any":
                        delay = t0 + rng.uniform(0.01, 0.8)
                    elif aim == "commit":
                        journal = Path(str(agent.db) + "-journal").exists()
                        if journal_seen and not journal:
                            delay = time.monotonic()
                        journal_seen = journal_seen or journal
                        if now > 6:
                            delay = time.monotonic()
                    elif aim in watcher.phases(receipts=aim == "receipt"):
                        delay = time.monotonic() + rng.uniform(0, {"download": 0.03, "apply": 0.1,
                                                                   "receipt": 0.005}[aim])
                    elif now > 4:
                        delay = time.monotonic()  # the phase never came: kill anyway
                if delay is not None and time.monotonic() >= delay:
                    landed = watcher.phases()
                    proc.send_signal(signal.SIGKILL)
                    killed = proc.wait() == -signal.SIGKILL
                    break
                time.sleep(0.0005 if aim == "commit" else 0.002)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if not killed:
            stats["finished_before_kill"] += 1
        else:
            stats["kills"] += 1
            stats["daemon_kills"] += daemon
            stats["aimed"][aim] = stats["aimed"].get(aim, 0) + 1
            for phase in ("download", "apply", "receipt"):
                stats["landed"][phase] += phase in landed
            if not landed:
                stats["landed"]["other"] += 1
            # Killed between the target's commit and the agent's own record of it.
            recorded = {b for (b,) in agent.query_state(
                "SELECT batch_id FROM batches WHERE state IN ('applied', 'rejected', 'superseded')")}
            in_target = {b for r in resources for b in r.applied_in_target(agent)}
            unrecorded = in_target - recorded - counted_unrecorded
            stats["landed"]["applied_unrecorded"] += len(unrecorded)
            counted_unrecorded |= unrecorded
        watcher.close()
        check_consistent(test, agent, ex, resources)
        if stats["kills"] and stats["kills"] % 25 == 0 and killed:
            say(f"killloop: {stats['kills']} kills, {time.monotonic() - started:.0f}s, {stats['landed']}")

    # Without kills now: the agent finishes what is left (faults still on).
    deadline = time.monotonic() + 120
    while True:
        code = agent.run("sync", "--once")
        if code == 0 and unapplied(agent, resources) == 0 and not agent.query_state(
                "SELECT 1 FROM outbox WHERE state = 'pending'"):
            break
        if time.monotonic() > deadline:
            test.fail(f"not finished after the kills: exit {code}; see {agent.log_path}")
    check_final(test, agent, ex, resources)
    stats["batches"] = sum(len(r.batches) for r in resources)
    stats["seconds"] = round(time.monotonic() - started, 1)
    return stats


class KillLoopTest(unittest.TestCase):
    def test_killloop(self):
        kills = int(os.environ.get("FEP_KILLS", "50"))
        budget = float(os.environ.get("FEP_KILL_BUDGET", "150"))
        seed = int(os.environ.get("FEP_KILL_SEED", str(random.randrange(1 << 30))))
        print(f"\nkillloop: seed {seed} (FEP_KILL_SEED={seed} repeats the faults)", flush=True)
        stats = kill_loop(self, kills, budget, seed, say=lambda m: print(m, flush=True))
        print(f"killloop: {json.dumps(stats)}", flush=True)
        self.assertGreaterEqual(stats["kills"], kills)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--budget", type=float, default=3600, help="seconds")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    os.environ["FEP_KILLS"] = str(args.kills)
    os.environ["FEP_KILL_BUDGET"] = str(args.budget)
    if args.seed is not None:
        os.environ["FEP_KILL_SEED"] = str(args.seed)
    result = unittest.TextTestRunner(verbosity=2).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(KillLoopTest))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
