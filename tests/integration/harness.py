"""Integration test harness: runs the reference exchange (exchange-sim) for tests.

Binaries come from the environment (CTest passes them):
  EXCHANGE_SIM_BIN  the exchange-sim executable
  FEP_AGENT_BIN     the fep-agent executable (see agent_bin())
Set FEP_KEEP_TMP=1 to keep the temporary folders of a run for inspection.

Typical use:

    with harness.Exchange() as ex:          # serves on 127.0.0.1:<free port>
        ex.subscribe("R-SCJG-0001", name="企业登记信息")
        batch = ex.publish_table("R-SCJG-0001", SCHEMA, csv="id,name\\n1,a\\n", mode="full")
        status, headers, body = ex.request("GET", f"/v1/batches/{batch}/manifest")
        ex.stop(); ex.start()                # down, then up again on the same port and root
        ex.receipts()                        # accepted receipts, as dicts

The base URL is ex.url (http://127.0.0.1:PORT); the routes are /v1/... under it.
"""

import json
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_TOKEN = "test-node-token"
DEFAULT_NODE = "N-TEST-001"

# A table schema (the manifest's "table" object) for tests that need any table.
SAMPLE_SCHEMA = {
    "name": "ent_registration",
    "columns": [
        {"name": "id", "type": "bigint", "nullable": False},
        {"name": "name", "type": "varchar(200)"},
        {"name": "reg_capital", "type": "decimal(18,2)"},
        {"name": "established", "type": "date"},
        {"name": "updated_at", "type": "timestamp"},
    ],
    "primary_key": ["id"],
}


class HarnessError(Exception):
    """The harness could not do what was asked (a binary failed, a deadline passed)."""


def _binary(var):
    path = os.environ.get(var)
    if not path:
        raise HarnessError(f"{var} is not set (CTest sets it; or export it by hand)")
    if not os.access(path, os.X_OK):
        raise HarnessError(f"{var}={path} is not an executable")
    return os.path.abspath(path)


def exchange_sim_bin():
    return _binary("EXCHANGE_SIM_BIN")


