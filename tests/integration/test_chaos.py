"""Chaos: fep-agent against an exchange-sim that injects every fault at high rates.

exchange-sim's fault plan (`serve --faults FILE`, see `exchange-sim serve --help`) answers 500
and 429, resets connections half-way through payloads, closes bodies short of Content-Length,
drips payloads slowly, ignores Range, lists a batch twice, stores receipts and loses the answer,
and serves one batch's payload corrupted. The agent syncs table and folder resources through all
of it with `sync --once` in a loop, then as the `run` daemon; at the end every batch is applied
exactly once, the targets hold exactly the content this test computed from its own data, the
exchange holds exactly one accepted receipt per batch and refused none, and the corrupted batch
is rejected with CHECKSUM_MISMATCH.

FaultPlanTest checks the faults themselves against exchange-sim; CorruptPayloadTest checks when
the agent downloads a mismatching payload again before it rejects it.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import harness
from killloop import (ChaosAgent, FolderResource, TableResource, check_consistent, check_final,
                      fault_log, write_plan)

HIGH_RATES = {"error_500": 0.2, "error_429": 0.1, "reset_payload": 0.2, "short_body": 0.15,
              "slow_drip": 0.1, "ignore_range": 0.3, "duplicate_listing": 0.1,
              "lose_receipt_answer": 0.3}
ALL_FAULTS = sorted([*HIGH_RATES, "corrupt_payload"])


def corrupted(data):
    """The bytes exchange-sim serves for a batch in corrupt_batches."""
    data = bytearray(data)
    for i in range(len(data) // 2, min(len(data), len(data) // 2 + 16)):
        data[i] ^= 0x5A
    return bytes(data)


class ChaosTest(unittest.TestCase):
    def setUp(self):
        self.started = time.monotonic()
        self.ex = harness.Exchange()
        self.addCleanup(self.ex.close)
        self.tmp = Path(tempfile.mkdtemp(prefix="fep-chaos-"))
        if not self.ex.keep:
            self.addCleanup(shutil.rmtree, self.tmp, True)

    def sync_until(self, done, what, deadline_s=60):
        """Runs `sync --once` until done(exit code) is true."""
        deadline = time.monotonic() + deadline_s
        runs = 0
        while True:
            code = self.agent.run("sync", "--once")
            runs += 1
            self.assertIn(code, (0, 1, 2), f"fep-agent crashed (exit {code}); see {self.agent.log_path}")
            check_consistent(self, self.agent, self.ex, self.resources)
            if done(code):
                return runs
            if time.monotonic() > deadline:
                self.fail(f"{what}: not reached after {runs} runs; see {self.agent.log_path}")

    def all_applied(self):
        for r in self.resources:
            if r.applied_in_target(self.agent) != [b.batch_id for b in r.batches if not b.rejected]:
                return False
        # Every batch's receipt delivered, as check_final wants: a batch can be in the target a
        # moment before its outcome and receipt are recorded in the state database.
        published = {b.batch_id for r in self.resources for b in r.batches}
        delivered = {row[0] for row in self.agent.query_state(
            "SELECT batch_id FROM outbox WHERE state = 'delivered'")}
        return published <= delivered

    def test_every_fault_at_high_rates(self):
        ex = self.ex
        t1 = TableResource("R-CHAOS-T1", "chaos_t1", 11)
        t2 = TableResource("R-CHAOS-T2", "chaos_t2", 12)
        t3 = TableResource("R-CHAOS-T3", "chaos_t3", 13)
        f1 = FolderResource("R-CHAOS-F1", "parcels", 14)
        self.resources = [t1, t2, t3, f1]
        for r in self.resources:
            ex.subscribe(r.id, name=r.id, kind=r.kind, status="approved")
        for t in (t1, t2):
            t.publish_full(ex, 3000)
            for _ in range(4):
                t.publish_incremental(ex, updates=800, deletes=300, inserts=400)
        t3.publish_full(ex, 2000)
        bad = t3.publish_incremental(ex, updates=500, deletes=100, inserts=100, rejected=True)
        for _ in range(2):
            t3.publish_incremental(ex, updates=500, deletes=100, inserts=100)
        f1.publish_full(ex, 20)
        for _ in range(3):
            f1.publish_incremental(ex, changes=5, deletes=3, inserts=4)
        seed = int(os.environ.get("FEP_CHAOS_SEED", "20261120"))
        print(f"\nchaos: seed {seed} (FEP_CHAOS_SEED)", flush=True)
        # Each fault also hits the first request it can (first), so every one of them bites
        # whatever the request order; then the rates.
        write_plan(ex, {"seed": seed, "rates": HIGH_RATES, "first": {f: 1 for f in HIGH_RATES},
                        "corrupt_batches": [bad.batch_id],
                        "max_page": 2, "drip_pieces": 8, "drip_pause_ms": 20})
        ex.start()
        self.agent = ChaosAgent(ex, self.tmp, self.resources, retry_cap="1s")

        # sync --once until the corrupted batch is rejected, which blocks R-CHAOS-T3.
        runs = self.sync_until(
            lambda code: self.agent.query_state("SELECT state FROM batches WHERE batch_id = ?",
                                                (bad.batch_id,)) == [("rejected",)],
            "the corrupted batch rejected")
        # Nothing after the rejected batch is applied while the resource is blocked.
        self.assertEqual(t3.applied_in_target(self.agent), [t3.batches[0].batch_id])
        # The operator deals with it; the batches after it go on.
        self.assertEqual(self.agent.run("unblock", t3.id), 0)
        runs += self.sync_until(lambda code: code == 0 and self.all_applied(), "everything applied")

        # The daemon, faults still on, takes one more batch of each resource.
        for t in (t1, t2, t3):
            t.publish_incremental(ex, updates=400, deletes=100, inserts=100)
        f1.publish_incremental(ex, changes=3, deletes=2, inserts=2)
        daemon = self.agent.start("run")
        try:
            harness.wait_until(self.all_applied, timeout=60, interval=0.2,
                               what="the daemon applying every batch and delivering every receipt")
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                code = daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
                self.fail(f"the daemon did not stop within 30s of SIGTERM; see {self.agent.log_path}")
        self.assertEqual(code, 0, f"daemon exit code; see {self.agent.log_path}")

        check_final(self, self.agent, ex, self.resources, rejected={bad.batch_id})

        # The corrupted batch: rejected with CHECKSUM_MISMATCH over the bytes the exchange served.
        served = corrupted((ex.batch_dir(bad.batch_id) / "payload").read_bytes())
        rec = ex.receipt(bad.batch_id)
        self.assertEqual(rec["error"]["code"], "CHECKSUM_MISMATCH")
        self.assertEqual(rec["payload_sha256"], hashlib.sha256(served).hexdigest())
        self.assertEqual(rec["counts"], {"rows": 0, "deleted": 0})
        kept = self.agent.state / "rejected" / f"{bad.batch_id}.payload"
        self.assertEqual(kept.read_bytes(), served)
        log = fault_log(ex)
        fetches = [e for e in log if e["route"] == "payload" and e["id"] == bad.batch_id]
        self.assertGreaterEqual(len([e for e in fetches if e["range"] is None]), 1)

        # Every fault bit, and the agent went through each.
        bitten = {f for e in log for f in e["faults"]}
        self.assertEqual(sorted(bitten), ALL_FAULTS)
        self.assertIn("not after seq", self.agent.log())  # a duplicate listing was refused
        resent = [e for e in ex.receipt_log() if e["status"] == 200]
        self.assertTrue(resent, "no receipt was sent again after its answer was lost")
        counts = {f: sum(f in e["faults"] for e in log) for f in ALL_FAULTS}
        print(f"\nchaos: {runs} sync --once runs and the daemon, {len(log)} requests, "
              f"{len(fetches)} payload requests for the corrupted batch, faults {counts}, "
              f"{time.monotonic() - self.started:.1f}s", flush=True)


class FaultPlanTest(unittest.TestCase):
    """The faults themselves, as an HTTP client sees them."""

    SCHEMA = dict(harness.SAMPLE_SCHEMA, name="plan_t")

    def exchange(self, plan):
        ex = harness.Exchange()
        self.addCleanup(ex.close)
        ex.subscribe("R-PLAN", kind="table")
        csv = "id,name,reg_capital,established,updated_at\n" + "".join(
            f"{i},name {i},{i}.00,2026-01-01,\n" for i in range(1, 5001))
        ex.publish_table("R-PLAN", self.SCHEMA, csv=csv, batch_id="B-PLAN-1", compression="none")
        ex.publish_table("R-PLAN", self.SCHEMA, csv=csv, batch_id="B-PLAN-2", compression="none")
        write_plan(ex, plan)
        ex.start()
        return ex

    def curl(self, ex, path, *args):
        """(exit code, HTTP status, body bytes, headers text) from curl."""
        proc = subprocess.run(
            ["curl", "-sS", "-D", "-", "-o", str(ex.tmp / "body"), "-w", "\n%{http_code}",
             "-H", f"Authorization: Bearer {ex.token}", "-H", f"X-FEP-Node: {ex.node}",
             *args, ex.url + path], capture_output=True, text=True, timeout=30)
        headers, _, status = proc.stdout.rpartition("\n")
        body = ex.tmp / "body"
        data = body.read_bytes() if body.exists() else b""
        body.unlink(missing_ok=True)
        return proc.returncode, int(status), data, headers

    def payload(self, ex, batch="B-PLAN-1"):
        return (ex.batch_dir(batch) / "payload").read_bytes()

    def test_each_fault_as_the_client_sees_it(self):
        ex = self.exchange({"first": {"error_500": 1}})
        rc, status, _, _ = self.curl(ex, "/v1/subscriptions")
        self.assertEqual((rc, status), (0, 500))
        self.assertEqual(self.curl(ex, "/v1/subscriptions")[1], 200)

        ex = self.exchange({"rates": {"error_429": 1}})
        rc, status, _, headers = self.curl(ex, "/v1/batches/B-PLAN-1/manifest")
        self.assertEqual(status, 429)
        self.assertIn("Retry-After: 1", headers)

        ex = self.exchange({"rates": {"reset_payload": 1}})
        rc, _, body, _ = self.curl(ex, "/v1/batches/B-PLAN-1/payload")
        self.assertEqual(rc, 56)  # CURLE_RECV_ERROR: connection reset
        self.assertLess(len(body), len(self.payload(ex)))

        ex = self.exchange({"rates": {"short_body": 1}})
        for path in ("/v1/batches/B-PLAN-1/payload", "/v1/batches/B-PLAN-1/manifest",
                     "/v1/resources/R-PLAN/batches", "/v1/subscriptions"):
            rc, status, body, headers = self.curl(ex, path)
            self.assertEqual((rc, status), (18, 200), path)  # CURLE_PARTIAL_FILE
            length = int(next(l.split(":")[1] for l in headers.splitlines()
                              if l.lower().startswith("content-length")))
            self.assertEqual(len(body), length // 2, path)

        ex = self.exchange({"rates": {"slow_drip": 1}, "drip_pieces": 5, "drip_pause_ms": 100})
        t0 = time.monotonic()
        rc, status, body, _ = self.curl(ex, "/v1/batches/B-PLAN-1/payload")
        self.assertEqual((rc, status, body), (0, 200, self.payload(ex)))
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)

        ex = self.exchange({"rates": {"ignore_range": 1}})
        rc, status, body, _ = self.curl(ex, "/v1/batches/B-PLAN-1/payload", "-H", "Range: bytes=100-")
        self.assertEqual((rc, status, body), (0, 200, self.payload(ex)))

        ex = self.exchange({"rates": {"duplicate_listing": 1}})
        _, _, body, _ = self.curl(ex, "/v1/resources/R-PLAN/batches?after=0")
        self.assertEqual([b["seq"] for b in json.loads(body)["batches"]], [1, 2, 2])
        _, _, body, _ = self.curl(ex, "/v1/resources/R-PLAN/batches?after=1")
        self.assertEqual([b["seq"] for b in json.loads(body)["batches"]], [1, 2])

        ex = self.exchange({"max_page": 1})
        _, _, body, _ = self.curl(ex, "/v1/resources/R-PLAN/batches?after=0")
        self.assertEqual(json.loads(body)["more"], True)
        self.assertEqual(len(json.loads(body)["batches"]), 1)

        ex = self.exchange({"corrupt_batches": ["B-PLAN-2"]})
        whole = self.curl(ex, "/v1/batches/B-PLAN-2/payload")[2]
        self.assertEqual(whole, corrupted(self.payload(ex, "B-PLAN-2")))
        self.assertNotEqual(hashlib.sha256(whole).hexdigest(), ex.manifest("B-PLAN-2")["payload"]["sha256"])
        tail = self.curl(ex, "/v1/batches/B-PLAN-2/payload", "-H", "Range: bytes=1000-")[2]
        self.assertEqual(tail, whole[1000:])  # resumed and fresh downloads agree
        self.assertEqual(self.curl(ex, "/v1/batches/B-PLAN-1/payload")[2], self.payload(ex))

    def test_a_lost_receipt_answer_is_stored(self):
        ex = self.exchange({"rates": {"lose_receipt_answer": 1}})
        m = ex.manifest("B-PLAN-1")
        receipt = {"receipt_id": "r-1", "batch_id": "B-PLAN-1", "resource_id": "R-PLAN", "seq": 1,
                   "node": ex.node, "status": "applied", "counts": {"rows": 5000, "deleted": 0},
                   "payload_sha256": m["payload"]["sha256"],
                   "applied_at": "2026-11-20T02:03:11+08:00", "error": None, "agent": "test"}
        rc, _, _, _ = self.curl(ex, "/v1/receipts", "-H", "Content-Type: application/json",
                                "-d", json.dumps(receipt))
        self.assertEqual(rc, 52)  # CURLE_GOT_NOTHING: no answer at all
        self.assertEqual(ex.receipt("B-PLAN-1"), receipt)
        rc, _, _, _ = self.curl(ex, "/v1/receipts", "-H", "Content-Type: application/json",
                                "-d", json.dumps(receipt))
        self.assertEqual([e["status"] for e in ex.receipt_log()], [201, 200])
        # A refused receipt keeps its answer.
        receipt["receipt_id"] = "r-2"
        rc, status, _, _ = self.curl(ex, "/v1/receipts", "-H", "Content-Type: application/json",
                                     "-d", json.dumps(receipt))
        self.assertEqual((rc, status), (0, 409))
        self.assertEqual([e["faults"] for e in fault_log(ex)],
                         [["lose_receipt_answer"], ["lose_receipt_answer"], []])

    def test_same_seed_same_requests_same_faults(self):
        plan = {"seed": 99, "rates": dict(HIGH_RATES, reset_payload=0, short_body=0, slow_drip=0)}
        runs = []
        for _ in range(2):
            ex = self.exchange(plan)
            for i in range(60):
                path = ["/v1/subscriptions", "/v1/resources/R-PLAN/batches?after=1",
                        "/v1/batches/B-PLAN-1/manifest"][i % 3]
                self.curl(ex, path)
            runs.append([e["faults"] for e in fault_log(ex)])
        self.assertEqual(runs[0], runs[1])
        self.assertTrue(any(runs[0]) and not all(runs[0]))
        other = self.exchange(dict(plan, seed=100))
        for i in range(60):
            self.curl(other, ["/v1/subscriptions", "/v1/resources/R-PLAN/batches?after=1",
                              "/v1/batches/B-PLAN-1/manifest"][i % 3])
        self.assertNotEqual([e["faults"] for e in fault_log(other)], runs[0])

    def test_a_bad_plan_is_refused(self):
        for plan, message in (({"rates": {"error_503": 0.1}}, 'unknown fault "rates.error_503"'),
                              ({"rates": {"error_500": 2}}, "from 0 to 1"),
                              ({"nope": 1}, 'unknown member "nope"')):
            ex = harness.Exchange()
            self.addCleanup(ex.close)
            write_plan(ex, plan)
            with self.assertRaises(harness.HarnessError):
                ex.start()
            self.assertIn(message, ex.log())


class CorruptPayloadTest(unittest.TestCase):
    """A payload that does not match its manifest is downloaded again from the start before it
    is rejected, when the bytes on disk were not all fetched in one piece."""

    def setUp(self):
        self.ex = harness.Exchange()
        self.addCleanup(self.ex.close)
        self.tmp = Path(tempfile.mkdtemp(prefix="fep-chaos-corrupt-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.t = TableResource("R-CORRUPT", "corrupt_t", 5)
        self.ex.subscribe(self.t.id, kind="table")
        self.bad = self.t.publish_full(self.ex, 20000, rejected=True)

    def fetches(self):
        return [(e["range"], e["faults"]) for e in fault_log(self.ex)
                if e["route"] == "payload" and e["id"] == self.bad.batch_id]

    def assertRejectedAfterAFreshFetch(self):
        self.assertEqual(self.agent.run("sync", "--once"), 2)
        rec = self.ex.receipt(self.bad.batch_id)
        self.assertEqual(rec["error"]["code"], "CHECKSUM_MISMATCH")
        fetches = self.fetches()
        self.assertIsNone(fetches[-1][0], f"rejected after a resumed download: {fetches}")

    def test_spool_left_by_an_earlier_run_is_fetched_again(self):
        write_plan(self.ex, {"corrupt_batches": [self.bad.batch_id]})
        self.ex.start()
        self.agent = ChaosAgent(self.ex, self.tmp, [self.t])
        spool = self.agent.state / "spool"
        spool.mkdir(parents=True)
        served = corrupted((self.ex.batch_dir(self.bad.batch_id) / "payload").read_bytes())
        (spool / f"{self.bad.batch_id}.payload").write_bytes(served[:1000])
        self.assertRejectedAfterAFreshFetch()
        self.assertEqual([f[0] for f in self.fetches()], ["bytes=1000-", None])

    def test_download_resumed_in_the_same_run_is_fetched_again(self):
        # The first payload request is reset half-way; the agent resumes it with Range in the
        # same run, then finds the mismatch. The bytes on disk come from two transfers, as they
        # do when a spool is left by an earlier run, so it should fetch once more from the start.
        write_plan(self.ex, {"corrupt_batches": [self.bad.batch_id], "first": {"reset_payload": 1}})
        self.ex.start()
        self.agent = ChaosAgent(self.ex, self.tmp, [self.t])
        self.assertRejectedAfterAFreshFetch()


if __name__ == "__main__":
    unittest.main()
