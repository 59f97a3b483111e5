"""The reference exchange over HTTP, as an agent sees it (protocol v1).

Run: EXCHANGE_SIM_BIN=.../exchange-sim python3 -m unittest tests/integration/test_exchange_sim.py -v
"""

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import unittest
import uuid
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

R_TABLE = "R-SCJG-0001"
R_FOLDER = "R-ZRZY-0102"

CSV = (
    "id,name,reg_capital,established,updated_at\r\n"
    '1,"Acme, Ltd.",100.50,2020-01-02,2026-11-20 02:00:00\r\n'
    '2,"two\nline ""quoted"" name",,2021-03-04,2026-11-20 02:00:00\r\n'
    "3,企业名称,0.00,2022-05-06,2026-11-20 02:00:00\r\n"
)


def error_code(body):
    return json.loads(body)["error"]["code"]


class ExchangeTestCase(unittest.TestCase):
    def setUp(self):
        self.ex = harness.Exchange()
        self.addCleanup(self.ex.close)
        self.ex.start()

    def receipt_for(self, batch_id, **changes):
        manifest = self.ex.manifest(batch_id)
        if manifest["kind"] == "table":
            counts = {"rows": manifest["row_count"], "deleted": 0}
        else:
            counts = {"files": manifest["folder"]["files"], "deleted": 0,
                      "bytes": manifest["folder"]["bytes"]}
        receipt = {
            "receipt_id": str(uuid.uuid4()), "batch_id": batch_id,
            "resource_id": manifest["resource_id"], "seq": manifest["seq"],
            "node": self.ex.node, "status": "applied", "counts": counts,
            "payload_sha256": manifest["payload"]["sha256"],
            "applied_at": "2026-11-20T02:03:11+08:00", "error": None,
            "agent": "fep-agent/0.1.0",
        }
        receipt.update(changes)
        return receipt


class AuthTest(ExchangeTestCase):
    def test_wrong_or_missing_token_is_401(self):
        for token in ("", "wrong-token"):
            status, _, body = self.ex.request("GET", "/v1/subscriptions", token=token)
            self.assertEqual(status, 401)
            self.assertEqual(error_code(body), "UNAUTHORIZED")

    def test_missing_node_header_is_400(self):
        status, _, body = self.ex.request("GET", "/v1/subscriptions", node="")
        self.assertEqual(status, 400)
        self.assertIn("message", json.loads(body)["error"])

    def test_other_node_is_403_when_restricted(self):
        with harness.Exchange(restrict_node=True) as ex:
            self.assertEqual(ex.request("GET", "/v1/subscriptions")[0], 200)
            status, _, body = ex.request("GET", "/v1/subscriptions", node="N-OTHER-002")
            self.assertEqual(status, 403)
            self.assertEqual(error_code(body), "FORBIDDEN")

    def test_unknown_route_answers_json_error(self):
        status, _, body = self.ex.request("GET", "/v1/nothing-here")
        self.assertEqual(status, 404)
        self.assertEqual(error_code(body), "NOT_FOUND")


class SubscriptionsTest(ExchangeTestCase):
    def test_listing(self):
        self.ex.subscribe(R_TABLE, name="企业登记信息", provider="市场监督管理局")
        self.ex.subscribe(R_FOLDER, name="不动产登记附件", kind="folder",
                          provider="自然资源和规划局", share_type="conditional", status="pending")
        status, body = self.ex.get_json("/v1/subscriptions")
        self.assertEqual(status, 200)
        self.assertEqual(body["node"], self.ex.node)
        self.assertEqual(body["subscriptions"], [
            {"resource_id": R_TABLE, "name": "企业登记信息", "kind": "table",
             "provider": "市场监督管理局", "share_type": "unconditional", "status": "approved"},
            {"resource_id": R_FOLDER, "name": "不动产登记附件", "kind": "folder",
             "provider": "自然资源和规划局", "share_type": "conditional", "status": "pending"},
        ])

    def test_update_keeps_other_fields_and_publish_auto_subscribes(self):
        self.ex.subscribe(R_TABLE, name="企业登记信息")
        self.ex.subscribe(R_TABLE, status="revoked")
        self.ex.publish_table("R-NEW-0001", csv=CSV)
        _, body = self.ex.get_json("/v1/subscriptions")
        subs = {s["resource_id"]: s for s in body["subscriptions"]}
        self.assertEqual(subs[R_TABLE]["name"], "企业登记信息")
        self.assertEqual(subs[R_TABLE]["status"], "revoked")
        self.assertEqual(subs["R-NEW-0001"]["status"], "approved")
        self.assertEqual(subs["R-NEW-0001"]["name"], "R-NEW-0001")

    def test_not_approved_or_unknown_is_not_subscribed(self):
        batch = self.ex.publish_table(R_TABLE, csv=CSV)
        for status_value in ("pending", "rejected", "revoked"):
            self.ex.subscribe(R_TABLE, status=status_value)
            for path in (f"/v1/resources/{R_TABLE}/batches", f"/v1/batches/{batch}/manifest",
                         f"/v1/batches/{batch}/payload", f"/v1/batches/{batch}/signature"):
                status, _, body = self.ex.request("GET", path)
                self.assertEqual((status, error_code(body)), (404, "NOT_SUBSCRIBED"), path)
            status, _, body = self.ex.request("POST", "/v1/receipts", self.receipt_for(batch))
            self.assertEqual((status, error_code(body)), (404, "NOT_SUBSCRIBED"), "receipt")
        status, _, body = self.ex.request("GET", "/v1/resources/R-UNKNOWN/batches")
        self.assertEqual((status, error_code(body)), (404, "NOT_SUBSCRIBED"))
        self.ex.subscribe(R_TABLE, status="approved")
        self.assertEqual(self.ex.request("GET", f"/v1/batches/{batch}/manifest")[0], 200)


