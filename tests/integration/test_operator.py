"""Operator commands against the real agent and exchange-sim: status, history, resources, retry,
skip and resync, with and without a running daemon."""

import json
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness

R = "R-OPS-0001"
OTHER = "R-OPS-PENDING"
SCHEMA = {
    "name": "ent",
    "columns": [
        {"name": "id", "type": "bigint", "nullable": False},
        {"name": "name", "type": "varchar(50)"},
        {"name": "memo", "type": "text"},
    ],
    "primary_key": ["id"],
}


class OperatorTest(unittest.TestCase):
    def setUp(self):
        self.exchange = harness.Exchange()
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.tmp = Path(tempfile.mkdtemp(prefix="fep-operator-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.exchange.subscribe(R, name="企业登记", kind="table", status="approved")
        self.exchange.subscribe(OTHER, name="不动产附件", kind="folder", status="pending")
        self.agent = harness.Agent(self.exchange, self.tmp, resources=(R,))
        self.daemon = None
        self.addCleanup(self.stop_daemon)

    def run_agent(self, *args, code=0):
        proc = self.agent.run(*args)
        self.assertEqual(proc.returncode, code, f"{args}\nstdout:\n{proc.stdout}\n"
                                                f"stderr:\n{proc.stderr}")
        return proc

    def local(self, sql):
        with sqlite3.connect(self.agent.db) as db:
            return db.execute(sql).fetchall()

    def resource(self):
        return self.agent.status()["resources"][0]

    def history(self):
        return json.loads(self.run_agent("history", R, "--json").stdout)

    def hold_a_batch(self):
        """A batch the target refuses: a column dropped by hand from the local table."""
        self.exchange.publish_table(R, schema=SCHEMA, csv="id,name,memo\n1,a,x\n", mode="full")
        self.run_agent("sync", "--once")
        self.local("ALTER TABLE ent DROP COLUMN memo")
        batch = self.exchange.publish_table(R, schema=SCHEMA, csv="_op,id,name,memo\nU,2,b,y\n",
                                            mode="incremental")
        self.run_agent("sync", "--once", code=2)
        return batch

    def test_a_held_batch_waits_without_a_receipt_and_is_retried_after_the_fix(self):
        batch = self.hold_a_batch()
        self.assertIsNone(self.exchange.receipt(batch), "a target problem was reported as rejected")
        r = self.resource()
        self.assertEqual(r["state"], "blocked")
        self.assertEqual(r["blocking_batch"]["batch_id"], batch)
        self.assertEqual(r["blocking_batch"]["state"], "failed")
        self.assertEqual(r["blocking_batch"]["error_code"], "TARGET_ERROR")
        self.assertEqual(r["waiting_batches"], 1)
        self.assertGreaterEqual(r["lag_seconds"], 0)
        text = self.run_agent("status").stdout
        self.assertIn(f"fep-agent retry {R}", text)
        self.assertIn(f"fep-agent skip {R} --batch {batch}", text)
        self.assertNotIn("\x1b[", text, "colours on a pipe")
        held = self.history()[0]
        self.assertEqual((held["batch_id"], held["state"], held["error_code"]),
                         (batch, "failed", "TARGET_ERROR"))
        self.assertIsNone(held["receipt_state"])

        # Still broken: retrying holds it again, still without a receipt.
        self.run_agent("retry", R, code=2)
        self.assertIsNone(self.exchange.receipt(batch))

        self.local("ALTER TABLE ent ADD COLUMN memo TEXT")
        self.run_agent("retry", R)
        self.assertEqual(self.exchange.receipt(batch)["status"], "applied")
        self.assertEqual(self.local("SELECT id, name, memo FROM ent ORDER BY id"),
                         [(1, "a", None), (2, "b", "y")])
        self.assertEqual(self.resource()["state"], "idle")
        applied = self.history()[0]
        self.assertEqual((applied["state"], applied["receipt_state"]), ("applied", "delivered"))
        self.assertGreater(applied["payload_bytes"], 0)
        self.assertIsNotNone(applied["duration_seconds"])
        self.assertIsNotNone(applied["created_at"])
        everything = self.run_agent("history", "--limit", "1").stdout
        self.assertIn("RESOURCE", everything)
        self.assertEqual(len(everything.strip().splitlines()), 2)

    def test_a_blocked_resource_still_counts_what_is_published_after_it(self):
        held = self.hold_a_batch()
        later = self.exchange.publish_table(R, schema=SCHEMA, csv="_op,id,name,memo\nU,3,c,z\n",
                                            mode="incremental")
        self.run_agent("sync", "--once", code=2)
        r = self.resource()
        self.assertEqual((r["state"], r["blocking_batch"]["batch_id"]), ("blocked", held))
        self.assertEqual(r["waiting_batches"], 2, "a batch published while blocked is not shown")
        listed = self.history()[0]
        self.assertEqual((listed["batch_id"], listed["state"]), (later, "listed"))
        self.assertIsNone(self.exchange.receipt(later))

        self.local("ALTER TABLE ent ADD COLUMN memo TEXT")
        self.run_agent("retry", R)
        self.assertEqual([self.exchange.receipt(b)["status"] for b in (held, later)],
                         ["applied", "applied"])
        self.assertEqual(self.resource()["waiting_batches"], 0)

    def test_batches_behind_a_rejected_batch_count_in_the_backlog(self):
        self.exchange.publish_table(R, schema=SCHEMA, csv="id,name,memo\n1,a,x\n", mode="full")
        self.run_agent("sync", "--once")
        bad = self.exchange.publish_table(R, schema=SCHEMA, csv="_op,id,name,memo\nU,2,b\n",
                                          mode="incremental")
        self.run_agent("sync", "--once", code=2)
        self.assertEqual(self.exchange.receipt(bad)["status"], "rejected")
        self.assertEqual(self.resource()["waiting_batches"], 0)
        later = self.exchange.publish_table(R, schema=SCHEMA, csv="_op,id,name,memo\nU,3,c,z\n",
                                            mode="incremental")
        self.run_agent("sync", "--once", code=2)
        r = self.resource()
        self.assertEqual((r["state"], r["waiting_batches"]), ("blocked", 1))
        self.assertIsNotNone(r["lag_seconds"])
        self.assertEqual(self.history()[0]["batch_id"], later)
        self.assertIsNone(self.exchange.receipt(later))

    def test_skip_sends_a_rejected_receipt_with_the_reason_and_goes_on(self):
        batch = self.hold_a_batch()
        wrong = self.run_agent("skip", R, "--batch", "B-NOPE", "--reason", "x", code=1)
        self.assertIn(batch, wrong.stderr)
        self.run_agent("skip", R, "--batch", batch, "--reason", "提供方将重新发布")
        receipt = self.exchange.receipt(batch)
        self.assertEqual(receipt["status"], "rejected")
        self.assertEqual(receipt["error"]["code"], "TARGET_ERROR")
        self.assertIn("提供方将重新发布", receipt["error"]["message"])
        self.assertEqual(receipt["payload_sha256"], self.exchange.manifest(batch)["payload"]["sha256"])
        r = self.resource()
        self.assertEqual(r["state"], "idle")
        self.assertEqual(r["last_seq"], self.exchange.manifest(batch)["seq"])
        self.assertIsNone(r["blocking_batch"])

    def test_resync_waits_for_the_next_full_batch(self):
        self.exchange.publish_table(R, schema=SCHEMA, csv="id,name,memo\n1,a,x\n", mode="full")
        self.run_agent("sync", "--once")
        bad = self.exchange.publish_table(R, schema=SCHEMA, csv="_op,id,name,memo\nU,2,b\n",
                                          mode="incremental")
        self.run_agent("sync", "--once", code=2)
        self.assertEqual(self.exchange.receipt(bad)["error"]["code"], "PAYLOAD_INVALID")
        refused = self.run_agent("retry", R, code=1)
        self.assertIn(f"fep-agent resync {R}", refused.stderr)

        self.run_agent("resync", R)
        r = self.resource()
        self.assertEqual(r["state"], "paused")
        self.assertTrue(r["resync_requested"])
        waiting = self.exchange.publish_table(R, schema=SCHEMA, csv="_op,id,name,memo\nU,3,c,\n",
                                              mode="incremental")
        self.run_agent("sync", "--once")
        self.assertIsNone(self.exchange.receipt(waiting))
        self.assertEqual(self.resource()["waiting_batches"], 1)
        self.assertEqual(self.local("SELECT id FROM ent"), [(1,)])

        full = self.exchange.publish_table(R, schema=SCHEMA, csv="id,name,memo\n9,z,\n",
                                           mode="full")
        self.run_agent("sync", "--once")
        self.assertEqual(self.exchange.receipt(waiting)["status"], "superseded")
        self.assertEqual(self.exchange.receipt(full)["status"], "applied")
        self.assertEqual(self.local("SELECT id, name FROM ent"), [(9, "z")])
        r = self.resource()
        self.assertEqual((r["state"], r["resync_requested"], r["waiting_batches"]),
                         ("idle", False, 0))

    def test_resources_lists_every_subscription_on_the_platform(self):
        listed = json.loads(self.run_agent("resources", "--json").stdout)
        by_id = {r["resource_id"]: r for r in listed}
        self.assertEqual(by_id[R]["target"], "local_db")
        self.assertEqual(by_id[OTHER]["status"], "pending")
        self.assertFalse(by_id[OTHER]["configured"])
        self.assertIn("不动产附件", self.run_agent("resources").stdout)

        self.run_agent("sync", "--once")  # stores the subscriptions
        self.exchange.close()
        offline = self.run_agent("resources", code=1)
        self.assertIn("cannot ask the exchange", offline.stderr)
        self.assertIn(R, offline.stdout)

    def start_daemon(self):
        socket = self.tmp / "control.sock"
        self.agent.config.write_text(
            self.agent.config.read_text(encoding="utf-8").replace(
                f"  - id: {R}\n", f"  - id: {R}\n    schedule: manual\n")
            + f"daemon:\n  control_socket: {socket}\n  receipts_interval: 1s\n",
            encoding="utf-8")
        self.daemon_log = open(self.tmp / "daemon.log", "wb")
        self.daemon = subprocess.Popen(
            [harness.agent_bin(), "--config", str(self.agent.config), "run"],
            stdout=self.daemon_log, stderr=subprocess.STDOUT)
        harness.wait_until(lambda: socket.exists() or self.daemon.poll() is not None,
                           timeout=20, what="the daemon's control socket")
        self.assertIsNone(self.daemon.poll())

    def stop_daemon(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.terminate()
            self.daemon.wait(timeout=30)
            self.daemon_log.close()

    def test_actions_go_through_a_running_daemon(self):
        self.start_daemon()
        self.exchange.publish_table(R, schema=SCHEMA, csv="id,name,memo\n1,a,x\n", mode="full")
        self.run_agent("sync", "--now", R)
        self.local("ALTER TABLE ent DROP COLUMN memo")
        batch = self.exchange.publish_table(R, schema=SCHEMA, csv="_op,id,name,memo\nU,2,b,y\n",
                                            mode="incremental")
        self.run_agent("sync", "--now", R, code=2)
        self.assertEqual(self.resource()["state"], "blocked")
        self.local("ALTER TABLE ent ADD COLUMN memo TEXT")
        done = self.run_agent("retry", R)
        self.assertIn("applied 1", done.stdout)  # the daemon's answer
        harness.wait_until(lambda: self.exchange.receipt(batch) is not None, timeout=20,
                           what="the receipt")
        self.assertEqual(self.exchange.receipt(batch)["status"], "applied")
        self.assertEqual(self.resource()["state"], "idle")


class ProgressTest(unittest.TestCase):
    """A payload trickling in: progress shows on a terminal and in a running daemon's status."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="fep-progress-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        faults = self.tmp / "faults.json"
        faults.write_text(json.dumps({"rates": {"slow_drip": 1.0}, "drip_pieces": 30,
                                      "drip_pause_ms": 100}))
        self.exchange = harness.Exchange(extra_args=["--faults", str(faults)])
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.exchange.subscribe(R, name="企业登记", kind="table", status="approved")
        self.agent = harness.Agent(self.exchange, self.tmp / "agent", resources=(R,))
        rows = "".join(f"{i},name {i},memo {i}\n" for i in range(20000))
        self.exchange.publish_table(R, schema=SCHEMA, csv="id,name,memo\n" + rows, mode="full",
                                    compression="none")

    def test_sync_once_on_a_terminal_shows_progress(self):
        import os
        import pty
        main, child = pty.openpty()
        proc = subprocess.Popen([harness.agent_bin(), "--config", str(self.agent.config), "sync",
                                 "--once"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=child)
        os.close(child)
        seen = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        os.close(main)
        self.assertEqual(proc.wait(timeout=60), 0, seen.decode(errors="replace"))
        text = seen.decode(errors="replace")
        self.assertRegex(text, rf"{R} seq 1 downloading [0-9.]+ (B|KiB|MiB) / [0-9.]+ KiB \d+%")
        self.assertIn("\r\x1b[K", text)

    def test_a_running_daemon_reports_progress_in_status(self):
        socket = self.tmp / "control.sock"
        self.agent.config.write_text(
            self.agent.config.read_text(encoding="utf-8").replace(
                f"  - id: {R}\n", f"  - id: {R}\n    schedule: manual\n")
            + f"daemon:\n  control_socket: {socket}\n", encoding="utf-8")
        with open(self.tmp / "daemon.log", "wb") as log:
            daemon = subprocess.Popen(
                [harness.agent_bin(), "--config", str(self.agent.config), "run"],
                stdout=log, stderr=subprocess.STDOUT)
            try:
                harness.wait_until(socket.exists, timeout=20, what="the control socket")
                sync = subprocess.Popen([harness.agent_bin(), "--config", str(self.agent.config),
                                         "sync", "--now", R], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
                seen = []

                def downloading():
                    progress = self.agent.status()["progress"]
                    seen.extend(progress)
                    return any(p["phase"] == "downloading" and p["bytes_done"] > 0
                               for p in progress)

                harness.wait_until(downloading, timeout=30, what="progress in status")
                p = next(p for p in seen if p["phase"] == "downloading" and p["bytes_done"] > 0)
                self.assertEqual(p["resource_id"], R)
                self.assertGreater(p["bytes_total"], 0)
                self.assertLessEqual(p["bytes_done"], p["bytes_total"])
                self.assertEqual(p["items_total"], 20000)
                # The dashboard API's progress object, with the resource it belongs to.
                self.assertEqual(p["rate_unit"], "bytes")
                for key in ("batch_id", "seq", "phase_started_at", "elapsed_seconds",
                            "rate_per_second", "eta_seconds"):
                    self.assertIn(key, p)
                self.assertIn(f"now: {R} seq 1 ", self.agent.run("status").stdout)
                self.assertEqual(sync.wait(timeout=60), 0, sync.communicate())
                self.assertEqual(self.agent.status()["progress"], [])
            finally:
                daemon.terminate()
                daemon.wait(timeout=30)


if __name__ == "__main__":
    unittest.main()
