"""`fep-agent run` against exchange-sim: schedules, reload, the control socket, shutdown."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import harness

R1, R2 = "R-DAEMON-0001", "R-DAEMON-0002"
CSV = "id,name,reg_capital,established,updated_at\n1,甲,1.00,2026-01-01,\n"


def schema(name):
    return dict(harness.SAMPLE_SCHEMA, name=name)


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.exchange = harness.Exchange()
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.tmp = Path(tempfile.mkdtemp(prefix="fep-daemon-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        for r in (R1, R2):
            self.exchange.subscribe(r, name=r, kind="table", status="approved")
        self.agent = harness.Agent(self.exchange, self.tmp, resources=())
        self.socket = self.tmp / "control.sock"
        self.write_config(R2_schedule="every 1s")
        self.proc = None
        self.addCleanup(self.kill)

    def write_config(self, R2_schedule, broken=False):
        text = self.agent.config.read_text(encoding="utf-8")
        text = text[: text.index("resources:")]
        text += (
            "resources:\n"
            f"  - {{id: {R1}, target: local_db, schedule: every 1s}}\n"
            f"  - {{id: {R2}, target: local_db, schedule: \"{R2_schedule}\"}}\n"
            "daemon:\n"
            "  workers: 2\n"
            "  heartbeat_interval: 1s\n"
            "  receipts_interval: 1s\n"
            "  jitter: 1ms\n"
            "  shutdown_grace: 10s\n"
            f"  control_socket: {self.socket}\n")
        if broken:
            text += "  no_such_key: 1\n"
        self.agent.config.write_text(text, encoding="utf-8")

    def start(self, env=None):
        self.log = open(self.tmp / "daemon.log", "wb")
        self.proc = subprocess.Popen([harness.agent_bin(), "--config", str(self.agent.config), "run"],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **(env or {})))
        harness.wait_until(lambda: self.socket.exists() or self.proc.poll() is not None,
                           timeout=20, what="the daemon's control socket")
        self.assertIsNone(self.proc.poll(), self.daemon_log())

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def daemon_log(self):
        return (self.tmp / "daemon.log").read_text(errors="replace")

    def applied(self, batch):
        receipt = self.exchange.receipt(batch)
        return receipt is not None and receipt["status"] == "applied"

    def test_schedules_reload_control_socket_and_shutdown(self):
        self.start()
        # Batches published while it runs are applied without restarting it.
        b1 = self.exchange.publish_table(R1, schema=schema("t1"), csv=CSV, mode="full")
        b2 = self.exchange.publish_table(R2, schema=schema("t2"), csv=CSV, mode="full")
        harness.wait_until(lambda: self.applied(b1) and self.applied(b2), timeout=30,
                           what="both batches applied")
        harness.wait_until(lambda: self.exchange.heartbeats(), timeout=10, what="a heartbeat")
        beat = self.exchange.heartbeats()[-1]["heartbeat"]
        self.assertEqual({r["resource_id"] for r in beat["resources"]}, {R1, R2})

        # A second daemon on the same state directory is refused.
        second = subprocess.run([harness.agent_bin(), "--config", str(self.agent.config), "run"],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(second.returncode, 1)
        self.assertIn("another fep-agent is running", second.stderr)

        # SIGHUP with R2 now manual: its next batch waits for `sync --now`.
        self.write_config(R2_schedule="manual")
        self.proc.send_signal(signal.SIGHUP)
        harness.wait_until(lambda: "configuration reloaded" in self.daemon_log(), timeout=10,
                           what="the reload")
        b3 = self.exchange.publish_table(R2, schema=schema("t2"), csv=CSV, mode="full")
        b4 = self.exchange.publish_table(R1, schema=schema("t1"), csv=CSV, mode="full")
        harness.wait_until(lambda: self.applied(b4), timeout=30, what="R1 still on schedule")
        self.assertFalse(self.applied(b3), "a manual resource synced on its own")
        now = self.agent.run("sync", "--now", R2)
        self.assertEqual(now.returncode, 0, now.stderr)
        self.assertIn("applied 1", now.stdout)
        self.assertTrue(self.applied(b3))

        # SIGHUP with a broken file keeps the configuration in use.
        self.write_config(R2_schedule="manual", broken=True)
        self.proc.send_signal(signal.SIGHUP)
        harness.wait_until(lambda: "keeping the configuration in use" in self.daemon_log(),
                           timeout=10, what="the refused reload")
        b5 = self.exchange.publish_table(R1, schema=schema("t1"), csv=CSV, mode="full")
        harness.wait_until(lambda: self.applied(b5), timeout=30, what="R1 after a bad reload")

        # SIGTERM: a clean exit well within the grace time.
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=20), 0, self.daemon_log())
        self.assertLess(time.monotonic() - started, 12)
        self.assertFalse(self.socket.exists())

    def test_a_busy_target_makes_the_main_loop_wait_not_spin(self):
        # R1 and R2 share the SQLite target, which takes one batch at a time: while R1's large
        # batch loads, R2 is due and must wait. The loop tells systemd its status once per pass
        # (sd_notify STATUS=), so the messages count the passes.
        header = CSV.split("\n")[0] + "\n"
        rows = "".join(f"{i},名称{i},{i}.00,2026-01-01,\n" for i in range(1, 150001))
        big = self.exchange.publish_table(R1, schema=schema("t1"), csv=header + rows, mode="full")
        small = self.exchange.publish_table(R2, schema=schema("t2"), csv=CSV, mode="full")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(notify.close)
        notify.bind(str(self.tmp / "notify.sock"))
        notify.settimeout(0.1)
        self.start(env={"NOTIFY_SOCKET": str(self.tmp / "notify.sock")})
        messages = []
        deadline = time.monotonic() + 120
        while not (self.applied(big) and self.applied(small)) and time.monotonic() < deadline:
            try:
                messages.append(notify.recv(4096).decode())
            except socket.timeout:
                pass
        self.assertTrue(self.applied(big) and self.applied(small), self.daemon_log())
        statuses = [m for m in messages if "STATUS=" in m]
        self.assertTrue(any("syncing" in m for m in statuses), statuses[:5])
        self.assertLess(len(statuses), 200, "the main loop spun while the target was busy")

    def test_an_unresponsive_platform_neither_holds_up_start_nor_starves_the_watchdog(self):
        # A platform that takes connections and never answers: each request hangs until the
        # low-speed timeout (30 s). The daemon must still come up (control socket, READY=1) and
        # keep telling systemd's watchdog it is alive while its requests hang.
        stall = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(stall.close)
        stall.bind(("127.0.0.1", 0))
        stall.listen(16)
        text = self.agent.config.read_text(encoding="utf-8")
        text = text.replace(f"  url: {self.exchange.url}\n",
                            f"  url: http://127.0.0.1:{stall.getsockname()[1]}\n"
                            "  low_speed_time: 30s\n")
        self.agent.config.write_text(text, encoding="utf-8")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(notify.close)
        notify.bind(str(self.tmp / "notify.sock"))
        notify.settimeout(0.2)
        self.start(env={"NOTIFY_SOCKET": str(self.tmp / "notify.sock"), "WATCHDOG_USEC": "2000000"})
        messages = []
        deadline = time.monotonic() + 20  # within the first request's 30 s hang
        while time.monotonic() < deadline and not (
                "READY=1" in messages and messages.count("WATCHDOG=1") >= 3):
            try:
                messages.extend(notify.recv(4096).decode().split("\n"))
            except socket.timeout:
                pass
        self.assertIn("READY=1", messages, self.daemon_log())
        self.assertGreaterEqual(messages.count("WATCHDOG=1"), 3, messages)
        self.assertIsNone(self.proc.poll(), self.daemon_log())

    def test_sync_now_without_a_daemon_syncs_in_process(self):
        batch = self.exchange.publish_table(R1, schema=schema("t1"), csv=CSV, mode="full")
        now = self.agent.run("sync", "--now", R1)
        self.assertEqual(now.returncode, 0, now.stderr)
        self.assertIn("syncing in this process", now.stderr)
        self.assertTrue(self.applied(batch))


if __name__ == "__main__":
    unittest.main()