def agent_bin():
    return _binary("FEP_AGENT_BIN")


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Polls predicate() until it returns a true value, which is returned; raises at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise HarnessError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Exchange:
    """One exchange-sim serving a temporary root over plain HTTP on loopback."""

    def __init__(self, token=DEFAULT_TOKEN, node=DEFAULT_NODE, restrict_node=False,
                 extra_args=(), keep=None):
        self.sim = exchange_sim_bin()
        self.token = token
        self.node = node
        self.restrict_node = restrict_node  # serve --node: other node ids get 403
        self.extra_args = list(extra_args)  # more `serve` arguments (e.g. --faults later)
        self.keep = bool(os.environ.get("FEP_KEEP_TMP")) if keep is None else keep
        self.tmp = Path(tempfile.mkdtemp(prefix="exchange-sim-"))
        self.root = self.tmp / "root"
        self.root.mkdir()
        self.token_file = self.tmp / "token"
        self.token_file.write_text(token + "\n")
        self.log_path = self.tmp / "exchange-sim.log"
        self.port = None
        self.proc = None
        self._inputs = 0

    # --- process ------------------------------------------------------------------------------

    @property
    def url(self):
        if self.port is None:
            raise HarnessError("the exchange has not been started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10.0):
        """Starts serving; on the port used before when there was one. Returns the port."""
        if self.running:
            return self.port
        deadline = time.monotonic() + timeout
        while True:
            error = self._try_start(deadline)
            if error is None:
                return self.port
            if self.port is None or time.monotonic() >= deadline:
                raise HarnessError(error)
            time.sleep(0.05)  # the old port may be briefly unavailable: try again

    def _try_start(self, deadline):
        args = [self.sim, "serve", "--root", str(self.root), "--token-file", str(self.token_file),
                "--listen", f"127.0.0.1:{self.port or 0}"]
        if self.restrict_node:
            args += ["--node", self.node]
        args += self.extra_args
        with open(self.log_path, "ab") as log:
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, bufsize=0)
        out = b""
        while b"\n" not in out:
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill(proc)
                return f"exchange-sim did not print its address in time; see {self.log_path}"
            ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    proc.wait()
                    proc.stdout.close()
                    return f"exchange-sim exited with {proc.returncode}; see {self.log_path}"
                out += chunk
        line = out.split(b"\n", 1)[0].decode()
        prefix = "listening on 127.0.0.1:"
        if not line.startswith(prefix):
            self._kill(proc)
            return f"unexpected first line from exchange-sim: {line!r}"
        self.port = int(line[len(prefix):])
        self.proc = proc
        return None

    def stop(self, timeout=10.0):
        """Stops with SIGTERM (SIGKILL after the timeout). Returns the exit code (None if not running)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill(proc)
        proc.stdout.close()
        return proc.returncode

    @staticmethod
    def _kill(proc):
        proc.kill()
        proc.wait()
        proc.stdout.close()

    def close(self):
        self.stop()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def log(self):
        """The sim's stderr so far (its request log)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # --- the command line ---------------------------------------------------------------------

    def run(self, *args, check=True):
        """Runs `exchange-sim ARGS`; returns the CompletedProcess (stdout/stderr as text)."""
        proc = subprocess.run([self.sim, *map(str, args)], capture_output=True, text=True,
                              timeout=120)
        if check and proc.returncode != 0:
            raise HarnessError(f"exchange-sim {' '.join(map(str, args))} failed "
                               f"({proc.returncode}): {proc.stderr.strip()}")
        return proc

    def _input(self, content, suffix):
        """Writes test content (str or bytes) to a fresh file beside the root."""
        self._inputs += 1
        path = self.tmp / "inputs" / f"{self._inputs}{suffix}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def subscribe(self, resource, name=None, kind=None, provider=None, share_type=None,
                  status=None):
        args = ["subscribe", "--root", self.root, "--resource", resource]
        for flag, value in (("--name", name), ("--kind", kind), ("--provider", provider),
                            ("--share-type", share_type), ("--status", status)):
            if value is not None:
                args += [flag, value]
        self.run(*args)

    @staticmethod
    def _batch_args(mode, batch_id, seq, created_at):
        args = ["--mode", mode]
        for flag, value in (("--batch-id", batch_id), ("--seq", seq), ("--created-at", created_at)):
            if value is not None:
                args += [flag, value]
        return args

    def publish_table(self, resource, schema=SAMPLE_SCHEMA, csv=None, csv_file=None,
                      payload=None, payload_file=None, mode="full", compression=None,
                      encoding=None, batch_id=None, seq=None, row_count=None, created_at=None):
        """Publishes a table batch; returns its batch id.

        schema: dict (the manifest's "table" object) or a path to one. Give one of csv (str/bytes
        content, compressed by the sim), csv_file (path), payload (bytes taken as is) or
        payload_file (path); payloads need compression."""
        if isinstance(schema, dict):
            schema = self._input(json.dumps(schema, ensure_ascii=False), ".json")
        args = ["publish", "table", "--root", self.root, "--resource", resource,
                "--schema", schema, *self._batch_args(mode, batch_id, seq, created_at)]
        if csv is not None:
            csv_file = self._input(csv, ".csv")
        if payload is not None:
            payload_file = self._input(payload, ".payload")
        if csv_file is not None:
            args += ["--csv", csv_file]
        if payload_file is not None:
            args += ["--payload", payload_file]
        for flag, value in (("--compression", compression), ("--encoding", encoding),
                            ("--row-count", row_count)):
            if value is not None:
                args += [flag, value]
        return self.run(*args).stdout.strip()

    def publish_folder(self, resource, files=None, dir=None, payload=None, payload_file=None,
                       mode="full", format=None, compression=None, deletes=(), file_count=None,
                       byte_count=None, batch_id=None, seq=None, created_at=None):
        """Publishes a folder batch; returns its batch id.

        Give one of files ({relative path: str/bytes}, written to a fresh folder), dir (a folder),
        payload (archive bytes taken as is) or payload_file. file_count/byte_count override the
        manifest's folder.files/bytes (counted otherwise)."""
        if files is not None:
            self._inputs += 1
            dir = self.tmp / "inputs" / f"{self._inputs}.d"
            for rel, content in files.items():
                path = dir / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content.encode() if isinstance(content, str) else content)
            dir.mkdir(parents=True, exist_ok=True)
        if payload is not None:
            payload_file = self._input(payload, ".archive")
        args = ["publish", "folder", "--root", self.root, "--resource", resource,
                *self._batch_args(mode, batch_id, seq, created_at)]
        if dir is not None:
            args += ["--dir", dir]
        if payload_file is not None:
            args += ["--payload", payload_file]
        for flag, value in (("--format", format), ("--compression", compression),
                            ("--files", file_count), ("--bytes", byte_count)):
            if value is not None:
                args += [flag, value]
        for rel in deletes:
            args += ["--delete", rel]
        return self.run(*args).stdout.strip()

    # --- the root -----------------------------------------------------------------------------

    def batch_dir(self, batch_id):
        for path in (self.root / "resources").glob("*/batches/*/batch.json"):
            if json.loads(path.read_text())["batch_id"] == batch_id:
                return path.parent
        raise HarnessError(f"no batch {batch_id} under {self.root}")

    def manifest(self, batch_id):
        return json.loads((self.batch_dir(batch_id) / "manifest.json").read_text())

    def receipts(self):
        """The accepted receipts (ROOT/receipts/*.json), ordered by resource and seq."""
        found = [json.loads(p.read_text()) for p in (self.root / "receipts").glob("*.json")]
        return sorted(found, key=lambda r: (r.get("resource_id", ""), r.get("seq", 0)))

    def receipt(self, batch_id):
        path = self.root / "receipts" / f"{batch_id}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def _jsonl(self, name):
        path = self.root / name
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def receipt_log(self):
        """Every receipt POST: {"at", "status", "receipt_id", "batch_id", "answer", "receipt"}."""
        return self._jsonl("receipts.log")

    def heartbeats(self):
        """Every heartbeat POST: {"at", "status", "answer", "heartbeat"}."""
        return self._jsonl("heartbeats.jsonl")

    # --- HTTP as an agent would speak it ------------------------------------------------------

    def request(self, method, path, body=None, headers=None, token=None, node=None):
        """One HTTP request with the node's credentials. Returns (status, headers, body bytes).

        body: dict/list (sent as JSON), str or bytes. token/node override the defaults; pass ""
        to leave the header out."""
        token = self.token if token is None else token
        node = self.node if node is None else node
        all_headers = {}
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if node:
            all_headers["X-FEP-Node"] = node
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                body = json.dumps(body, ensure_ascii=False)
            data = body.encode() if isinstance(body, str) else body
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.headers, err.read()

    def get_json(self, path, **kwargs):
        """GET and parse the JSON answer; returns (status, parsed body)."""
        status, _, body = self.request("GET", path, **kwargs)
        return status, json.loads(body)

    def post_json(self, path, body, **kwargs):
        status, _, answer = self.request("POST", path, body=body, **kwargs)
        return status, json.loads(answer)


