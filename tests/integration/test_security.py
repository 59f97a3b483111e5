"""Security: manifest signatures (ed25519, sm2), TLS towards the exchange (CA, host name, pins,
client certificates, proxies), and the modes of secret files.

Keys and certificates are made by the openssl command line in a temporary folder, so the agent
and exchange-sim are checked against an implementation that is not theirs: signatures made by
`openssl dgst`/`pkeyutl` must verify in the agent, and certificates made by `openssl x509` must
serve and verify."""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness
from harness import Agent

R = "R-SCJG-0001"
FULL_CSV = "id,name,reg_capital,established,updated_at\n1,甲,1.00,2001-05-12,2026-11-20 02:00:00\n"
INCREMENTAL_CSV = ("_op,id,name,reg_capital,established,updated_at\n"
                   "U,2,乙,2.00,2010-01-01,2026-11-21 08:00:00\n")


def openssl(*args, input=None):
    proc = subprocess.run(["openssl", *map(str, args)], capture_output=True, input=input,
                          timeout=60)
    if proc.returncode != 0:
        raise harness.HarnessError(f"openssl {' '.join(map(str, args))}: "
                                   f"{proc.stderr.decode(errors='replace')}")
    return proc.stdout


def add_exchange_keys(agent, lines):
    """Adds keys to the agent's `exchange:` section (after the harness's retry_cap line)."""
    text = agent.config.read_text(encoding="utf-8")
    anchor = "  retry_cap: 200ms\n"
    assert anchor in text
    agent.config.write_text(text.replace(anchor, anchor + "".join(f"  {l}\n" for l in lines)),
                            encoding="utf-8")


def secret(path):
    path.chmod(0o600)
    return path