class ListingTest(ExchangeTestCase):
    def test_pagination_with_after_limit_more(self):
        ids = {}
        for seq, mode in ((1, "full"), (2, "incremental"), (5, "incremental"), (7, "full"),
                          (8, "incremental")):
            ids[seq] = self.ex.publish_table(R_TABLE, csv=CSV, mode=mode, seq=seq)
        base = f"/v1/resources/{R_TABLE}/batches"

        def page(query):
            status, body = self.ex.get_json(base + query)
            self.assertEqual(status, 200)
            self.assertEqual(body["resource_id"], R_TABLE)
            return [b["seq"] for b in body["batches"]], body["more"]

        self.assertEqual(page("?after=0&limit=2"), ([1, 2], True))
        self.assertEqual(page("?after=2&limit=2"), ([5, 7], True))
        self.assertEqual(page("?after=7&limit=2"), ([8], False))
        self.assertEqual(page("?after=8"), ([], False))
        self.assertEqual(page(""), ([1, 2, 5, 7, 8], False))
        self.assertEqual(page("?after=3"), ([5, 7, 8], False))
        _, body = self.ex.get_json(base + "?after=6&limit=1")
        entry = body["batches"][0]
        self.assertEqual(set(entry), {"batch_id", "seq", "mode", "created_at"})
        self.assertEqual((entry["batch_id"], entry["mode"]), (ids[7], "full"))
        for bad in ("?limit=0", "?limit=x", "?after=-1"):
            status, _, body = self.ex.request("GET", base + bad)
            self.assertEqual((status, error_code(body)), (400, "BAD_REQUEST"), bad)

    def test_seq_must_increase_and_batch_ids_are_unique(self):
        self.ex.publish_table(R_TABLE, csv=CSV, seq=3)
        with self.assertRaises(harness.HarnessError):
            self.ex.publish_table(R_TABLE, csv=CSV, seq=3)
        a = self.ex.publish_table("R-A", csv=CSV)
        b = self.ex.publish_table("R-B", csv=CSV)
        self.assertNotEqual(a, b)