class Agent:
    """A configured fep-agent with its own state directory and SQLite database."""

    def __init__(self, exchange, tmp, resources=("R-SCJG-0001",), connection=None,
                 target_extra="", resource_extra=""):
        self.exchange = exchange
        self.dir = Path(tmp)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.token_file = self.dir / "token"
        self.token_file.write_text(exchange.token + "\n")
        self.token_file.chmod(0o600)
        self.db = self.dir / "local.db"
        self.state = self.dir / "state"
        self.config = self.dir / "agent.yaml"
        items = "".join(f"  - id: {r}\n    target: local_db\n{resource_extra}" for r in resources)
        connection = connection or f"Driver=SQLite3;Database={self.db}"
        self.config.write_text(
            "node:\n"
            f"  id: {exchange.node}\n"
            "exchange:\n"
            f"  url: {exchange.url}\n"
            f"  token_file: {self.token_file}\n"
            "  allow_insecure_http: true\n"
            "  connect_timeout: 2s\n"
            "  max_attempts: 2\n"
            "  retry_base: 50ms\n"
            "  retry_cap: 200ms\n"
            f"state_dir: {self.state}\n"
            "targets:\n"
            "  local_db:\n"
            "    type: odbc\n"
            f'    connection: "{connection}"\n'
            + target_extra +
            "resources:\n" + items, encoding="utf-8")

    def run(self, *args):
        return subprocess.run([agent_bin(), "--config", str(self.config), *args],
                              capture_output=True, text=True, timeout=300)

    def sync(self, *extra):
        return self.run("sync", "--once", *extra)

    def status(self):
        proc = self.run("status", "--json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def rows(self, table="ent_registration"):
        with sqlite3.connect(self.db) as db:
            return db.execute(f'SELECT id, name, reg_capital FROM "{table}" ORDER BY id').fetchall()

    def table_exists(self, table="ent_registration"):
        if not self.db.exists():
            return False
        with sqlite3.connect(self.db) as db:
            return db.execute("SELECT count(*) FROM sqlite_master WHERE name = ?",
                              (table,)).fetchone()[0] == 1
