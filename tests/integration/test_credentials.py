"""What the platform refuses and only an operator can fix: credentials (401, 403) and receipts
(400, 404, 409). The real fep-agent binary against exchange-sim.

401 comes from a wrong token (exchange-sim reads its token file on every request, so a test can
revoke the token while the agent runs); 403 for one resource from the fault plan's
`forbidden_resources`. A refused receipt comes from a different receipt posted for the batch
first: the exchange keeps the first one and answers the agent's with 409."""

import json
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid
from pathlib import Path

import harness
from harness import Agent

R1, R2 = "R-CRED-0001", "R-CRED-0002"
CSV = "id,name,reg_capital,established,updated_at\n1,甲,1.00,2026-01-01,\n2,乙,2.00,2026-01-02,\n"


def schema(name):
    return dict(harness.SAMPLE_SCHEMA, name=name)


def write_plan(exchange, plan):
    path = exchange.tmp / "faults.json"
    path.write_text(json.dumps(plan))
    exchange.extra_args = ["--faults", str(path)]


def json_lines(path):
    """The complete JSON lines of a log the exchange may be appending to right now."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            pass  # the line being written
    return out


def fault_log(exchange):
    return json_lines(exchange.root / "faults.log")


class CredentialsTest(unittest.TestCase):
    def setUp(self):
        self.exchange = harness.Exchange()
        self.addCleanup(self.exchange.close)
        self.tmp = Path(tempfile.mkdtemp(prefix="fep-credentials-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        for r in (R1, R2):
            self.exchange.subscribe(r, name=r, kind="table", status="approved")
        self.batches = {r: self.exchange.publish_table(r, schema=schema(r.replace("-", "_")),
                                                       csv=CSV, mode="full")
                        for r in (R1, R2)}
        self.proc = None
        self.addCleanup(self.kill)

    def agent(self):
        self.exchange.start()
        return Agent(self.exchange, self.tmp / "agent", resources=(R1, R2))

    def sync(self, agent, code):
        proc = agent.sync()
        self.assertEqual(proc.returncode, code, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    @staticmethod
    def states(agent):
        return {r["resource_id"]: r for r in agent.status()["resources"]}

    def assertCredentialsRejected(self, status, http_status, platform_message):
        self.assertEqual(status["state"], "error", status)
        error = status["last_error"]
        self.assertTrue(error.startswith("credentials rejected: "), error)
        self.assertIn(f"HTTP {http_status}", error)
        self.assertIn(platform_message, error)

    def applied(self, resource):
        receipt = self.exchange.receipt(self.batches[resource])
        return receipt is not None and receipt["status"] == "applied"

    def requests(self, pattern):
        """exchange-sim's log lines (one per request answered) that match `pattern`."""
        return [line for line in self.exchange.log().splitlines() if re.search(pattern, line)]

    def test_a_receipt_refused_with_an_unlisted_4xx_is_not_resent_and_holds_up_nothing(self):
        # 422 is not one of the protocol's receipt answers, but any 4xx other than 408 and 429
        # is final for the request: the receipt is refused, and the receipts after it still go.
        write_plan(self.exchange, {"receipt_status": {self.batches[R1]: 422}})
        agent = self.agent()
        proc = self.sync(agent, 3)
        self.assertIn("refused", proc.stderr)
        self.assertIsNone(self.exchange.receipt(self.batches[R1]))
        self.assertTrue(self.applied(R2))
        refused = agent.status()["refused_receipts"]
        self.assertEqual([(r["batch_id"], r["last_http_status"]) for r in refused],
                         [(self.batches[R1], 422)])
        posts = len(self.requests(r"POST /v1/receipts"))
        self.sync(agent, 0)
        self.assertEqual(len(self.requests(r"POST /v1/receipts")), posts,
                         "a refused receipt is not sent again")

    def test_a_refused_token_stops_every_resource_until_it_is_fixed(self):
        agent = self.agent()
        agent.token_file.write_text("a-revoked-token\n")
        proc = self.sync(agent, 1)
        states = self.states(agent)
        for r in (R1, R2):
            self.assertCredentialsRejected(states[r], 401, "missing or wrong bearer token")
            self.assertIn("exchange.token_file", states[r]["last_error"])
        self.assertIn("credentials rejected", proc.stderr)
        self.assertNotIn("a-revoked-token", proc.stdout + proc.stderr)
        # Asked once: a 401 is not retried, and nothing else was asked.
        self.assertEqual(len(self.requests(r"GET /v1/subscriptions 401")), 1)
        self.assertEqual(self.requests(r"/batches"), [])

        agent.token_file.write_text(harness.DEFAULT_TOKEN + "\n")
        self.sync(agent, 0)
        states = self.states(agent)
        for r in (R1, R2):
            self.assertEqual((states[r]["state"], states[r]["last_error"]), ("idle", None))
            self.assertTrue(self.applied(r))

    def test_a_forbidden_resource_stops_only_that_resource(self):
        write_plan(self.exchange, {"forbidden_resources": [R1]})
        agent = self.agent()
        self.sync(agent, 1)
        states = self.states(agent)
        self.assertCredentialsRejected(states[R1], 403,
                                       f"FORBIDDEN: injected fault: this node may not read "
                                       f"resource {R1}")
        self.assertEqual(states[R2]["state"], "idle")
        self.assertFalse(self.applied(R1))
        self.assertTrue(self.applied(R2))
        listings = [e for e in fault_log(self.exchange)
                    if e["route"] == "batch_list" and e["id"] == R1]
        self.assertEqual([e["faults"] for e in listings], [["forbidden"]])  # not retried

        # The platform grants access again: the next run takes the resource's batches.
        self.exchange.stop()
        self.exchange.extra_args = []
        self.exchange.start()
        self.sync(agent, 0)
        self.assertTrue(self.applied(R1))
        self.assertEqual(self.states(agent)[R1]["state"], "idle")

    # --- the daemon ---------------------------------------------------------------------------

    def start_daemon(self, agent):
        socket = self.tmp / "control.sock"
        text = agent.config.read_text(encoding="utf-8")
        text = text[: text.index("resources:")]
        text += (
            "resources:\n"
            f"  - {{id: {R1}, target: local_db, schedule: every 2s}}\n"
            f"  - {{id: {R2}, target: local_db, schedule: every 2s}}\n"
            "daemon:\n"
            "  heartbeat_interval: 1s\n"
            "  receipts_interval: 1s\n"
            "  subscriptions_interval: 2s\n"
            "  jitter: 1ms\n"
            f"  control_socket: {socket}\n")
        agent.config.write_text(text, encoding="utf-8")
        self.log = open(self.tmp / "daemon.log", "wb")
        self.addCleanup(self.log.close)
        self.proc = subprocess.Popen([harness.agent_bin(), "--config", str(agent.config), "run"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        harness.wait_until(lambda: socket.exists() or self.proc.poll() is not None, timeout=20,
                           what="the daemon's control socket")
        self.assertIsNone(self.proc.poll(), self.daemon_log())

    def daemon_log(self):
        return (self.tmp / "daemon.log").read_text(errors="replace")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def heartbeat_states(self):
        """The resources of the last heartbeat the exchange accepted, by id."""
        beats = [h for h in json_lines(self.exchange.root / "heartbeats.jsonl")
                 if h["status"] == 200]
        if not beats:
            return {}
        return {r["resource_id"]: r for r in beats[-1]["heartbeat"]["resources"]}

    def test_the_daemon_keeps_running_and_tries_again_on_schedule(self):
        write_plan(self.exchange, {"forbidden_resources": [R1]})
        agent = self.agent()
        self.start_daemon(agent)

        # 403 for R1: its heartbeat state is error, R2 goes on.
        def forbidden_reported():
            states = self.heartbeat_states()
            done = (R1 in states and states[R1]["state"] == "error"
                    and (states[R1]["error"] or "").startswith("credentials rejected: ")
                    and states[R2]["state"] == "idle" and self.applied(R2))
            return states if done else None

        states = harness.wait_until(forbidden_reported, timeout=30,
                                    what="the heartbeat to report R1")
        self.assertIn("HTTP 403", states[R1]["error"])
        # Tried again on its schedule (every 2s), not in a loop.
        start = len([e for e in fault_log(self.exchange) if e["route"] == "batch_list"
                     and e["id"] == R1])
        time.sleep(6)
        tries = len([e for e in fault_log(self.exchange) if e["route"] == "batch_list"
                     and e["id"] == R1]) - start
        self.assertGreaterEqual(tries, 1)
        self.assertLessEqual(tries, 5, "R1 was asked for again more often than its schedule")
        self.assertIsNone(self.proc.poll(), self.daemon_log())

        # The token is revoked: every resource stops, the daemon stays up and keeps to its
        # schedules (subscriptions every 2s, each resource every 2s).
        self.exchange.token_file.write_text("a-new-token\n")

        def both_rejected():
            # Between runs: each run sets its resource to syncing until the 401 comes back.
            states = self.states(agent)
            done = all(states[r]["state"] == "error" and
                       "HTTP 401" in (states[r]["last_error"] or "") for r in (R1, R2))
            return states if done else None

        harness.wait_until(both_rejected, timeout=20, what="both resources to report 401")
        before = len(self.requests(r" 401 "))
        time.sleep(4)
        # Per 2 s: the subscriptions, each resource's listing and two heartbeats.
        refused = len(self.requests(r" 401 ")) - before
        self.assertLessEqual(refused, 20, "the daemon asked again and again after a 401")
        self.assertIsNone(self.proc.poll(), self.daemon_log())
        states = harness.wait_until(both_rejected, timeout=20, what="both to report 401 again")
        for r in (R1, R2):
            self.assertCredentialsRejected(states[r], 401, "missing or wrong bearer token")

        # Access comes back: the next scheduled runs apply R1 and report both idle.
        self.exchange.token_file.write_text(harness.DEFAULT_TOKEN + "\n")
        self.exchange.stop()
        self.exchange.extra_args = []
        self.exchange.start()
        second = self.exchange.publish_table(R2, schema=schema(R2.replace("-", "_")), csv=CSV,
                                             mode="full")

        def recovered():
            states = self.heartbeat_states()
            receipt = self.exchange.receipt(second)
            return (self.applied(R1) and receipt is not None and
                    all(states.get(r, {}).get("state") == "idle" for r in (R1, R2)))

        harness.wait_until(recovered, timeout=30, what="both resources to recover")
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=30), 0, self.daemon_log())


