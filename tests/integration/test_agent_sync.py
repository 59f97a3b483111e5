"""The real fep-agent binary against exchange-sim and the real SQLite3 ODBC driver.

Each test publishes batches on a fresh exchange, runs `fep-agent sync --once`, and checks three
places: the agent's exit code and status, the local database (read back with Python's sqlite3),
and the receipts the exchange recorded."""

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness
from harness import Agent

R = "R-SCJG-0001"
FULL_CSV = (
    "id,name,reg_capital,established,updated_at\n"
    "1,安阳市殷都区甲骨文化传媒有限公司,1000000.00,2001-05-12,2026-11-20 02:00:00\n"
    '2,"河南""中原""商贸,有限公司",,2010-01-01,2026-11-20T02:00:00\n'
    '3,"多行\r\n名称",0.50,1999-12-31,2026-11-20 02:00:00\n'
)
INCREMENTAL_CSV = (
    "_op,id,name,reg_capital,established,updated_at\n"
    "U,2,河南中原商贸有限公司,20.00,2010-01-01,2026-11-21 08:00:00\n"
    "D,3,,,,\n"
    "U,4,林州市红旗渠农业合作社,5.25,2020-02-29,2026-11-21 08:00:00\n"
)


class AgentSyncTest(unittest.TestCase):
    def setUp(self):
        self.exchange = harness.Exchange()
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.tmp = tempfile.mkdtemp(prefix="fep-agent-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.exchange.subscribe(R, name="企业登记信息", kind="table", status="approved")
        self.agent = Agent(self.exchange, self.tmp)

    def assertSynced(self, proc, code=0):
        self.assertEqual(proc.returncode, code, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")

    def resource_status(self):
        return next(r for r in self.agent.status()["resources"] if r["resource_id"] == R)

    def test_full_then_incremental(self):
        full = self.exchange.publish_table(R, csv=FULL_CSV, mode="full", compression="gzip")
        self.assertSynced(self.agent.sync())
        self.assertEqual(self.agent.rows(), [
            (1, "安阳市殷都区甲骨文化传媒有限公司", "1000000.00"),
            (2, '河南"中原"商贸,有限公司', None),
            (3, "多行\r\n名称", "0.50"),
        ])

        # The incremental payload is compressed by the real zstd tool, not by the sim.
        csv_path = Path(self.tmp) / "inc.csv"
        csv_path.write_text(INCREMENTAL_CSV, encoding="utf-8")
        subprocess.run(["zstd", "-q", "-f", str(csv_path)], check=True)
        inc = self.exchange.publish_table(R, payload_file=f"{csv_path}.zst", mode="incremental",
                                          compression="zstd")
        self.assertSynced(self.agent.sync())
        self.assertEqual(self.agent.rows(), [
            (1, "安阳市殷都区甲骨文化传媒有限公司", "1000000.00"),
            (2, "河南中原商贸有限公司", "20.00"),
            (4, "林州市红旗渠农业合作社", "5.25"),
        ])

        receipts = {r["batch_id"]: r for r in self.exchange.receipts()}
        self.assertEqual(receipts[full]["status"], "applied")
        self.assertEqual(receipts[full]["counts"], {"rows": 3, "deleted": 0})
        self.assertEqual(receipts[inc]["counts"], {"rows": 2, "deleted": 1})
        self.assertEqual(receipts[inc]["node"], self.exchange.node)
        self.assertEqual(receipts[inc]["payload_sha256"], self.exchange.manifest(inc)["payload"]["sha256"])

        status = self.resource_status()
        self.assertEqual(status["last_seq"], 2)
        self.assertEqual(status["state"], "idle")
        self.assertEqual(status["name"], "企业登记信息")
        self.assertEqual(self.agent.status()["pending_receipts"], [])

        # Nothing new: nothing happens, exit 0, no further receipts.
        self.assertSynced(self.agent.sync())
        self.assertEqual(len(self.exchange.receipt_log()), 2)
        table = self.agent.run("status")
        self.assertIn("企业登记信息", table.stdout)

    def test_several_batches_in_one_run_apply_in_seq_order(self):
        # The next batch's payload downloads while the current one is written.
        full = self.exchange.publish_table(R, csv=FULL_CSV, mode="full", compression="gzip")
        inc = self.exchange.publish_table(R, csv=INCREMENTAL_CSV, mode="incremental")
        again = self.exchange.publish_table(
            R, csv="_op,id,name,reg_capital,established,updated_at\nU,1,最后,1.00,,\n",
            mode="incremental", compression="zstd")
        self.assertSynced(self.agent.sync())
        # Receipts are posted in the order the batches reached their outcome.
        posted = [e["batch_id"] for e in self.exchange.receipt_log() if e["status"] == 201]
        self.assertEqual(posted, [full, inc, again])
        self.assertEqual(self.agent.rows()[0], (1, "最后", "1.00"))
        self.assertEqual(len(self.agent.rows()), 3)
        self.assertEqual(list((self.agent.state / "spool").iterdir()), [])

    def test_corrupted_payload_is_rejected_and_nothing_applied(self):
        batch = self.exchange.publish_table(R, csv=FULL_CSV, mode="full", compression="none")
        payload = self.exchange.batch_dir(batch) / "payload"
        data = bytearray(payload.read_bytes())
        data[10] ^= 0x01  # same size, different bytes
        payload.write_bytes(bytes(data))

        self.assertSynced(self.agent.sync(), 2)
        receipt = self.exchange.receipt(batch)
        self.assertEqual(receipt["status"], "rejected")
        self.assertEqual(receipt["error"]["code"], "CHECKSUM_MISMATCH")
        self.assertEqual(receipt["counts"], {"rows": 0, "deleted": 0})
        self.assertFalse(self.agent.table_exists())
        self.assertEqual(self.resource_status()["state"], "blocked")
        self.assertTrue((self.agent.state / "rejected" / f"{batch}.payload").exists())

        # A blocked resource stays blocked: later batches wait, and the run says so.
        self.exchange.publish_table(R, csv=FULL_CSV, mode="full")
        self.assertSynced(self.agent.sync(), 2)
        self.assertEqual(len(self.exchange.receipts()), 1)

    def test_a_payload_shorter_than_its_manifest_says_is_rejected_not_fetched_forever(self):
        batch = self.exchange.publish_table(R, csv=FULL_CSV, mode="full", compression="none")
        payload = self.exchange.batch_dir(batch) / "payload"
        payload.write_bytes(payload.read_bytes()[:-10])  # served whole, with its own length

        self.assertSynced(self.agent.sync(), 2)
        receipt = self.exchange.receipt(batch)
        self.assertEqual((receipt["status"], receipt["error"]["code"]),
                         ("rejected", "CHECKSUM_MISMATCH"))
        self.assertRegex(receipt["error"]["message"], r"payload is \d+ bytes, the manifest says \d+")
        self.assertFalse(self.agent.table_exists())

    def test_bad_csv_line_rejects_the_whole_batch(self):
        self.exchange.publish_table(R, csv=FULL_CSV, mode="full")
        self.assertSynced(self.agent.sync())
        before = self.agent.rows()

        bad = ("_op,id,name,reg_capital,established,updated_at\n"
               "U,1,changed,1.00,2001-01-01,2026-11-22 00:00:00\n"
               "U,5,new,1.00,2001-01-01,2026-11-22 00:00:00\n"
               "U,6,too,few,fields\n")
        batch = self.exchange.publish_table(R, csv=bad, mode="incremental")
        self.assertSynced(self.agent.sync(), 2)
        receipt = self.exchange.receipt(batch)
        self.assertEqual(receipt["error"]["code"], "PAYLOAD_INVALID")
        self.assertIn("line 4", receipt["error"]["message"])
        self.assertEqual(self.agent.rows(), before)
        status = self.resource_status()
        self.assertEqual(status["state"], "blocked")
        self.assertIn("line 4", status["last_error"])

    def test_bad_value_and_wrong_row_count(self):
        bad_value = "id,name,reg_capital,established,updated_at\n1,a,1.00,2026-02-30,\n"
        batch = self.exchange.publish_table(R, csv=bad_value, mode="full")
        self.assertSynced(self.agent.sync(), 2)
        receipt = self.exchange.receipt(batch)
        self.assertEqual(receipt["error"]["code"], "PAYLOAD_INVALID")
        self.assertIn("line 2", receipt["error"]["message"])
        self.assertIn("established", receipt["error"]["message"])

        other = "R-OTHER-0002"
        self.exchange.subscribe(other, name="其他", kind="table", status="approved")
        schema = dict(harness.SAMPLE_SCHEMA, name="other_table")
        batch = self.exchange.publish_table(other, schema=schema, csv=FULL_CSV, mode="full",
                                            row_count=7)
        agent = Agent(self.exchange, Path(self.tmp) / "second", resources=(other,))
        self.assertSynced(agent.sync(), 2)
        self.assertIn("row_count", self.exchange.receipt(batch)["error"]["message"])
        self.assertFalse(agent.table_exists("other_table"))

    def test_receipts_wait_for_the_exchange_and_are_delivered_once(self):
        batch = self.exchange.publish_table(R, csv=FULL_CSV, mode="full")
        # The platform cannot store receipts (answers 500), then goes away entirely.
        receipts_dir = self.exchange.root / "receipts"
        shutil.rmtree(receipts_dir, ignore_errors=True)
        receipts_dir.write_text("not a directory")
        self.assertSynced(self.agent.sync(), 1)
        self.assertEqual(len(self.agent.rows()), 3)
        self.assertEqual(len(self.agent.status()["pending_receipts"]), 1)

        self.exchange.stop()
        down = self.agent.sync()
        self.assertSynced(down, 1)
        self.assertEqual(len(self.agent.status()["pending_receipts"]), 1)

        receipts_dir.unlink()
        self.exchange.start()
        self.assertSynced(self.agent.sync())
        self.assertEqual(self.agent.status()["pending_receipts"], [])
        accepted = [e for e in self.exchange.receipt_log() if e["status"] in (200, 201)]
        self.assertEqual(len(accepted), 1)
        attempts = {e["receipt_id"] for e in self.exchange.receipt_log()}
        self.assertEqual(len(attempts), 1, "every attempt carried the same receipt")
        self.assertEqual(self.exchange.receipt(batch)["status"], "applied")

        self.assertSynced(self.agent.sync())
        accepted = [e for e in self.exchange.receipt_log() if e["status"] in (200, 201)]
        self.assertEqual(len(accepted), 1)

    def applied_then_state_lost(self):
        """An incremental batch applied whose receipt never left, then the agent's own state
        lost (as after a crash right after the target's commit). Returns the batch id."""
        batch = self.exchange.publish_table(R, csv=INCREMENTAL_CSV.replace("D,3,,,,\n", ""),
                                            mode="incremental")
        receipts_dir = self.exchange.root / "receipts"
        shutil.rmtree(receipts_dir, ignore_errors=True)
        receipts_dir.write_text("not a directory")
        self.assertSynced(self.agent.sync(), 1)
        shutil.rmtree(self.agent.state)
        receipts_dir.unlink()
        return batch

    def test_batch_found_in_target_after_state_loss_is_not_applied_twice(self):
        batch = self.applied_then_state_lost()
        self.assertSynced(self.agent.sync())
        receipt = self.exchange.receipt(batch)
        self.assertEqual(receipt["status"], "applied")
        self.assertEqual(receipt["counts"], {"rows": 2, "deleted": 0})
        self.assertEqual(len(self.agent.rows()), 2)

    def test_a_batch_found_in_the_target_is_answered_applied_even_behind_a_newer_full_one(self):
        batch = self.applied_then_state_lost()
        full = self.exchange.publish_table(R, csv=FULL_CSV, mode="full")
        self.assertSynced(self.agent.sync())
        # Readers saw the batch: the platform must not be told it was skipped.
        receipt = self.exchange.receipt(batch)
        self.assertEqual(receipt["status"], "applied")
        self.assertEqual(receipt["counts"], {"rows": 2, "deleted": 0})
        self.assertEqual(self.exchange.receipt(full)["status"], "applied")
        self.assertEqual(len(self.agent.rows()), 3)

    def test_a_receipt_refused_with_409_is_shown_and_not_resent(self):
        batch = self.exchange.publish_table(R, csv=FULL_CSV, mode="full")
        manifest = self.exchange.manifest(batch)
        # Someone else already answered this batch for this node: the platform keeps the first.
        first = {"receipt_id": "00000000-0000-4000-8000-000000000001", "batch_id": batch,
                 "resource_id": R, "seq": manifest["seq"], "node": self.exchange.node,
                 "status": "rejected", "counts": {"rows": 0, "deleted": 0},
                 "payload_sha256": None, "applied_at": "2026-11-20T02:03:11+08:00",
                 "error": {"code": "TARGET_ERROR", "message": "disk full"},
                 "agent": "other/1.0"}
        status, _, body = self.exchange.request("POST", "/v1/receipts", first)
        self.assertEqual(status, 201, body)

        self.assertSynced(self.agent.sync(), 3)  # 3: a receipt was refused
        refused = self.agent.status()["refused_receipts"]
        self.assertEqual(len(refused), 1)
        self.assertEqual(refused[0]["last_http_status"], 409)
        self.assertIn("refused by the exchange", self.agent.run("status").stdout)
        posts = len(self.exchange.receipt_log())
        self.assertSynced(self.agent.sync())
        self.assertEqual(len(self.exchange.receipt_log()), posts, "a refused receipt is not resent")

    def test_older_batches_are_superseded_by_a_newer_full_one(self):
        first = self.exchange.publish_table(R, csv=FULL_CSV, mode="full")
        second = self.exchange.publish_table(R, csv=INCREMENTAL_CSV, mode="incremental")
        third = self.exchange.publish_table(R, csv=FULL_CSV, mode="full")
        self.assertSynced(self.agent.sync())
        receipts = {r["batch_id"]: r for r in self.exchange.receipts()}
        for skipped in (first, second):
            self.assertEqual(receipts[skipped]["status"], "superseded")
            self.assertIsNone(receipts[skipped]["payload_sha256"])
        self.assertEqual(receipts[third]["status"], "applied")
        self.assertEqual(len(self.agent.rows()), 3)

    def test_gb18030_payload_made_by_iconv(self):
        src = Path(self.tmp) / "utf8.csv"
        src.write_text(FULL_CSV, encoding="utf-8")
        gbk = Path(self.tmp) / "gb.csv"
        with open(gbk, "wb") as out:
            subprocess.run(["iconv", "-f", "UTF-8", "-t", "GB18030", str(src)], stdout=out,
                           check=True)
        self.exchange.publish_table(R, payload_file=gbk, mode="full", compression="none",
                                    encoding="GB18030")
        self.assertSynced(self.agent.sync())
        self.assertEqual(self.agent.rows()[0][1], "安阳市殷都区甲骨文化传媒有限公司")

    def test_wrong_token_is_an_error_that_names_the_token_file(self):
        self.agent.token_file.write_text("another-token\n")
        proc = self.agent.sync()
        self.assertSynced(proc, 1)
        self.assertIn("401", proc.stderr)
        self.assertIn("token_file", proc.stderr)
        self.assertNotIn("another-token", proc.stderr + proc.stdout)
        self.assertNotIn(harness.DEFAULT_TOKEN, proc.stderr + proc.stdout)

    def test_pending_subscription_is_paused_not_synced(self):
        self.exchange.subscribe(R, status="pending")
        self.exchange.publish_table(R, csv=FULL_CSV, mode="full")
        self.assertSynced(self.agent.sync())
        status = self.resource_status()
        self.assertEqual(status["state"], "paused")
        self.assertEqual(status["subscription"], "pending")
        self.assertFalse(self.agent.table_exists())

    def test_check_config_names_line_and_key(self):
        text = self.agent.config.read_text().replace("  allow_insecure_http: true\n",
                                                     "  allow_insecure_http: true\n  colour: red\n")
        self.agent.config.write_text(text)
        proc = self.agent.run("check-config")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(":7:3:", proc.stderr)
        self.assertIn("exchange.colour", proc.stderr)


if __name__ == "__main__":
    unittest.main()