class ManifestAndPayloadTest(ExchangeTestCase):
    def setUp(self):
        super().setUp()
        self.batch = self.ex.publish_table(R_TABLE, csv=CSV, mode="full",
                                           created_at="2026-11-20T02:00:00+08:00")
        status, _, self.payload = self.ex.request("GET", f"/v1/batches/{self.batch}/payload")
        self.assertEqual(status, 200)

    def test_manifest_is_the_stored_bytes_and_describes_the_payload(self):
        status, headers, body = self.ex.request("GET", f"/v1/batches/{self.batch}/manifest")
        self.assertEqual(status, 200)
        self.assertEqual(body, (self.ex.batch_dir(self.batch) / "manifest.json").read_bytes())
        m = json.loads(body)
        self.assertEqual(list(m), ["protocol", "batch_id", "resource_id", "seq", "kind", "mode",
                                   "created_at", "payload", "table", "row_count"])
        self.assertEqual((m["protocol"], m["batch_id"], m["resource_id"], m["seq"], m["kind"]),
                         (1, self.batch, R_TABLE, 1, "table"))
        self.assertEqual(m["created_at"], "2026-11-20T02:00:00+08:00")
        self.assertEqual(m["table"], harness.SAMPLE_SCHEMA)
        self.assertEqual(m["row_count"], 3)  # records, not lines: one field holds a line break
        p = m["payload"]
        self.assertEqual((p["format"], p["compression"], p["encoding"]), ("csv", "gzip", "UTF-8"))
        self.assertEqual(p["size"], len(self.payload))
        self.assertEqual(p["sha256"], hashlib.sha256(self.payload).hexdigest())
        self.assertEqual(gzip.decompress(self.payload).decode(), CSV)

    def test_payload_headers(self):
        _, headers, _ = self.ex.request("GET", f"/v1/batches/{self.batch}/payload")
        self.assertEqual(headers["Accept-Ranges"], "bytes")
        self.assertEqual(headers["ETag"], '"%s"' % hashlib.sha256(self.payload).hexdigest())
        self.assertEqual(int(headers["Content-Length"]), len(self.payload))

    def test_range_resume(self):
        n = len(self.payload) // 3
        status, headers, part = self.ex.request(
            "GET", f"/v1/batches/{self.batch}/payload", headers={"Range": f"bytes={n}-"})
        self.assertEqual(status, 206)
        self.assertEqual(headers["Content-Range"],
                         f"bytes {n}-{len(self.payload) - 1}/{len(self.payload)}")
        self.assertEqual(self.payload[:n] + part, self.payload)

    def test_range_at_or_past_end_is_416(self):
        for start in (len(self.payload), len(self.payload) + 10):
            status, headers, body = self.ex.request(
                "GET", f"/v1/batches/{self.batch}/payload", headers={"Range": f"bytes={start}-"})
            self.assertEqual(status, 416)
            self.assertEqual(headers["Content-Range"], f"bytes */{len(self.payload)}")
            self.assertIn("code", json.loads(body)["error"])

    def test_if_range(self):
        etag = '"%s"' % hashlib.sha256(self.payload).hexdigest()
        path = f"/v1/batches/{self.batch}/payload"
        status, _, body = self.ex.request("GET", path, headers={"Range": "bytes=5-",
                                                                "If-Range": '"0000"'})
        self.assertEqual((status, body), (200, self.payload))
        status, _, body = self.ex.request("GET", path, headers={"Range": "bytes=5-",
                                                                "If-Range": etag})
        self.assertEqual((status, body), (206, self.payload[5:]))

    def test_signature_served_when_present(self):
        path = f"/v1/batches/{self.batch}/signature"
        status, _, body = self.ex.request("GET", path)
        self.assertEqual(status, 404)
        signature = b'{"alg": "ed25519", "key_id": "city-2026", "value": "AAAA"}\n'
        (self.ex.batch_dir(self.batch) / "signature.json").write_bytes(signature)
        self.assertEqual(self.ex.request("GET", path)[:3:2], (200, signature))

    def test_unknown_batch_is_404(self):
        for what in ("manifest", "payload", "signature"):
            self.assertEqual(self.ex.request("GET", f"/v1/batches/B-NOPE/{what}")[0], 404)

    def test_large_payload_streams_and_resumes(self):
        data = os.urandom(3 << 20)
        batch = self.ex.publish_table(R_TABLE, payload=data, compression="none", row_count=0)
        path = f"/v1/batches/{batch}/payload"
        status, _, body = self.ex.request("GET", path)
        self.assertEqual((status, hashlib.sha256(body).digest()),
                         (200, hashlib.sha256(data).digest()))
        status, _, part = self.ex.request("GET", path, headers={"Range": "bytes=1000001-"})
        self.assertEqual((status, part == data[1000001:]), (206, True))


