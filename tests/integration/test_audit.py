"""The tamper-evident audit log: the real fep-agent against exchange-sim.

Batches are synced (applied and rejected), an operator unblocks; `fep-agent audit verify` must
find the chain intact, and name the entry after the state database is edited behind the
agent's back with Python's sqlite3. `fep-agent audit export` must give JSON lines and CSV that
parse, hold the batches, and re-verify with hashlib alone, following docs/security.md."""

import csv
import hashlib
import io
import json
import os
import pwd
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
from datetime import date

import harness
from harness import Agent

R = "R-SCJG-0001"
FULL_CSV = (
    "id,name,reg_capital,established,updated_at\n"
    "1,安阳市殷都区甲骨文化传媒有限公司,1000000.00,2001-05-12,2026-11-20 02:00:00\n"
    '2,"河南""中原""商贸,有限公司",,2010-01-01,2026-11-20T02:00:00\n'
    "3,林州市红旗渠农业合作社,0.50,1999-12-31,2026-11-20 02:00:00\n"
)
INCREMENTAL_CSV = (
    "_op,id,name,reg_capital,established,updated_at\n"
    "U,2,河南中原商贸有限公司,20.00,2010-01-01,2026-11-21 08:00:00\n"
    "D,3,,,,\n"
)
FIELDS = ("id", "at", "actor", "action", "resource_id", "batch_id", "detail", "alg", "prev_hash")
GENESIS = "0" * 64
INTACT = re.compile(r"^(\d+) entries, chain intact; head (\d+):([0-9a-f]{64})\n$")


def canonical(entry):
    """The bytes an entry's hash covers, as docs/security.md describes them."""
    out = b"fep-agent audit v1\n"
    for field in FIELDS:
        value = entry[field]
        if value is None:
            out += b"-\n"
        else:
            data = str(value).encode()
            out += str(len(data)).encode() + b":" + data + b"\n"
    return out


def check_chain(test, entries):
    """Re-verifies exported entries without the agent: ids, hashes and links."""
    prev = GENESIS
    for n, entry in enumerate(entries, start=1):
        test.assertEqual(entry["id"], n)
        test.assertEqual(entry["prev_hash"], prev)
        test.assertEqual(hashlib.new(entry["alg"], canonical(entry)).hexdigest(), entry["hash"])
        prev = entry["hash"]