class SignatureTest(unittest.TestCase):
    """Signed batches from exchange-sim `publish --sign-key`, checked by the agent."""

    @classmethod
    def setUpClass(cls):
        cls.keys = Path(tempfile.mkdtemp(prefix="fep-signing-keys-"))
        for alg, name in (("ed25519", "ED25519"), ("sm2", "SM2")):
            key = cls.keys / f"{alg}.key"
            openssl("genpkey", "-algorithm", name, "-out", key)
            secret(key)
            openssl("pkey", "-in", key, "-pubout", "-out", cls.keys / f"{alg}.pub")
        openssl("genpkey", "-algorithm", "ED25519", "-out", cls.keys / "stranger.key")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.keys, ignore_errors=True)

    def setUp(self):
        self.exchange = harness.Exchange()
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.tmp = tempfile.mkdtemp(prefix="fep-agent-sig-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.exchange.subscribe(R, name="企业登记信息", kind="table", status="approved")
        self.agent = Agent(self.exchange, self.tmp)

    def configure(self, require):
        add_exchange_keys(self.agent, [
            f"require_signature: {'true' if require else 'false'}",
            "signing_keys:",
            f"  city-ed: {self.keys / 'ed25519.pub'}",
            f"  city-sm2: {self.keys / 'sm2.pub'}",
        ])

    def publish(self, csv=FULL_CSV, mode="full", key=None, key_id=None, alg=None):
        """Publishes a table batch, signed when `key` (a file name under the keys folder)."""
        args = []
        if key:
            args = ["--sign-key", self.keys / key, "--key-id", key_id]
            if alg:
                args += ["--sign-alg", alg]
        schema = self.exchange._input(json.dumps(harness.SAMPLE_SCHEMA), ".json")
        csv_file = self.exchange._input(csv, ".csv")
        return self.exchange.run("publish", "table", "--root", self.exchange.root, "--resource", R,
                                 "--schema", schema, "--csv", csv_file, "--mode", mode,
                                 *args).stdout.strip()

    def signature_file(self, batch):
        return self.exchange.batch_dir(batch) / "signature.json"

    def assertExit(self, proc, code):
        self.assertEqual(proc.returncode, code, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")

    def assertRejected(self, batch, proc, reason):
        self.assertExit(proc, 2)
        receipt = self.exchange.receipt(batch)
        self.assertEqual(receipt["status"], "rejected")
        self.assertEqual(receipt["error"]["code"], "SIGNATURE_INVALID")
        self.assertIn(reason, receipt["error"]["message"])
        self.assertEqual(receipt["counts"], {"rows": 0, "deleted": 0})
        self.assertIsNone(receipt["payload_sha256"])
        self.assertFalse(self.agent.table_exists(), "nothing of a rejected batch is applied")
        self.assertIn("SIGNATURE_INVALID", proc.stderr)

    def test_sim_writes_the_protocol_signature_object(self):
        batch = self.publish(key="sm2.key", key_id="city-sm2")
        status, body = self.exchange.get_json(f"/v1/batches/{batch}/signature")
        self.assertEqual(status, 200)
        self.assertEqual(sorted(body), ["alg", "key_id", "value"])
        self.assertEqual((body["alg"], body["key_id"]), ("sm2", "city-sm2"))
        der = base64.b64decode(body["value"], validate=True)
        self.assertEqual(der[0], 0x30, "SM2 signatures are DER")
        # The signature covers the manifest bytes as served; openssl agrees.
        _, _, manifest = self.exchange.request("GET", f"/v1/batches/{batch}/manifest")
        work = Path(self.tmp)
        (work / "m").write_bytes(manifest)
        (work / "s").write_bytes(der)
        openssl("dgst", "-sm3", "-verify", self.keys / "sm2.pub", "-sigopt",
                "distid:1234567812345678", "-signature", work / "s", work / "m")
        unsigned = self.publish(csv=INCREMENTAL_CSV, mode="incremental")
        status, body = self.exchange.get_json(f"/v1/batches/{unsigned}/signature")
        self.assertEqual((status, body["error"]["code"]), (404, "NOT_SIGNED"))

    def test_sim_refuses_a_key_of_another_algorithm(self):
        proc = self.exchange.run("publish", "table", "--root", self.exchange.root, "--resource", R,
                                 "--schema", self.exchange._input(
                                     json.dumps(harness.SAMPLE_SCHEMA), ".json"),
                                 "--csv", self.exchange._input(FULL_CSV, ".csv"), "--mode",
                                 "full", "--sign-key", self.keys / "ed25519.key", "--key-id", "k",
                                 "--sign-alg", "sm2", check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("is an ed25519 key, not sm2", proc.stderr)

    def test_ed25519_and_sm2_signed_batches_apply_when_signatures_are_required(self):
        self.configure(require=True)
        full = self.publish(key="ed25519.key", key_id="city-ed")
        incremental = self.publish(csv=INCREMENTAL_CSV, mode="incremental", key="sm2.key",
                                   key_id="city-sm2")
        self.assertExit(self.agent.sync(), 0)
        self.assertEqual([r[0] for r in self.agent.rows()], [1, 2])
        self.assertEqual([self.exchange.receipt(b)["status"] for b in (full, incremental)],
                         ["applied", "applied"])

    def test_signatures_made_by_openssl_verify(self):
        """Interoperability: signature.json written by hand from openssl's own signatures."""
        self.configure(require=True)
        work = Path(self.tmp)
        for alg, csv, mode in (("ed25519", FULL_CSV, "full"),
                               ("sm2", INCREMENTAL_CSV, "incremental")):
            batch = self.publish(csv=csv, mode=mode)
            manifest = self.exchange.batch_dir(batch) / "manifest.json"
            key = self.keys / f"{alg}.key"
            if alg == "ed25519":
                sig = openssl("pkeyutl", "-sign", "-inkey", key, "-rawin", "-in", manifest)
            else:
                sig = openssl("dgst", "-sm3", "-sign", key, "-sigopt", "distid:1234567812345678",
                              manifest)
            self.signature_file(batch).write_text(json.dumps({
                "alg": alg, "key_id": "city-ed" if alg == "ed25519" else "city-sm2",
                "value": base64.b64encode(sig).decode()}))
        self.assertExit(self.agent.sync(), 0)
        self.assertEqual([r[0] for r in self.agent.rows()], [1, 2])

    def test_unsigned_batch_is_rejected_when_signatures_are_required(self):
        self.configure(require=True)
        batch = self.publish()
        proc = self.agent.sync()
        self.assertRejected(batch, proc, "not signed")

    def test_unknown_key_is_rejected_when_signatures_are_required(self):
        self.configure(require=True)
        batch = self.publish(key="stranger.key", key_id="city-2099")
        self.assertRejected(batch, self.agent.sync(), "city-2099")

    def test_bad_signature_is_rejected_even_when_not_required(self):
        self.configure(require=False)
        batch = self.publish(key="ed25519.key", key_id="city-ed")
        path = self.signature_file(batch)
        signature = json.loads(path.read_text())
        value = signature["value"]
        # One character of the base64 changed to another: still base64, another signature.
        signature["value"] = ("B" if value[5] != "B" else "C").join([value[:5], value[6:]])
        path.write_text(json.dumps(signature))
        proc = self.agent.sync()
        self.assertRejected(batch, proc, "does not match the manifest")

    def test_manifest_changed_after_signing_is_rejected(self):
        self.configure(require=False)
        batch = self.publish(key="sm2.key", key_id="city-sm2")
        manifest = self.exchange.batch_dir(batch) / "manifest.json"
        manifest.write_text(manifest.read_text().replace('"row_count": 1', '"row_count":  1'))
        self.assertRejected(batch, self.agent.sync(), "does not match the manifest")

    def test_unknown_key_is_logged_and_applied_when_not_required(self):
        self.configure(require=False)
        batch = self.publish(key="stranger.key", key_id="city-2099")
        proc = self.agent.sync()
        self.assertExit(proc, 0)
        self.assertEqual(self.exchange.receipt(batch)["status"], "applied")
        self.assertEqual([r[0] for r in self.agent.rows()], [1])
        self.assertIn("unknown key \"city-2099\"", proc.stderr)
        self.assertIn(batch, proc.stderr)

    def test_without_keys_unsigned_and_signed_batches_apply(self):
        first = self.publish()
        second = self.publish(csv=INCREMENTAL_CSV, mode="incremental", key="ed25519.key",
                              key_id="city-ed")
        self.assertExit(self.agent.sync(), 0)
        self.assertEqual([self.exchange.receipt(b)["status"] for b in (first, second)],
                         ["applied", "applied"])


class TlsExchange(harness.Exchange):
    """exchange-sim serving HTTPS with the test PKI's `cert`, requiring client certificates
    from the test CA when `client_ca`."""

    def __init__(self, pki, cert="server", client_ca=True):
        args = ["--tls-cert", pki / f"{cert}.pem", "--tls-key", pki / f"{cert}.key"]
        if client_ca:
            args += ["--client-ca", pki / "ca.pem"]
        super().__init__(extra_args=[str(a) for a in args])

    @property
    def url(self):
        if self.port is None:
            raise harness.HarnessError("the exchange has not been started")
        return f"https://127.0.0.1:{self.port}"


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = Path(tempfile.mkdtemp(prefix="fep-pki-"))
        p = cls.pki
        for ca in ("ca", "other-ca"):
            openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", p / f"{ca}.key", "-out", p / f"{ca}.pem", "-days", "2",
                    "-subj", f"/CN=fep test {ca}",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        cls.issue("server", "/CN=127.0.0.1",
                  "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        cls.issue("elsewhere", "/CN=other.example",
                  "subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n")
        cls.issue("client", f"/CN={harness.DEFAULT_NODE}", "extendedKeyUsage=clientAuth\n")
        for key in p.glob("*.key"):
            secret(key)
        cls.pin = cls.pin_of(p / "server.pem")
        cls.other_pin = cls.pin_of(p / "elsewhere.pem")

    @classmethod
    def issue(cls, name, subject, extensions):
        p = cls.pki
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", p / f"{name}.key", "-out", p / f"{name}.csr", "-subj", subject)
        (p / f"{name}.ext").write_text(extensions)
        openssl("x509", "-req", "-in", p / f"{name}.csr", "-CA", p / "ca.pem", "-CAkey",
                p / "ca.key", "-CAcreateserial", "-days", "2", "-out", p / f"{name}.pem",
                "-extfile", p / f"{name}.ext")

    @staticmethod
    def pin_of(cert):
        spki = openssl("pkey", "-pubin", "-outform", "DER",
                       input=openssl("x509", "-in", cert, "-pubkey", "-noout"))
        return "sha256//" + base64.b64encode(hashlib.sha256(spki).digest()).decode()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def start(self, **kwargs):
        exchange = TlsExchange(self.pki, **kwargs)
        exchange.__enter__()
        self.addCleanup(exchange.close)
        exchange.subscribe(R, name="企业登记信息", kind="table", status="approved")
        self.batch = exchange.publish_table(R, csv=FULL_CSV, mode="full")
        self.exchange = exchange
        tmp = tempfile.mkdtemp(prefix="fep-agent-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.agent = Agent(exchange, tmp)
        return self.agent

    def configure(self, ca="ca", client=True, pins=None, extra=()):
        lines = [f"ca_file: {self.pki / f'{ca}.pem'}"]
        if client:
            lines += [f"client_cert: {self.pki / 'client.pem'}",
                      f"client_key: {self.pki / 'client.key'}"]
        if pins is not None:
            lines.append("pinned_pubkey: " + json.dumps(pins))
        add_exchange_keys(self.agent, lines + list(extra))

    def sync(self, env=None):
        return subprocess.run([harness.agent_bin(), "--config", str(self.agent.config), "sync",
                               "--once"], capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, **(env or {})))

    def assertRefused(self, proc, *phrases):
        out = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        self.assertEqual(proc.returncode, 1, out)
        for phrase in phrases:
            self.assertIn(phrase, proc.stderr, out)
        self.assertEqual(self.exchange.receipts(), [], "no receipt may be posted")
        self.assertFalse(self.agent.table_exists())

    def test_trusted_ca_client_certificate_and_pin(self):
        self.start()
        # The right pin among others (a key rollover lists the current and the next key).
        self.configure(pins=[self.other_pin, self.pin])
        # Proxy variables are ignored when exchange.proxy is not set: this one does not exist.
        proc = self.sync(env={"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY":
                              "http://127.0.0.1:9", "all_proxy": "http://127.0.0.1:9"})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.exchange.receipt(self.batch)["status"], "applied")
        self.assertEqual([r[0] for r in self.agent.rows()], [1])

    def test_single_pin_as_a_string(self):
        self.start(client_ca=False)
        self.configure(client=False, extra=[f"pinned_pubkey: \"{self.pin}\""])
        proc = self.sync()
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_certificate_from_another_ca_is_refused(self):
        self.start()
        self.configure(ca="other-ca")
        self.assertRefused(self.sync(), "certificate", "exchange.ca_file")

    def test_system_trust_store_does_not_trust_a_private_ca(self):
        self.start(client_ca=False)
        self.assertRefused(self.sync(), "certificate", "exchange.ca_file")

    def test_certificate_for_another_host_name_is_refused(self):
        self.start(cert="elsewhere")
        self.configure()
        self.assertRefused(self.sync(), "127.0.0.1", "not for the host name in exchange.url")

    def test_wrong_pin_is_refused(self):
        self.start()
        self.configure(pins=[self.other_pin])
        self.assertRefused(self.sync(), "pinned", "exchange.pinned_pubkey")

    def test_missing_client_certificate_is_refused(self):
        self.start()
        self.configure(client=False)
        self.assertRefused(self.sync(), "exchange.client_cert")

    def test_configured_proxy_is_used(self):
        self.start()
        self.configure(extra=["proxy: http://127.0.0.1:9"])
        proc = self.sync()
        self.assertRefused(proc)
        self.assertIn("127.0.0.1", proc.stderr)


class SecretFileModeTest(unittest.TestCase):
    def setUp(self):
        self.exchange = harness.Exchange()
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.tmp = tempfile.mkdtemp(prefix="fep-agent-modes-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.agent = Agent(self.exchange, self.tmp)

    def test_token_readable_by_others_is_a_config_error(self):
        self.agent.token_file.chmod(0o644)
        proc = self.agent.run("check-config")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(f"exchange.token_file: {self.agent.token_file} has mode 0644", proc.stderr)
        self.assertIn("chmod 600", proc.stderr)
        self.assertNotIn(harness.DEFAULT_TOKEN, proc.stderr + proc.stdout)
        self.assertEqual(self.agent.sync().returncode, 1)

    def test_group_readable_token_is_accepted(self):
        self.agent.token_file.chmod(0o640)
        proc = self.agent.run("check-config")
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_group_writable_password_file_is_refused(self):
        pw = Path(self.tmp) / "db-password"
        pw.write_text("pw\n")
        pw.chmod(0o620)
        text = self.agent.config.read_text(encoding="utf-8")
        self.agent.config.write_text(
            text.replace("    type: odbc\n", f"    type: odbc\n    password_file: {pw}\n"),
            encoding="utf-8")
        proc = self.agent.run("check-config")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(f"targets.local_db.password_file: {pw} has mode 0620 (writable by group "
                      "or others)", proc.stderr)


if __name__ == "__main__":
    unittest.main()