class PublishFormatsTest(ExchangeTestCase):
    def test_gzip_payload_made_by_the_gzip_tool_round_trips(self):
        csv_file = self.ex.tmp / "tool.csv"
        csv_file.write_text(CSV)
        gz = subprocess.run(["gzip", "-c", str(csv_file)], capture_output=True, check=True).stdout
        batch = self.ex.publish_table(R_TABLE, payload=gz, compression="gzip")
        m = self.ex.manifest(batch)
        self.assertEqual(m["row_count"], 3)
        status, _, body = self.ex.request("GET", f"/v1/batches/{batch}/payload")
        self.assertEqual((status, body), (200, gz))
        self.assertEqual(m["payload"]["sha256"], hashlib.sha256(gz).hexdigest())
        self.assertEqual(gzip.decompress(body).decode(), CSV)

    def test_zstd_csv(self):
        batch = self.ex.publish_table(R_TABLE, csv=CSV, compression="zstd", encoding="GB18030")
        _, _, body = self.ex.request("GET", f"/v1/batches/{batch}/payload")
        out = subprocess.run(["zstd", "-dc"], input=body, capture_output=True, check=True).stdout
        self.assertEqual(out.decode(), CSV)
        self.assertEqual(self.ex.manifest(batch)["payload"]["encoding"], "GB18030")

    def test_row_count_override(self):
        batch = self.ex.publish_table(R_TABLE, csv=CSV, row_count=99, mode="incremental")
        self.assertEqual(self.ex.manifest(batch)["row_count"], 99)

    def test_folder_tar_gzip(self):
        files = {"a.txt": "hello\n", "子目录/文件.txt": "内容\n", "deep/x/y.bin": b"\0\1\2"}
        batch = self.ex.publish_folder(R_FOLDER, files=files)
        m = self.ex.manifest(batch)
        self.assertEqual(list(m)[-1], "folder")
        self.assertNotIn("table", m)
        self.assertEqual((m["payload"]["format"], m["payload"]["compression"]), ("tar", "gzip"))
        expected_bytes = sum(len(v.encode() if isinstance(v, str) else v) for v in files.values())
        self.assertEqual(m["folder"], {"files": 3, "bytes": expected_bytes})
        _, _, body = self.ex.request("GET", f"/v1/batches/{batch}/payload")
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
            got = {i.name: tar.extractfile(i).read() for i in tar.getmembers() if i.isfile()}
        self.assertEqual(got, {k: v.encode() if isinstance(v, str) else v
                               for k, v in files.items()})

    def test_folder_zip_incremental_with_deletes(self):
        batch = self.ex.publish_folder(R_FOLDER, files={"新.txt": "x"}, mode="incremental",
                                       format="zip", deletes=["old.txt", "gone/dir"])
        m = self.ex.manifest(batch)
        self.assertEqual((m["payload"]["format"], m["payload"]["compression"]), ("zip", "none"))
        self.assertEqual(m["folder"], {"files": 1, "bytes": 1,
                                       "deletes": ["old.txt", "gone/dir"]})
        _, _, body = self.ex.request("GET", f"/v1/batches/{batch}/payload")
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            info = z.infolist()[0]
            self.assertEqual(info.filename, "新.txt")
            self.assertTrue(info.flag_bits & 0x800)  # UTF-8 name flag

    def test_folder_prebuilt_payload(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("../escape.txt")
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
        batch = self.ex.publish_folder(R_FOLDER, payload=buf.getvalue(), compression="none")
        m = self.ex.manifest(batch)
        self.assertEqual(m["folder"], {"files": 1, "bytes": 4})
        self.assertEqual(self.ex.request("GET", f"/v1/batches/{batch}/payload")[2],
                         buf.getvalue())


class ReceiptTest(ExchangeTestCase):
    def setUp(self):
        super().setUp()
        self.table = self.ex.publish_table(R_TABLE, csv=CSV)
        self.folder = self.ex.publish_folder(R_FOLDER, files={"a": "12"})

    def post(self, receipt):
        return self.ex.post_json("/v1/receipts", receipt)

    def test_new_then_same_then_different(self):
        receipt = self.receipt_for(self.table)
        self.assertEqual(self.post(receipt),
                         (201, {"receipt_id": receipt["receipt_id"], "accepted": True}))
        self.assertEqual(self.post(receipt),
                         (200, {"receipt_id": receipt["receipt_id"], "accepted": True}))
        other = self.receipt_for(self.table, status="rejected", counts={"rows": 0, "deleted": 0},
                                 error={"code": "SCHEMA_MISMATCH", "message": "x"})
        status, body = self.post(other)
        self.assertEqual((status, body["error"]["code"]), (409, "CONFLICT"))
        self.assertEqual(self.ex.receipts(), [receipt])  # the first one is kept
        self.assertEqual([e["status"] for e in self.ex.receipt_log()], [201, 200, 409])
        lines = self.ex.run("receipts", "--root", self.ex.root).stdout.splitlines()
        self.assertEqual(lines, [f"{self.table} {R_TABLE} seq=1 applied rows=3 deleted=0"])

    def test_receipts_survive_a_restart(self):
        receipt = self.receipt_for(self.folder)
        self.assertEqual(self.post(receipt)[0], 201)
        port = self.ex.port
        self.assertEqual(self.ex.stop(), 0)
        self.ex.start()
        self.assertEqual(self.ex.port, port)
        self.assertEqual(self.post(receipt)[0], 200)
        self.assertEqual(self.post(self.receipt_for(self.folder))[0], 409)

    def test_rejected_and_superseded(self):
        rejected = self.receipt_for(self.table, status="rejected", payload_sha256=None,
                                    counts={"rows": 0, "deleted": 0},
                                    error={"code": "CHECKSUM_MISMATCH", "message": "bad"})
        self.assertEqual(self.post(rejected)[0], 201)
        superseded = self.receipt_for(self.folder, status="superseded", payload_sha256=None,
                                      counts={"files": 0, "deleted": 0, "bytes": 0})
        self.assertEqual(self.post(superseded)[0], 201)
        lines = self.ex.run("receipts", "--root", self.ex.root).stdout
        self.assertIn("error=CHECKSUM_MISMATCH", lines)

    def test_malformed_is_400(self):
        cases = {
            "missing field": {k: v for k, v in self.receipt_for(self.table).items()
                              if k != "agent"},
            "folder counts for a table": self.receipt_for(
                self.table, counts={"files": 3, "deleted": 0, "bytes": 1}),
            "extra count": self.receipt_for(self.table,
                                            counts={"rows": 3, "deleted": 0, "bytes": 0}),
            "bad status": self.receipt_for(self.table, status="done"),
            "error when applied": self.receipt_for(
                self.table, error={"code": "TARGET_ERROR", "message": "x"}),
            "unknown error code": self.receipt_for(
                self.table, status="rejected", counts={"rows": 0, "deleted": 0},
                error={"code": "OOPS", "message": "x"}),
            "rejected without error": self.receipt_for(
                self.table, status="rejected", counts={"rows": 0, "deleted": 0}),
            "node differs": self.receipt_for(self.table, node="N-OTHER"),
            "seq differs": self.receipt_for(self.table, seq=2),
            "resource differs": self.receipt_for(self.table, resource_id=R_FOLDER),
            "seq is a string": self.receipt_for(self.table, seq="1"),
            "negative count": self.receipt_for(self.table, counts={"rows": -1, "deleted": 0}),
            "bad time": self.receipt_for(self.table, applied_at="yesterday"),
            "bad sha": self.receipt_for(self.table, payload_sha256="ABC"),
            "row count differs": self.receipt_for(self.table, counts={"rows": 2, "deleted": 0}),
            "not an object": [1, 2],
        }
        for name, receipt in cases.items():
            status, body = self.post(receipt)
            self.assertEqual((status, body["error"]["code"]), (400, "BAD_REQUEST"), name)
        status, _, body = self.ex.request("POST", "/v1/receipts", body="{not json")
        self.assertEqual(status, 400)
        self.assertEqual(self.ex.receipts(), [])
        self.assertEqual(len(self.ex.receipt_log()), len(cases) + 1)

    def test_unknown_batch_is_404(self):
        receipt = dict(self.receipt_for(self.table), batch_id="B-20991231-9999")
        status, body = self.post(receipt)
        self.assertEqual((status, body["error"]["code"]), (404, "NOT_FOUND"))


class HeartbeatTest(ExchangeTestCase):
    def test_heartbeat(self):
        hb = {"node": self.ex.node, "agent": "fep-agent/0.1.0",
              "started_at": "2026-11-20T02:00:00+08:00",
              "resources": [{"resource_id": R_TABLE, "last_seq": None, "last_applied_at": None,
                             "state": "idle", "error": None}]}
        self.assertEqual(self.ex.post_json("/v1/heartbeat", hb), (200, {"ok": True}))
        self.assertEqual(self.ex.heartbeats()[0]["heartbeat"], hb)
        bad = dict(hb, resources=[dict(hb["resources"][0], state="sleeping")])
        self.assertEqual(self.ex.post_json("/v1/heartbeat", bad)[0], 400)
        self.assertEqual([h["status"] for h in self.ex.heartbeats()], [200, 400])


class ProcessTest(ExchangeTestCase):
    def test_sigterm_stops_cleanly_and_logs_requests(self):
        self.ex.request("GET", "/v1/subscriptions")
        self.assertEqual(self.ex.stop(), 0)
        self.assertIn("GET /v1/subscriptions 200", self.ex.log())

    def test_down_then_up_on_the_same_port(self):
        batch = self.ex.publish_table(R_TABLE, csv=CSV)
        port = self.ex.port
        self.ex.stop()
        with self.assertRaises(OSError):
            self.ex.request("GET", "/v1/subscriptions")
        self.ex.start()
        self.assertEqual(self.ex.port, port)
        self.assertEqual(self.ex.request("GET", f"/v1/batches/{batch}/manifest")[0], 200)


if __name__ == "__main__":
    unittest.main()
