"""The status dashboard, JSON API and metrics: `fep-agent run` against exchange-sim, read over
HTTP and rendered by a real browser (Debian's chromium, headless).

Three resources with Chinese names: one current; one gets a batch with a bad CSV line, is rejected
and blocks; the third gets a full batch and then an incremental one whose schema the local table
cannot take (SCHEMA_MISMATCH): that batch is held for the operator, without a receipt, and its
resource blocks with the retry, skip and resync commands. The endpoint is the daemon's
(status.listen); `fep-status-serve` serves the same state database read-only beside the running
daemon. Chromium is required: without it the test fails.

The screenshot goes to $FEP_SCREENSHOT_DIR, else <build dir>/screenshots, else /tmp.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import harness

R_OK, R_BAD, R_HELD = "R-SCJG-0101", "R-ZRZY-0102", "R-GAJ-0103"
NAME_OK, NAME_BAD, NAME_HELD = "企业登记信息", "不动产登记簿", "人口基础信息"
HELD_LAG = 2 * 3600  # the held batch was published two hours ago
GOOD_CSV = ("id,name,reg_capital,established,updated_at\n"
            "1,甲公司,1.00,2026-01-01,\n2,乙公司,2.00,2026-01-02,\n3,丙公司,3.00,2026-01-03,\n")
BAD_CSV = ("id,name,reg_capital,established,updated_at\n"
           "1,甲公司,1.00,2026-01-01,\n2,too,few\n")

# The held resource's second batch changes a column's type: the table the first one created
# cannot take it.
HELD_SCHEMA = dict(harness.SAMPLE_SCHEMA, name="people")
CHANGED_SCHEMA = dict(HELD_SCHEMA, columns=[dict(c, type="varchar(20)") if c["name"] == "reg_capital"
                                            else c for c in HELD_SCHEMA["columns"]])


def hours_ago(hours):
    return (datetime.now(timezone.utc) - timedelta(hours=hours)).isoformat(timespec="seconds")


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


class StatusProxy:
    """Serves the daemon's page and API, with /api/v1/status (and the document embedded in the
    page) replaced by `doc`."""

    def __init__(self, upstream, doc):
        text = json.dumps(doc).replace("<", "\\u003c")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, headers, body = http("GET", upstream + self.path)
                if self.path.split("?")[0] == "/api/v1/status":
                    body = text
                elif self.path.split("?")[0] == "/":
                    body = re.sub(r'(<script id="initial-status" type="application/json">).*?'
                                  r'(</script>)', lambda m: m.group(1) + text + m.group(2), body,
                                  count=1, flags=re.S)
                data = body.encode()
                self.send_response(status)
                for name in ("Content-Type", "Content-Security-Policy"):
                    if headers.get(name):
                        self.send_header(name, headers[name])
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


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
        ex.subscribe(R_HELD, name=NAME_HELD, kind="table", provider="公安局", status="approved")
        cls.held_full = ex.publish_table(R_HELD, schema=HELD_SCHEMA, csv=GOOD_CSV, mode="full",
                                         created_at=hours_ago(3))
        cls.held = ex.publish_table(R_HELD, schema=CHANGED_SCHEMA, mode="incremental",
                                    csv=GOOD_CSV.replace("1.00", "one"),
                                    created_at=hours_ago(HELD_LAG / 3600))

        agent = harness.Agent(ex, cls.tmp / "agent", resources=())
        cls.port = free_port()
        cls.socket = cls.tmp / "control.sock"
        text = agent.config.read_text(encoding="utf-8")
        text = text[: text.index("resources:")]
        text += ("resources:\n"
                 f"  - {{id: {R_OK}, target: local_db, schedule: every 1s}}\n"
                 f"  - {{id: {R_BAD}, target: local_db, schedule: every 1s}}\n"
                 f"  - {{id: {R_HELD}, target: local_db, schedule: every 1s}}\n"
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
            full = ex.receipt(cls.held_full)
            return (good and bad and full and good["status"] == "applied" and
                    bad["status"] == "rejected" and full["status"] == "applied")
        harness.wait_until(receipted, timeout=60, what="the first batches decided")

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

        def held():
            doc = json.loads(http("GET", cls.daemon_base + "/api/v1/status")[2])
            return any(r["resource_id"] == R_HELD and r["held_batch"] for r in doc["resources"])
        harness.wait_until(held, timeout=60, what="the second batch of R_HELD held")

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
        self.assertEqual(set(resources), {R_OK, R_BAD, R_HELD})
        ok, bad = resources[R_OK], resources[R_BAD]
        self.assertEqual(ok["name"], NAME_OK)
        self.assertIn(ok["health"], ("ok", "syncing"))
        self.assertEqual(ok["rows_applied_total"], 3)
        self.assertEqual(ok["batches"]["applied"], 1)
        self.assertEqual(ok["lag_seconds"], 0)  # nothing waits
        self.assertEqual(ok["waiting_batches"], 0)
        self.assertIsNone(ok["held_batch"])
        self.assertIsNone(ok["action"])
        self.assertFalse(ok["resync_requested"])
        self.assertIsInstance(ok["pending_receipts"], int)
        self.assertEqual(ok["refused_receipts"], 0)
        self.assertIn("progress", ok)
        self.assertEqual(bad["name"], NAME_BAD)
        self.assertEqual(bad["state"], "blocked")
        self.assertEqual(bad["health"], "blocked")
        self.assertEqual(bad["action"]["code"], "skip")
        self.assertEqual(bad["action"]["command"],
                         f'fep-agent skip {R_BAD} --batch {self.bad} --reason "..."')
        self.assertEqual([c["command"] for c in bad["action"]["commands"]],
                         [f'fep-agent skip {R_BAD} --batch {self.bad} --reason "..."',
                          f"fep-agent resync {R_BAD}"])
        self.assertTrue(bad["action"]["rejected_dir"].endswith("/rejected/"))
        self.assertIsNone(bad["held_batch"])
        self.assertEqual(bad["last_rejected"]["batch_id"], self.bad)
        self.assertEqual(bad["last_rejected"]["error_code"], "PAYLOAD_INVALID")
        self.assertEqual(doc["summary"]["blocked"], 2)
        self.assertEqual(len(doc["rows_per_day"]), 30)
        self.assertEqual(doc["rows_per_day"][-1]["rows"], 6)

        batches = self.get_json(f"/api/v1/resources/{R_BAD}/batches?limit=5")["batches"]
        self.assertEqual([(b["batch_id"], b["state"]) for b in batches], [(self.bad, "rejected")])
        self.assertIn("line 3", batches[0]["error_message"])
        self.assertIn(batches[0]["receipt_state"], ("pending", "delivered"))
        events = self.get_json("/api/v1/events?limit=3")["events"]
        self.assertLessEqual(len(events), 3)
        self.assertTrue(events)

    def test_api_held_batch(self):
        resources = {r["resource_id"]: r for r in self.get_json("/api/v1/status")["resources"]}
        held = resources[R_HELD]
        self.assertEqual(held["state"], "blocked")
        self.assertEqual(held["health"], "blocked")
        self.assertEqual(held["held_batch"]["batch_id"], self.held)
        self.assertEqual(held["held_batch"]["seq"], 2)
        self.assertEqual(held["held_batch"]["state"], "failed")
        self.assertEqual(held["held_batch"]["error_code"], "SCHEMA_MISMATCH")
        self.assertIn("reg_capital", held["held_batch"]["error_message"])
        self.assertIsNone(held["held_batch"]["receipt_state"])
        self.assertIsNone(self.exchange.receipt(self.held), "a held batch has no receipt")
        self.assertIn(f"batch {self.held} failed: SCHEMA_MISMATCH", held["last_error"])

        action = held["action"]
        self.assertEqual(action["code"], "retry")
        self.assertEqual(action["batch_id"], self.held)
        self.assertEqual(action["command"], f"fep-agent retry {R_HELD}")
        self.assertEqual([(c["code"], c["command"]) for c in action["commands"]],
                         [("retry", f"fep-agent retry {R_HELD}"),
                          ("skip", f'fep-agent skip {R_HELD} --batch {self.held} --reason "..."'),
                          ("resync", f"fep-agent resync {R_HELD}")])

        # Lag: since the platform published the oldest batch still waiting (the held one).
        self.assertGreaterEqual(held["lag_seconds"], HELD_LAG)
        self.assertLess(held["lag_seconds"], HELD_LAG + 600)
        self.assertEqual(held["waiting_batches"], 1)
        self.assertEqual(held["newest_listed_seq"], 2)
        self.assertEqual(held["batches"]["applied"], 1)
        self.assertFalse(held["resync_requested"])

        batches = self.get_json(f"/api/v1/resources/{R_HELD}/batches")["batches"]
        self.assertEqual([(b["batch_id"], b["state"]) for b in batches],
                         [(self.held, "failed"), (self.held_full, "applied")])
        failed, applied = batches
        self.assertGreater(failed["payload_bytes"], 0)
        self.assertIsNotNone(failed["started_at"])
        self.assertIsNone(failed["outcome_at"])
        self.assertIsNone(failed["duration_seconds"])
        self.assertIsNone(failed["receipt_state"])
        self.assertGreater(applied["payload_bytes"], 0)
        self.assertIsNotNone(applied["created_at"])
        self.assertGreaterEqual(applied["duration_seconds"], 0)
        self.assertIn(applied["receipt_state"], ("pending", "delivered"))

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
            self.assertRegex(text, rf'fep_receipts_pending\{{resource="{R_OK}"\}} \d+\n')
            self.assertIn(f'fep_receipts_refused{{resource="{R_BAD}"}} 0\n', text)
            self.assertIn(f'name="{NAME_OK}"', text)
            self.assertIn("# TYPE fep_resource_lag_seconds gauge\n", text)
            self.assertIn(f'fep_resource_lag_seconds{{resource="{R_OK}"}} 0\n', text)
            lag = re.search(rf'fep_resource_lag_seconds\{{resource="{R_HELD}"\}} (\d+)\n', text)
            self.assertIsNotNone(lag, text)
            self.assertGreaterEqual(int(lag.group(1)), HELD_LAG)
            self.assertIn(f'fep_resource_waiting_batches{{resource="{R_HELD}"}} 1\n', text)
            if base == self.daemon_base:  # only the daemon talks to the exchange
                self.assertRegex(text, r'fep_exchange_request_errors_total\{class="transient"\} \d+\n')
            self.assertIn(f'fep_resource_state{{resource="{R_HELD}",state="blocked"}} 1\n', text)
            self.assertRegex(text, rf'fep_downloaded_bytes_total\{{resource="{R_OK}"\}} [1-9]\d*\n')

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

    def attention(self, dom, resource, action):
        """The needs-attention entry of `resource`, up to the next entry."""
        match = re.search(rf'<li[^>]*data-resource="{resource}"[^>]*data-action="{action}"'
                          r'.*?(?=<li[^>]*data-(?:resource|receipt)=|</ul>)', dom, re.S)
        self.assertIsNotNone(match, f"no {action} action for {resource}")
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
        rejected = self.attention(dom, R_BAD, "skip")
        self.assertIn(f'<code class="cmd">fep-agent skip {R_BAD} --batch {self.bad} --reason "..."'
                      "</code>", rejected)
        self.assertIn(f'<code class="cmd">fep-agent resync {R_BAD}</code>', rejected)
        self.assertIn("PAYLOAD_INVALID", rejected)
        self.assertIn("被拒收", rejected)
        self.assertIn("复制", rejected)  # each command has a copy button

        held = self.attention(dom, R_HELD, "retry")
        self.assertIn("无法写入本地目标", held)
        self.assertIn(self.held, held)
        self.assertIn("SCHEMA_MISMATCH", held)
        commands = re.findall(r'<li data-command="(\w+)">.*?<code class="cmd">(.*?)</code>', held,
                              re.S)
        self.assertEqual(commands, [
            ("retry", f"fep-agent retry {R_HELD}"),
            ("skip", f'fep-agent skip {R_HELD} --batch {self.held} --reason "..."'),
            ("resync", f"fep-agent resync {R_HELD}")])
        self.assertIn("重试", held)

        row = self.row(dom, R_HELD)
        self.assertIn('data-health="blocked"', row)
        lag = re.search(r'data-lag="(\d+)"', row)
        self.assertIsNotNone(lag, row)
        self.assertGreaterEqual(int(lag.group(1)), HELD_LAG)
        self.assertIn("2小时", row)
        self.assertIn("1 个批次等待", row)
        self.assertIn('data-lag="0"', self.row(dom, R_OK))
        self.assertIn("最大滞后", dom)
        self.assertRegex(dom, r'<section id="progress-section" hidden')  # nothing runs now
        self.assertRegex(dom, r'<svg[^>]*class="chart"')
        self.assertRegex(dom, r'<rect[^>]*class="bar"[^>]*data-rows="6"')
        self.assertIn("fep-agent 0.", dom)  # the agent's own health: its version

    def test_dashboard_in_english(self):
        dom = self.visible(self.browser("--dump-dom", self.base + "/?lang=en"))
        self.assertIn('<html lang="en"', dom)
        self.assertIn("Needs attention", dom)
        self.assertIn("Rows applied per day", dom)
        self.assertIn("Blocked", self.row(dom, R_BAD))
        self.assertIn(NAME_BAD, self.row(dom, R_BAD))  # data stays as the platform named it
        held = self.attention(dom, R_HELD, "retry")
        self.assertIn("could not be written to the local target", held)
        self.assertIn("try the batch again", held)
        self.assertIn(f"fep-agent retry {R_HELD}", held)
        self.assertIn(">Copy<", held)
        self.assertIn("was rejected", self.attention(dom, R_BAD, "skip"))
        self.assertIn("2h", self.row(dom, R_HELD))
        self.assertFalse(re.search("需要处理|已阻塞|资源编号|滞后|复制", dom),
                         "Chinese labels in the English page")

    def test_batch_history(self):
        """?batches=ID opens a resource's batch history: size, published, duration, receipt."""
        dom = self.visible(self.browser("--dump-dom", f"{self.base}/?lang=en&batches={R_HELD}"))
        history = re.search(rf'<tr class="history" data-history="{R_HELD}">.*?</table>', dom, re.S)
        self.assertIsNotNone(history, "the batch history is not open")
        history = history.group(0)
        for header in ("Size", "Published", "Duration", "Receipt"):
            self.assertIn(f"<th>{header}</th>", history)
        failed = re.search(rf'<tr data-batch="{self.held}" data-state="failed">.*?</tr>', history,
                           re.S)
        self.assertIsNotNone(failed, history)
        self.assertIn("held (failed)", failed.group(0))
        self.assertIn("SCHEMA_MISMATCH", failed.group(0))
        self.assertRegex(failed.group(0), r'data-receipt-state=""[^>]*>-<')
        applied = re.search(rf'<tr data-batch="{self.held_full}" data-state="applied">.*?</tr>',
                            history, re.S)
        self.assertIsNotNone(applied, history)
        self.assertRegex(applied.group(0), r'data-bytes="[1-9]\d*"[^>]*>\d+(\.\d+)? (B|KB)<')
        self.assertRegex(applied.group(0), r'data-receipt-state="(pending|delivered)"')

    def test_progress_bars(self):
        """Batches in progress (as the daemon reports them) get a bar with bytes or rows, the
        rate and the time left. The page is the daemon's; the status document gets two running
        batches through a small proxy, since real batches here finish in milliseconds."""
        doc = self.get_json("/api/v1/status")
        for r in doc["resources"]:
            if r["resource_id"] == R_OK:
                r["progress"] = {"batch_id": "B-RUN-1", "seq": 7, "phase": "downloading",
                                 "bytes_done": 3 << 20, "bytes_total": 12 << 20, "items_done": 0,
                                 "items_total": 0, "phase_started_at": doc["agent"]["now"],
                                 "elapsed_seconds": 3, "rate_unit": "bytes",
                                 "rate_per_second": float(1 << 20), "eta_seconds": 9}
            if r["resource_id"] == R_BAD:
                r["progress"] = {"batch_id": "B-RUN-2", "seq": 8, "phase": "applying",
                                 "bytes_done": 1000, "bytes_total": 1000, "items_done": 2500,
                                 "items_total": 0, "phase_started_at": doc["agent"]["now"],
                                 "elapsed_seconds": 5, "rate_unit": "items",
                                 "rate_per_second": 500.0, "eta_seconds": None}
        with StatusProxy(self.base, doc) as proxy:
            dom = self.visible(self.browser("--dump-dom", proxy.base + "/"))
            en = self.visible(self.browser("--dump-dom", proxy.base + "/?lang=en"))
        self.assertNotRegex(dom, r'<section id="progress-section" hidden')
        down = re.search(rf'<div class="progress" data-progress="{R_OK}" data-phase="downloading">'
                         r'.*?<div class="figures">(.*?)</div>', dom, re.S)
        self.assertIsNotNone(down, dom)
        self.assertIn('style="width: 25%;"', down.group(0))
        self.assertIn('aria-valuenow="25"', down.group(0))
        self.assertEqual(down.group(1), "下载中 · 3.00 MB / 12.0 MB (25%) · 1.00 MB/秒 · 预计剩余 9秒")
        apply = re.search(rf'<div class="progress" data-progress="{R_BAD}" data-phase="applying">'
                          r'.*?<div class="figures">(.*?)</div>', dom, re.S)
        self.assertIsNotNone(apply, dom)
        self.assertIn("pbar indeterminate", apply.group(0))  # the row count is not known
        self.assertEqual(apply.group(1), "写入中 · 2,500 行 (总量未知) · 500 行/秒 · 已用 5秒")
        self.assertIn("downloading · 3.00 MB / 12.0 MB (25%) · 1.00 MB/s · about 9s left", en)
        self.assertIn("Batches in progress", en)

    def test_screenshot(self):
        out_dir = screenshot_dir()
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "dashboard.png"
        if path.exists():
            path.unlink()
        self.browser(f"--screenshot={path}", "--window-size=1280,1480", "--hide-scrollbars",
                     self.base + "/")
        self.assertTrue(path.exists(), "chromium wrote no screenshot")
        self.assertEqual(path.read_bytes()[:8], b"\x89PNG\r\n\x1a\n")
        self.assertGreater(path.stat().st_size, 10000)
        print(f"dashboard screenshot: {path}")


if __name__ == "__main__":
    unittest.main()
