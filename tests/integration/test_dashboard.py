"""The status dashboard, JSON API and metrics: `fep-agent run` against exchange-sim, read over
HTTP and rendered by a real browser (Debian's chromium, headless).

Two resources with Chinese names; one gets a batch with a bad CSV line, is rejected and blocks.
The endpoint is the daemon's (status.listen); `fep-status-serve` serves the same state database
read-only beside the running daemon. Chromium is required: without it the test fails.

The screenshot goes to $FEP_SCREENSHOT_DIR, else <build dir>/screenshots, else /tmp.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

import harness

R_OK, R_BAD = "R-SCJG-0101", "R-ZRZY-0102"
NAME_OK, NAME_BAD = "企业登记信息", "不动产登记簿"
GOOD_CSV = ("id,name,reg_capital,established,updated_at\n"
            "1,甲公司,1.00,2026-01-01,\n2,乙公司,2.00,2026-01-02,\n3,丙公司,3.00,2026-01-03,\n")
BAD_CSV = ("id,name,reg_capital,established,updated_at\n"
           "1,甲公司,1.00,2026-01-01,\n2,too,few\n")

BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_dir():
    """The CMake build directory that holds fep-agent (the folder with CMakeCache.txt)."""
    for parent in Path(harness.agent_bin()).parents:
        if (parent / "CMakeCache.txt").exists():
            return parent
    return None


def status_serve_bin():
    path = os.environ.get("FEP_STATUS_SERVE_BIN")
    if not path and build_dir():
        path = str(build_dir() / "agent" / "status" / "fep-status-serve")
    if not path or not os.access(path, os.X_OK):
        raise harness.HarnessError(f"fep-status-serve not found ({path}); build it or set "
                                   "FEP_STATUS_SERVE_BIN")
    return path


def screenshot_dir():
    if os.environ.get("FEP_SCREENSHOT_DIR"):
        return Path(os.environ["FEP_SCREENSHOT_DIR"])
    return build_dir() / "screenshots" if build_dir() else Path("/tmp")


def http(method, url, body=None):
    """(status, headers, text) of one request, errors included."""
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.headers, err.read().decode()


def answers(base):
    try:
        return http("GET", base + "/api/v1/status")[0] in (200, 503)
    except OSError:
        return False


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        cls.tmp = Path(tempfile.mkdtemp(prefix="fep-dashboard-test-"))
        cls.procs = []
        cls.exchange = harness.Exchange()
        cls.exchange.__enter__()
        try:
            cls.start_agent()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for proc in cls.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        cls.exchange.close()
        if not os.environ.get("FEP_KEEP_TMP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def start_agent(cls):
        ex = cls.exchange
        ex.subscribe(R_OK, name=NAME_OK, kind="table", provider="市场监督管理局", status="approved")
        ex.subscribe(R_BAD, name=NAME_BAD, kind="table", provider="自然资源和规划局",
                     status="approved")
        cls.good = ex.publish_table(R_OK, schema=dict(harness.SAMPLE_SCHEMA, name="ent_reg"),
                                    csv=GOOD_CSV, mode="full")
        cls.bad = ex.publish_table(R_BAD, schema=dict(harness.SAMPLE_SCHEMA, name="parcels"),
                                   csv=BAD_CSV, mode="full")

        agent = harness.Agent(ex, cls.tmp / "agent", resources=())
        cls.port = free_port()
        cls.socket = cls.tmp / "control.sock"
        text = agent.config.read_text(encoding="utf-8")
        text = text[: text.index("resources:")]
        text += ("resources:\n"
                 f"  - {{id: {R_OK}, target: local_db, schedule: every 1s}}\n"
                 f"  - {{id: {R_BAD}, target: local_db, schedule: every 1s}}\n"
                 "daemon:\n"
                 "  max_connections: 1\n"  # one SQLite file: one writer at a time
                 "  heartbeat_interval: 1s\n"
                 "  receipts_interval: 1s\n"
                 "  jitter: 1ms\n"
                 "  shutdown_grace: 10s\n"
                 f"  control_socket: {cls.socket}\n"
                 "status:\n"
                 f"  listen: 127.0.0.1:{cls.port}\n")
        agent.config.write_text(text, encoding="utf-8")
        cls.agent = agent
        cls.log_path = cls.tmp / "daemon.log"
        with open(cls.log_path, "wb") as log:
            cls.daemon = subprocess.Popen(
                [harness.agent_bin(), "--config", str(agent.config), "run"],
                stdout=log, stderr=subprocess.STDOUT)
        cls.procs.append(cls.daemon)
        harness.wait_until(lambda: cls.socket.exists() or cls.daemon.poll() is not None,
                           timeout=20, what="the daemon's control socket")
        assert cls.daemon.poll() is None, cls.daemon_log()

        def receipted():
            good, bad = ex.receipt(cls.good), ex.receipt(cls.bad)
            return good and bad and good["status"] == "applied" and bad["status"] == "rejected"
        harness.wait_until(receipted, timeout=60, what="both batches decided")

        # The daemon's own endpoint (status.listen).
        cls.daemon_base = f"http://127.0.0.1:{cls.port}"
        try:
            harness.wait_until(lambda: answers(cls.daemon_base), timeout=10,
                               what="the daemon's status endpoint")
        except harness.HarnessError:
            raise harness.HarnessError("the daemon's status endpoint does not answer:\n" +
                                       cls.daemon_log())

        # fep-status-serve over the same database, read-only, while the daemon writes.
        serve = subprocess.Popen(
            [status_serve_bin(), "--listen", "127.0.0.1:0", "--state-db",
             str(agent.state / "state.db"), "--node", harness.DEFAULT_NODE],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        cls.procs.append(serve)
        line = serve.stdout.readline().strip()
        assert line.startswith("listening on 127.0.0.1:"), line
        cls.serve_base = "http://" + line[len("listening on "):]
        cls.base = cls.daemon_base

    @classmethod
    def daemon_log(cls):
        return cls.log_path.read_text(errors="replace")

    def get_json(self, path, base=None):
        status, headers, text = http("GET", (base or self.base) + path)
        self.assertEqual(status, 200, text)
        self.assertTrue(headers["Content-Type"].startswith("application/json"))
        return json.loads(text)

    # --- JSON API and metrics --------------------------------------------------------------------

    def test_api_status(self):
        doc = self.get_json("/api/v1/status")
        self.assertTrue(doc["state_database"]["ok"])
        self.assertEqual(doc["agent"]["node"], harness.DEFAULT_NODE)
        resources = {r["resource_id"]: r for r in doc["resources"]}
        self.assertEqual(set(resources), {R_OK, R_BAD})
        ok, bad = resources[R_OK], resources[R_BAD]
        self.assertEqual(ok["name"], NAME_OK)
        self.assertIn(ok["health"], ("ok", "syncing"))
        self.assertEqual(ok["rows_applied_total"], 3)
        self.assertEqual(ok["batches"]["applied"], 1)
        self.assertEqual(bad["name"], NAME_BAD)
        self.assertEqual(bad["state"], "blocked")
        self.assertEqual(bad["health"], "blocked")
        self.assertEqual(bad["action"]["command"], f"fep-agent unblock {R_BAD}")
        self.assertEqual(bad["last_rejected"]["batch_id"], self.bad)
        self.assertEqual(bad["last_rejected"]["error_code"], "PAYLOAD_INVALID")
        self.assertEqual(doc["summary"]["blocked"], 1)
        self.assertEqual(len(doc["rows_per_day"]), 30)
        self.assertEqual(doc["rows_per_day"][-1]["rows"], 3)

        batches = self.get_json(f"/api/v1/resources/{R_BAD}/batches?limit=5")["batches"]
        self.assertEqual([(b["batch_id"], b["state"]) for b in batches], [(self.bad, "rejected")])
        self.assertIn("line 3", batches[0]["error_message"])
        events = self.get_json("/api/v1/events?limit=3")["events"]
        self.assertLessEqual(len(events), 3)
        self.assertTrue(events)

    def test_both_endpoints_read_the_same_state(self):
        ids = lambda base: sorted(r["resource_id"] for r in
                                  self.get_json("/api/v1/resources", base)["resources"])
        self.assertEqual(ids(self.daemon_base), ids(self.serve_base))
        self.assertEqual(self.get_json("/api/v1/status", self.daemon_base)["agent"]["node"],
                         harness.DEFAULT_NODE)

    def test_metrics(self):
        for base in filter(None, (self.daemon_base, self.serve_base)):
            status, headers, text = http("GET", base + "/metrics")
            self.assertEqual(status, 200)
            self.assertTrue(headers["Content-Type"].startswith("text/plain; version=0.0.4"))
            self.assertIn("fep_up 1\n", text)
            self.assertRegex(text, r'fep_info\{version="[0-9.]+",node="N-TEST-001"\} 1\n')
            self.assertIn(f'fep_batches_total{{resource="{R_BAD}",status="rejected"}} 1\n', text)
            self.assertIn(f'fep_batches_total{{resource="{R_OK}",status="applied"}} 1\n', text)
            self.assertIn(f'fep_rows_applied_total{{resource="{R_OK}"}} 3\n', text)
            self.assertIn(f'fep_resource_state{{resource="{R_BAD}",state="blocked"}} 1\n', text)
            self.assertRegex(text, rf'fep_resource_last_success_timestamp_seconds\{{resource="{R_OK}"\}} \d{{10}}\n')
            self.assertRegex(text, r"fep_receipts_pending \d+\n")
            self.assertIn(f'name="{NAME_OK}"', text)

    def test_read_only(self):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            status, headers, _ = http(method, self.base + "/api/v1/status", body=b"{}")
            self.assertEqual(status, 405, method)
            self.assertEqual(headers["Allow"], "GET, HEAD")

    # --- the page in a browser -------------------------------------------------------------------

    def browser(self, *args):
        self.assertIsNotNone(self.chromium,
                             "chromium is not installed: run scripts/install-deps (Debian: chromium)")
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.tmp)
        proc = subprocess.run([self.chromium, *BROWSER_FLAGS, f"--user-data-dir={profile}",
                               "--virtual-time-budget=5000", *args],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        return proc.stdout

    @staticmethod
    def visible(dom):
        """The rendered page without its script (whose dictionaries hold both languages)."""
        return dom.split('<script id="initial-status"')[0]

    def row(self, dom, resource):
        match = re.search(rf'<tr data-resource="{resource}"[^>]*>.*?</tr>', dom, re.S)
        self.assertIsNotNone(match, f"no row for {resource}")
        return match.group(0)

    def test_dashboard_in_chinese(self):
        dom = self.visible(self.browser("--dump-dom", self.base + "/"))
        self.assertIn('<html lang="zh-CN"', dom)
        self.assertIn("前置机数据同步状态", dom)
        ok, bad = self.row(dom, R_OK), self.row(dom, R_BAD)
        self.assertIn(NAME_OK, ok)
        self.assertIn(NAME_BAD, bad)
        self.assertIn('data-health="blocked"', bad)
        self.assertIn("已阻塞", bad)
        self.assertRegex(ok, r'data-health="(ok|syncing)"')
        attention = re.search(rf'<li[^>]*data-resource="{R_BAD}"[^>]*data-action="unblock".*?</li>',
                              dom, re.S)
        self.assertIsNotNone(attention, "no unblock action for the blocked resource")
        self.assertIn(f"fep-agent unblock {R_BAD}", attention.group(0))
        self.assertIn("PAYLOAD_INVALID", attention.group(0))
        self.assertIn("被拒收", attention.group(0))
        self.assertRegex(dom, r'<svg[^>]*class="chart"')
        self.assertRegex(dom, r'<rect[^>]*class="bar"[^>]*data-rows="3"')
        self.assertIn("fep-agent 0.", dom)  # the agent's own health: its version

    def test_dashboard_in_english(self):
        dom = self.visible(self.browser("--dump-dom", self.base + "/?lang=en"))
        self.assertIn('<html lang="en"', dom)
        self.assertIn("Needs attention", dom)
        self.assertIn("Rows applied per day", dom)
        self.assertIn("Blocked", self.row(dom, R_BAD))
        self.assertIn(NAME_BAD, self.row(dom, R_BAD))  # data stays as the platform named it
        self.assertFalse(re.search("需要处理|已阻塞|资源编号", dom), "Chinese labels in the English page")

    def test_screenshot(self):
        out_dir = screenshot_dir()
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "dashboard.png"
        if path.exists():
            path.unlink()
        self.browser(f"--screenshot={path}", "--window-size=1280,900", "--hide-scrollbars",
                     self.base + "/")
        self.assertTrue(path.exists(), "chromium wrote no screenshot")
        self.assertEqual(path.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")
        self.assertGreater(path.stat().st_size, 10000)
        print(f"dashboard screenshot: {path}")


if __name__ == "__main__":
    unittest.main()