class AuditTest(unittest.TestCase):
    def setUp(self):
        self.exchange = harness.Exchange()
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.tmp = tempfile.mkdtemp(prefix="fep-agent-audit-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.exchange.subscribe(R, name="企业登记信息", kind="table", status="approved")
        self.agent = Agent(self.exchange, self.tmp)
        self.state_db = self.agent.state / "state.db"

    def run_agent(self, *args, code=0):
        proc = self.agent.run(*args)
        self.assertEqual(proc.returncode, code,
                         f"{args}: stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def export(self, *args):
        return self.run_agent("audit", "export", *args).stdout

    def sync_history(self):
        """Two batches applied, a corrupted one rejected, then unblocked by an operator."""
        self.full = self.exchange.publish_table(R, csv=FULL_CSV, mode="full", compression="gzip")
        self.inc = self.exchange.publish_table(R, csv=INCREMENTAL_CSV, mode="incremental")
        self.run_agent("sync", "--once")
        self.bad = self.exchange.publish_table(R, csv=INCREMENTAL_CSV, mode="incremental",
                                               compression="none")
        payload = self.exchange.batch_dir(self.bad) / "payload"
        data = bytearray(payload.read_bytes())
        data[10] ^= 0x01
        payload.write_bytes(bytes(data))
        self.run_agent("sync", "--once", code=2)
        self.run_agent("unblock", R)

    def edit(self, sql, *params):
        with sqlite3.connect(self.state_db) as db:
            db.execute(sql, params)
        db.close()

    def test_verify_and_export_after_syncing(self):
        self.sync_history()
        proc = self.run_agent("audit", "verify")
        intact = INTACT.match(proc.stdout)
        self.assertIsNotNone(intact, proc.stdout)
        count = int(intact.group(1))

        entries = [json.loads(line) for line in self.export("--format", "jsonl").splitlines()]
        self.assertEqual(len(entries), count)
        check_chain(self, entries)
        self.assertEqual({e["alg"] for e in entries}, {"sm3"})
        self.assertEqual(intact.group(3), entries[-1]["hash"])

        def actions(batch):
            return [e["action"] for e in entries if e["batch_id"] == batch]

        for batch in (self.full, self.inc):
            self.assertEqual(actions(batch),
                             ["batch.received", "batch.verified", "batch.applied",
                              "receipt.sent", "receipt.accepted"])
        verified = next(e for e in entries
                        if e["batch_id"] == self.full and e["action"] == "batch.verified")
        self.assertEqual(json.loads(verified["detail"])["sha256"],
                         self.exchange.manifest(self.full)["payload"]["sha256"])
        self.assertEqual(actions(self.bad)[:2], ["batch.received", "batch.rejected"])
        self.assertIn("receipt.accepted", actions(self.bad))

        applied = next(e for e in entries
                       if e["batch_id"] == self.full and e["action"] == "batch.applied")
        detail = json.loads(applied["detail"])
        self.assertEqual(applied["actor"], "agent")
        self.assertEqual(applied["resource_id"], R)
        self.assertEqual(detail["counts"], {"rows": 3, "deleted": 0})
        self.assertEqual(detail["payload_sha256"],
                         self.exchange.manifest(self.full)["payload"]["sha256"])
        self.assertEqual(detail["receipt_id"], self.exchange.receipt(self.full)["receipt_id"])
        rejected = next(e for e in entries
                        if e["batch_id"] == self.bad and e["action"] == "batch.rejected")
        self.assertEqual(json.loads(rejected["detail"])["error"]["code"], "CHECKSUM_MISMATCH")
        unblock = entries[-1]
        self.assertEqual(unblock["action"], "operator.unblock")
        self.assertEqual(unblock["actor"], "operator:" + pwd.getpwuid(os.getuid()).pw_name)
        self.assertEqual(unblock["batch_id"], self.bad)

        # CSV: a header, RFC 4180 quoting (the details hold commas and quotes), the same entries.
        proc = subprocess.run([harness.agent_bin(), "--config", str(self.agent.config), "audit",
                               "export", "--format", "csv"], capture_output=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        text = proc.stdout.decode("utf-8")  # as bytes: the CRLF line ends are checked
        self.assertTrue(text.startswith("id,at,actor,action,resource_id,batch_id,detail,alg,"
                                        "prev_hash,hash\r\n"))
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        self.assertEqual(len(rows), count)
        for row, entry in zip(rows, entries):
            expected = {k: "" if v is None else str(v) for k, v in entry.items()}
            self.assertEqual(row, expected)

        # --since: a date (local) or an RFC 3339 time.
        today = date.today().isoformat()
        self.assertEqual(len(self.export("--since", today).splitlines()), count)
        self.assertEqual(self.export("--since", "2999-01-01T00:00:00+08:00"), "")
        proc = self.run_agent("audit", "export", "--since", "soon", code=1)
        self.assertIn("--since soon", proc.stderr)

        # An entry edited behind the agent's back is named.
        self.edit("UPDATE audit_log SET detail = replace(detail, '\"rows\":3', '\"rows\":30') "
                  "WHERE id = ?", applied["id"])
        proc = self.run_agent("audit", "verify", code=2)
        self.assertIn(f"entry {applied['id']}: edited", proc.stdout)

    def test_deleted_and_reordered_entries_and_a_cut_tail(self):
        self.sync_history()
        head = INTACT.match(self.run_agent("audit", "verify").stdout)
        self.assertIsNotNone(head)
        anchor = f"{head.group(2)}:{head.group(3)}"
        last = int(head.group(2))

        with sqlite3.connect(self.state_db) as db:
            original = db.execute("SELECT * FROM audit_log ORDER BY id").fetchall()
        db.close()

        def restore():
            with sqlite3.connect(self.state_db) as db:
                db.execute("DELETE FROM audit_log")
                db.executemany(f"INSERT INTO audit_log VALUES ({','.join('?' * 10)})", original)
            db.close()
            self.run_agent("audit", "verify", "--anchor", anchor)

        self.edit("DELETE FROM audit_log WHERE id = 3")
        proc = self.run_agent("audit", "verify", code=2)
        self.assertIn("entry 3: deleted", proc.stdout)
        restore()

        self.edit("UPDATE audit_log SET id = -4 WHERE id = 4")
        self.edit("UPDATE audit_log SET id = 4 WHERE id = 5")
        self.edit("UPDATE audit_log SET id = 5 WHERE id = -4")
        proc = self.run_agent("audit", "verify", code=2)
        self.assertIn("entry 4: reordered", proc.stdout)
        restore()

        # A chain alone cannot see its last entries go; an anchor kept elsewhere can.
        self.edit("DELETE FROM audit_log WHERE id = ?", last)
        proc = self.run_agent("audit", "verify")
        self.assertTrue(proc.stdout.startswith(f"{last - 1} entries, chain intact"))
        proc = self.run_agent("audit", "verify", "--anchor", anchor, code=2)
        self.assertIn(f"entry {last}: deleted", proc.stdout)


if __name__ == "__main__":
    unittest.main()