class RefusedReceiptTest(unittest.TestCase):
    def setUp(self):
        self.exchange = harness.Exchange()
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.tmp = Path(tempfile.mkdtemp(prefix="fep-refused-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.exchange.subscribe(R1, name=R1, kind="table", status="approved")
        self.agent = Agent(self.exchange, self.tmp, resources=(R1,))

    def test_a_refused_receipt_exits_3_and_shows_in_status(self):
        batch = self.exchange.publish_table(R1, schema=schema("t1"), csv=CSV, mode="full")
        # Another receipt for the batch reaches the platform first: it keeps that one.
        other = {"receipt_id": str(uuid.uuid4()), "batch_id": batch, "resource_id": R1, "seq": 1,
                 "node": self.exchange.node, "status": "superseded",
                 "counts": {"rows": 0, "deleted": 0}, "payload_sha256": None,
                 "applied_at": "2026-11-20T02:03:11+08:00", "error": None,
                 "agent": "another-agent/1.0"}
        status, answer = self.exchange.post_json("/v1/receipts", other)
        self.assertEqual(status, 201, answer)

        proc = self.agent.sync()
        self.assertEqual(proc.returncode, 3, proc.stderr)
        self.assertIn(f"receipt for batch {batch} refused", proc.stderr)
        self.assertEqual(len(self.agent.rows("t1")), 2)  # the batch itself was applied

        status = self.agent.status()
        refused = status["refused_receipts"]
        self.assertEqual([r["batch_id"] for r in refused], [batch])
        self.assertEqual(refused[0]["last_http_status"], 409)
        self.assertIn("409", refused[0]["last_error"])
        self.assertEqual(status["pending_receipts"], [])
        text = self.agent.run("status")
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn(f"receipt for batch {batch} ({R1}) refused by the exchange", text.stdout)

        # Never sent again; a later run with nothing new exits 0.
        proc = self.agent.sync()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        posts = [r["status"] for r in self.exchange.receipt_log() if r["batch_id"] == batch]
        self.assertEqual(posts, [201, 409])
        self.assertEqual(self.exchange.receipt(batch)["receipt_id"], other["receipt_id"])


if __name__ == "__main__":
    unittest.main()
