"""Folder resources: the real fep-agent binary against exchange-sim.

Archives are made here with Python's tarfile and zipfile and with the zip, tar and bsdtar tools.
Each test checks the agent's exit code, the folder on disk and the receipt the exchange
recorded; each malicious archive also checks that nothing appeared outside the staging folder
(docs/folders.md has the layout: <root>/parcels -> .parcels.versions/<batch_id>)."""

import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
import uuid
import zipfile
from pathlib import Path

import harness
from harness import Agent

R = "R-ZRZY-0102"
FIRST = {"a.txt": b"alpha\n", "docs/readme.md": b"# readme\n", "docs/old/x.bin": b"x" * 100}


class FolderAgent(Agent):
    """An agent whose only target is a folder (harness.Agent writes an odbc target)."""

    def __init__(self, exchange, tmp, target_extra=""):
        super().__init__(exchange, tmp, resources=())
        self.root = self.dir / "files"
        head = self.config.read_text(encoding="utf-8").split("targets:\n")[0]
        self.config.write_text(
            head + "targets:\n  files:\n    type: folder\n"
            f"    path: {self.root}\n" + target_extra +
            f"resources:\n  - id: {R}\n    target: files\n    path: parcels\n",
            encoding="utf-8")

    @property
    def folder(self):
        return self.root / "parcels"

    @property
    def versions(self):
        return self.root / ".parcels.versions"

    def contents(self):
        """{relative path: bytes} of the published folder."""
        out = {}
        for dirpath, _, files in os.walk(self.folder, followlinks=False):
            for name in files:
                path = Path(dirpath) / name
                out[str(path.relative_to(self.folder))] = path.read_bytes()
        return out

    def staging(self):
        return [p for p in self.versions.glob("*~staging")] if self.versions.exists() else []


def tar_member(name, data=b"", kind=tarfile.REGTYPE, linkname="", mode=0o644):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    return info, (io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def write_tar(path, members, mode="w:gz"):
    """members: (name, bytes) pairs or tar_member() results."""
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as tar:
        for m in members:
            if isinstance(m[0], str):
                m = tar_member(*m)
            tar.addfile(*m)
    return path


class GbkZipInfo(zipfile.ZipInfo):
    """A zip entry whose name is stored as GBK bytes without the UTF-8 flag, as zip tools on
    Chinese Windows write them (zipfile itself only writes ASCII or flagged UTF-8)."""

    def __init__(self, name):
        super().__init__(name)
        self.compress_type = zipfile.ZIP_DEFLATED

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


class FolderTest(unittest.TestCase):
    def setUp(self):
        self.exchange = harness.Exchange()
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.tmp = Path(tempfile.mkdtemp(prefix="fep-folders-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.exchange.subscribe(R, name="不动产登记附件", kind="folder", status="approved")
        self.agent = FolderAgent(self.exchange, self.tmp / "agent")

    def reconfigure(self, target_extra):
        self.agent = FolderAgent(self.exchange, self.tmp / "agent", target_extra)

    def assertSynced(self, proc, code=0):
        self.assertEqual(proc.returncode, code, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")

    def resource_status(self):
        return next(r for r in self.agent.status()["resources"] if r["resource_id"] == R)

    def publish_first(self):
        batch = self.exchange.publish_folder(R, files=FIRST, mode="full")
        self.assertSynced(self.agent.sync())
        self.assertEqual(self.agent.contents(), FIRST)
        return batch

    def assertRejected(self, batch, code, proc):
        self.assertSynced(proc, 2)
        receipt = self.exchange.receipt(batch)
        self.assertIsNotNone(receipt, proc.stderr)
        self.assertEqual(receipt["status"], "rejected")
        self.assertEqual(receipt["error"]["code"], code, receipt["error"]["message"])
        self.assertEqual(receipt["counts"], {"files": 0, "deleted": 0, "bytes": 0})
        self.assertEqual(self.resource_status()["state"], "blocked")
        self.assertEqual(self.agent.staging(), [], "the staging folder is removed")
        return receipt["error"]["message"]

    # --- applying -------------------------------------------------------------------------

    def test_full_then_incremental_with_deletes_then_zip(self):
        full = self.exchange.publish_folder(R, files=FIRST, mode="full")
        self.assertSynced(self.agent.sync())
        self.assertTrue(self.agent.folder.is_symlink())
        self.assertEqual(os.readlink(self.agent.folder), f".parcels.versions/{full}")
        self.assertEqual(self.agent.contents(), FIRST)
        self.assertEqual(os.stat(self.agent.folder / "a.txt").st_mode & 0o7777, 0o640)
        self.assertEqual(os.stat(self.agent.folder / "docs").st_mode & 0o7777, 0o750)
        self.assertTrue((self.agent.versions / f"{full}~.files").exists())

        # Incremental, made by GNU tar: one file changed, one added, a directory deleted.
        src = self.tmp / "inc"
        (src / "docs").mkdir(parents=True)
        (src / "a.txt").write_bytes(b"alpha v2\n")
        (src / "docs" / "new.txt").write_bytes(b"new\n")
        payload = self.tmp / "inc.tar.gz"
        subprocess.run(["tar", "-czf", str(payload), "-C", str(src), "."], check=True)
        inc = self.exchange.publish_folder(R, payload_file=payload, format="tar",
                                           compression="gzip", mode="incremental",
                                           deletes=["docs/old", "no/such/file"],
                                           file_count=2, byte_count=13)
        self.assertSynced(self.agent.sync())
        self.assertEqual(self.agent.contents(), {
            "a.txt": b"alpha v2\n", "docs/readme.md": b"# readme\n", "docs/new.txt": b"new\n"})
        self.assertEqual(os.readlink(self.agent.folder), f".parcels.versions/{inc}")
        # The previous version stays intact beside it.
        self.assertEqual((self.agent.versions / full / "a.txt").read_bytes(), b"alpha\n")

        # Full again, a zip made by Info-ZIP's zip: whatever it lacks is gone.
        zsrc = self.tmp / "zsrc"
        (zsrc / "maps").mkdir(parents=True)
        (zsrc / "maps" / "m1.txt").write_bytes(b"map one\n")
        zpayload = self.tmp / "full.zip"
        subprocess.run(["zip", "-q", "-r", str(zpayload), "maps"], cwd=zsrc, check=True)
        zfull = self.exchange.publish_folder(R, payload_file=zpayload, format="zip",
                                             compression="none", mode="full")
        self.assertSynced(self.agent.sync())
        self.assertEqual(self.agent.contents(), {"maps/m1.txt": b"map one\n"})
        self.assertFalse((self.agent.versions / full).exists(), "older versions are removed")

        receipts = {r["batch_id"]: r for r in self.exchange.receipts()}
        self.assertEqual(receipts[full]["counts"], {"files": 3, "deleted": 0, "bytes": 115})
        self.assertEqual(receipts[inc]["counts"], {"files": 2, "deleted": 1, "bytes": 13})
        self.assertEqual(receipts[zfull]["counts"], {"files": 1, "deleted": 3, "bytes": 8})
        self.assertTrue(all(r["status"] == "applied" for r in receipts.values()))
        status = self.resource_status()
        self.assertEqual((status["state"], status["last_seq"]), ("idle", 3))

    def test_bsdtar_zstd_and_ten_thousand_files(self):
        src = self.tmp / "many"
        for i in range(10000):
            d = src / f"d{i // 1000:02d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"f{i:05d}.txt").write_bytes(f"file {i}\n".encode())
        payload = self.tmp / "many.tar.zst"
        subprocess.run(["bsdtar", "--zstd", "-cf", str(payload), "-C", str(src), "."], check=True)
        batch = self.exchange.publish_folder(R, payload_file=payload, format="tar",
                                             compression="zstd", mode="full")
        started = time.monotonic()
        self.assertSynced(self.agent.sync())
        elapsed = time.monotonic() - started
        print(f"\n10,000 files: sync --once took {elapsed:.2f}s", file=sys.stderr)
        contents = self.agent.contents()
        self.assertEqual(len(contents), 10000)
        self.assertEqual(contents["d09/f09999.txt"], b"file 9999\n")
        receipt = self.exchange.receipt(batch)
        self.assertEqual(receipt["counts"]["files"], 10000)
        self.assertLess(elapsed, 120)

    def test_empty_full_batch_empties_the_folder(self):
        self.publish_first()
        batch = self.exchange.publish_folder(R, files={}, mode="full", format="zip")
        self.assertSynced(self.agent.sync())
        self.assertEqual(self.agent.contents(), {})
        self.assertEqual(self.exchange.receipt(batch)["counts"],
                         {"files": 0, "deleted": 3, "bytes": 0})

    def test_counts_that_differ_from_the_manifest(self):
        self.publish_first()
        batch = self.exchange.publish_folder(R, files={"b.txt": "b"}, mode="full", file_count=2,
                                             byte_count=1)
        message = self.assertRejected(batch, "PAYLOAD_INVALID", self.agent.sync())
        self.assertIn("folder.files and folder.bytes say 2 and 1", message)
        self.assertEqual(self.agent.contents(), FIRST)

    def test_batch_found_in_the_folder_after_state_loss_is_not_applied_twice(self):
        batch = self.exchange.publish_folder(R, files=FIRST, mode="full")
        receipts_dir = self.exchange.root / "receipts"
        shutil.rmtree(receipts_dir, ignore_errors=True)
        receipts_dir.write_text("not a directory")  # receipts cannot be stored: not accepted
        self.assertSynced(self.agent.sync(), 1)
        version = self.agent.versions / batch
        inode = version.stat().st_ino
        shutil.rmtree(self.agent.state)  # the agent forgets, as after a crash
        receipts_dir.unlink()
        self.assertSynced(self.agent.sync())
        receipt = self.exchange.receipt(batch)
        self.assertEqual(receipt["status"], "applied")
        self.assertEqual(receipt["counts"], {"files": 3, "deleted": 0, "bytes": 115})
        self.assertEqual(version.stat().st_ino, inode, "not extracted again")

    def test_not_enough_disk_space_pauses_without_a_receipt(self):
        self.reconfigure("    max_total_bytes: 4611686018427387904\n"
                         "    max_ratio: 1000000000000000\n")
        batch = self.exchange.publish_folder(R, files={"a": "a"}, mode="full",
                                             byte_count=1 << 56)  # 64 PiB
        proc = self.agent.sync()
        self.assertSynced(proc, 1)
        self.assertIsNone(self.exchange.receipt(batch))
        status = self.resource_status()
        self.assertEqual(status["state"], "paused")
        self.assertIn("not enough free disk space", status["last_error"])
        self.assertFalse(self.agent.folder.exists())

    def test_links_planted_in_the_folder_path_are_not_followed(self):
        # Another local user who can write in the target's folder plants links there: the agent
        # must neither write through them nor delete what they point at.
        elsewhere = self.tmp / "elsewhere"
        elsewhere.mkdir()
        (elsewhere / "state.db").write_bytes(b"precious")
        (elsewhere / "B-OLD").mkdir()
        self.agent.root.mkdir(parents=True)
        self.agent.versions.symlink_to(elsewhere)
        batch = self.exchange.publish_folder(R, files=FIRST, mode="full")
        proc = self.agent.sync()
        self.assertSynced(proc, 1)
        self.assertIsNone(self.exchange.receipt(batch))
        status = self.resource_status()
        self.assertEqual(status["state"], "paused")
        self.assertIn(f"{self.agent.versions} is a symbolic link", status["last_error"])
        self.assertEqual(sorted(p.name for p in elsewhere.iterdir()), ["B-OLD", "state.db"])

        # Moved away, the resource resumes.
        self.agent.versions.unlink()
        self.assertSynced(self.agent.sync())
        self.assertEqual(self.agent.contents(), FIRST)

        # A link as a folder on the way to the resource's folder.
        head = self.agent.config.read_text(encoding="utf-8").replace("path: parcels",
                                                                     "path: land/parcels")
        self.agent.config.write_text(head, encoding="utf-8")
        (self.agent.root / "land").symlink_to(elsewhere)
        self.exchange.publish_folder(R, files=FIRST, mode="full")
        proc = self.agent.sync()
        self.assertSynced(proc, 1)
        self.assertIn(f"{self.agent.root / 'land'} is a symbolic link", proc.stderr)
        self.assertEqual(sorted(p.name for p in elsewhere.iterdir()), ["B-OLD", "state.db"])

    # --- Chinese names --------------------------------------------------------------------

    def check_chinese(self, payload, names):
        batch = self.exchange.publish_folder(R, payload_file=payload, format="zip",
                                             compression="none", mode="full")
        proc = self.agent.sync()
        self.assertSynced(proc)
        self.assertEqual(sorted(self.agent.contents()), sorted(names))
        for name in names:
            self.assertTrue((self.agent.folder / name).exists(), name)
        return batch

    def test_gbk_zip_names_without_the_utf8_flag(self):
        names = {"不动产登记/土地证扫描件.pdf": b"%PDF-1.4 ...", "说明.txt": "中文说明".encode("gbk")}
        payload = self.tmp / "gbk.zip"
        with zipfile.ZipFile(payload, "w") as z:
            for name, data in names.items():
                z.writestr(GbkZipInfo(name), data)
        raw = payload.read_bytes()
        self.assertIn("土地证".encode("gbk"), raw)
        self.assertNotIn("土地证".encode("utf-8"), raw)
        self.check_chinese(payload, names)

    def test_gbk_names_from_the_zip_and_bsdtar_tools(self):
        # Info-ZIP's zip stores the bytes of names on disk as they are: GBK bytes, no flag.
        src = self.tmp / "gbk-src"
        src.mkdir()
        name = "宗地图.txt".encode("gbk")
        with open(os.path.join(os.fsencode(src), name), "wb") as f:
            f.write(b"map")
        zip_payload = self.tmp / "cli.zip"
        subprocess.run(["zip", "-q", str(zip_payload), name], cwd=src, check=True,
                       env=dict(os.environ, LC_ALL="C"))
        self.assertIn(name, zip_payload.read_bytes())
        self.check_chinese(zip_payload, ["宗地图.txt"])

        # bsdtar converts UTF-8 names on disk to GBK when told.
        src2 = self.tmp / "bsdtar-src"
        (src2 / "附件").mkdir(parents=True)
        (src2 / "附件" / "权属证明.txt").write_bytes(b"proof")
        bsd_payload = self.tmp / "bsd.zip"
        subprocess.run(["bsdtar", "--format", "zip", "--options", "zip:hdrcharset=GBK", "-cf",
                        str(bsd_payload), "附件"], cwd=src2, check=True,
                       env=dict(os.environ, LC_ALL="C.UTF-8"))
        self.assertIn("权属证明".encode("gbk"), bsd_payload.read_bytes())
        self.check_chinese(bsd_payload, ["附件/权属证明.txt"])

    def test_a_damaged_header_after_the_first_entry_is_an_invalid_payload(self):
        self.publish_first()
        payload = self.tmp / "damaged.tar"
        write_tar(payload, [("a.txt", b"1234"), ("b.txt", b"5678")], mode="w")
        data = bytearray(payload.read_bytes())
        second = 1024  # the first entry: a header block and a data block
        self.assertEqual(bytes(data[second:second + 5]), b"b.txt")
        data[second + 148:second + 156] = b"0000000\0"  # its header checksum, now wrong
        payload.write_bytes(bytes(data))
        batch = self.exchange.publish_folder(R, payload_file=payload, format="tar",
                                             compression="none", mode="incremental",
                                             file_count=2, byte_count=8)
        message = self.assertRejected(batch, "PAYLOAD_INVALID", self.agent.sync())
        self.assertIn("not a readable tar archive", message)
        self.assertEqual(self.agent.contents(), FIRST)

    # --- malicious archives ---------------------------------------------------------------

    def reject_case(self, members, code, fmt="tar", mode="w:gz", compression="gzip",
                    file_count=1, byte_count=4, target_extra=None):
        """Publishes a first good batch, then the bad one; checks the rejection and that the
        published folder did not change. Returns the receipt's message."""
        if target_extra is not None:
            self.reconfigure(target_extra)
        self.publish_first()
        payload = self.tmp / f"bad-{uuid.uuid4().hex}"
        if fmt == "tar":
            write_tar(payload, members, mode)
        else:
            with zipfile.ZipFile(payload, "w") as z:
                for name, data in members:
                    z.writestr(name, data)
        batch = self.exchange.publish_folder(R, payload_file=payload, format=fmt,
                                             compression=compression, mode="incremental",
                                             file_count=file_count, byte_count=byte_count)
        message = self.assertRejected(batch, code, self.agent.sync())
        self.assertEqual(self.agent.contents(), FIRST, "the published folder is unchanged")
        self.assertEqual(os.readlink(self.agent.folder).split("/")[0], ".parcels.versions")
        return message

    def test_a_name_that_is_both_a_file_and_a_directory_is_an_invalid_payload(self):
        message = self.reject_case([("d", b"1234"), ("d/x", b"5678")], "PAYLOAD_INVALID",
                                   file_count=2, byte_count=8)
        self.assertIn('"d/x" is inside "d", which the archive has as a file', message)

    def test_a_directory_then_a_file_of_its_name_is_an_invalid_payload(self):
        message = self.reject_case([tar_member("d/", kind=tarfile.DIRTYPE), ("d", b"1234"),
                                    ("d/x", b"5678")], "PAYLOAD_INVALID", file_count=2,
                                   byte_count=8)
        self.assertIn('"d" is a file, but the archive has a directory of that name', message)

    def test_a_file_over_a_directory_the_deletes_do_not_name_is_an_invalid_payload(self):
        # FIRST has the directory docs/; this incremental batch neither deletes it nor is
        # allowed to guess that it meant to.
        message = self.reject_case([("docs", b"1234")], "PAYLOAD_INVALID")
        self.assertIn("the folder has a directory of that name that `deletes` does not name",
                      message)

    def test_path_traversal_dot_dot(self):
        evil = Path("/tmp") / f"fep-evil-{uuid.uuid4().hex}.txt"
        depth = "../" * (len(self.agent.folder.parts) + 2)
        message = self.reject_case([("ok.txt", b"fine"), (depth + str(evil)[1:], b"evil")],
                                   "UNSAFE_PATH", file_count=2, byte_count=8)
        self.assertIn("'..'", message)
        self.assertFalse(evil.exists())
        self.assertFalse((self.agent.root / "ok.txt").exists())

    def test_path_traversal_relative_to_the_folder(self):
        message = self.reject_case([("../../tmp/evil.txt", b"evil")], "UNSAFE_PATH")
        self.assertIn("../../tmp/evil.txt", message)
        self.assertFalse((self.agent.root.parent / "tmp" / "evil.txt").exists())
        self.assertFalse(Path("/tmp/evil.txt").exists() and
                         Path("/tmp/evil.txt").read_bytes() == b"evil")

    def test_path_traversal_windows_form(self):
        evil_name = f"fep-evil-{uuid.uuid4().hex}.txt"
        message = self.reject_case([("..\\..\\" + evil_name, b"evil")], "UNSAFE_PATH", fmt="zip",
                                   compression="none")
        self.assertIn("'..'", message)
        self.assertEqual(list(self.agent.dir.rglob("*" + evil_name)), [])
        self.assertEqual(list(self.agent.dir.rglob("*..*evil*")), [])

    def test_absolute_path(self):
        evil = Path("/tmp") / f"fep-evil-{uuid.uuid4().hex}.txt"
        message = self.reject_case([(str(evil), b"evil")], "UNSAFE_PATH")
        self.assertIn("absolute", message)
        self.assertFalse(evil.exists())

    def test_symlink_pointing_outside_then_a_file_through_it(self):
        outside = self.tmp / "outside"
        outside.mkdir()
        message = self.reject_case(
            [tar_member("escape", kind=tarfile.SYMTYPE, linkname=str(outside)),
             ("escape/evil.txt", b"evil")], "UNSAFE_PATH", byte_count=4)
        self.assertIn("symbolic link", message)
        self.assertEqual(list(outside.iterdir()), [])

    def test_hard_link_to_etc_passwd(self):
        before = os.stat("/etc/passwd")
        message = self.reject_case(
            [tar_member("passwd", kind=tarfile.LNKTYPE, linkname="/etc/passwd"),
             ("passwd", b"root::0:0::/root:/bin/sh\n")], "UNSAFE_PATH", byte_count=25)
        self.assertIn("hard link", message)
        after = os.stat("/etc/passwd")
        self.assertEqual((before.st_ino, before.st_nlink, before.st_mtime_ns, before.st_size),
                         (after.st_ino, after.st_nlink, after.st_mtime_ns, after.st_size))

    def test_device_entry(self):
        message = self.reject_case([tar_member("null", kind=tarfile.CHRTYPE)], "UNSAFE_PATH",
                                   file_count=0, byte_count=0)
        self.assertIn("character device", message)

    def test_setuid_and_owner_are_not_restored(self):
        self.publish_first()
        info, data = tar_member("tool.sh", b"#!/bin/sh\n", mode=0o4755)
        info.uid, info.gid, info.uname, info.gname = 4242, 4242, "someone", "others"
        payload = write_tar(self.tmp / "suid.tar.gz", [(info, data)])
        self.exchange.publish_folder(R, payload_file=payload, format="tar", compression="gzip",
                                     mode="incremental", file_count=1, byte_count=10)
        self.assertSynced(self.agent.sync())
        st = os.stat(self.agent.folder / "tool.sh")
        self.assertEqual(st.st_mode & 0o7777, 0o640)
        self.assertEqual((st.st_uid, st.st_gid), (os.getuid(), os.getgid()))

    # --- decompression bombs --------------------------------------------------------------

    def bomb(self, size=64 << 20):
        payload = self.tmp / f"bomb-{uuid.uuid4().hex}.tar.gz"
        with tarfile.open(payload, "w:gz", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("zeros.bin")
            info.size = size

            class Zeros(io.RawIOBase):
                left = size

                def readable(self):
                    return True

                def readinto(self, b):
                    n = min(len(b), self.left)
                    b[:n] = bytes(n)
                    self.left -= n
                    return n

            tar.addfile(info, io.BufferedReader(Zeros(), 1 << 20))
        self.assertLess(payload.stat().st_size, size // 500)
        return payload

    def test_gzip_bomb_past_max_total_bytes(self):
        # An honest manifest already shows it: refused before anything is extracted.
        self.reconfigure("    max_total_bytes: 1048576\n")
        self.publish_first()
        payload = self.bomb()
        batch = self.exchange.publish_folder(R, payload_file=payload, format="tar",
                                             compression="gzip", mode="full")
        message = self.assertRejected(batch, "TOO_LARGE", self.agent.sync())
        self.assertIn("max_total_bytes", message)
        self.assertEqual(self.agent.contents(), FIRST)

    def test_gzip_bomb_past_max_ratio_and_max_file_bytes_while_extracting(self):
        # The manifest's totals are honest and within the limits it declares against, so the
        # archive is opened: the limits stop it as bytes come out of the decompressor.
        self.reconfigure("    max_file_bytes: 1048576\n    max_ratio: 100000\n")
        self.publish_first()
        batch = self.exchange.publish_folder(R, payload_file=self.bomb(), format="tar",
                                             compression="gzip", mode="full")
        message = self.assertRejected(batch, "TOO_LARGE", self.agent.sync())
        self.assertIn("max_file_bytes", message)
        self.assertEqual(self.agent.contents(), FIRST)

    def test_gzip_bomb_past_the_default_ratio(self):
        self.publish_first()
        batch = self.exchange.publish_folder(R, payload_file=self.bomb(), format="tar",
                                             compression="gzip", mode="full")
        message = self.assertRejected(batch, "TOO_LARGE", self.agent.sync())
        self.assertIn("max_ratio", message)

    def test_bomb_that_understates_its_size_stops_at_the_declared_bytes(self):
        # A manifest that lies passes the checks made before extraction; counting the bytes that
        # come out of the decompressor stops it at the 1000 bytes it declared.
        self.publish_first()
        batch = self.exchange.publish_folder(R, payload_file=self.bomb(), format="tar",
                                             compression="gzip", mode="full", file_count=1,
                                             byte_count=1000)
        message = self.assertRejected(batch, "PAYLOAD_INVALID", self.agent.sync())
        self.assertIn("folder.bytes", message)

    # --- crashes --------------------------------------------------------------------------

    def test_kill_during_extraction_leaves_the_old_folder_and_the_next_run_applies(self):
        self.publish_first()
        src = self.tmp / "big"
        for i in range(400):
            d = src / f"part{i // 100}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"blob{i:03d}.bin").write_bytes(os.urandom(256 << 10))
        payload = self.tmp / "big.tar"
        subprocess.run(["tar", "-cf", str(payload), "-C", str(src), "."], check=True)
        batch = self.exchange.publish_folder(R, payload_file=payload, format="tar",
                                             compression="none", mode="full")

        proc = subprocess.Popen([harness.agent_bin(), "--config", str(self.agent.config), "sync",
                                 "--once"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            def extracting():
                for staging in self.agent.staging():
                    if any(staging.rglob("*.bin")):
                        return True
                return proc.poll() is not None
            harness.wait_until(extracting, timeout=60, interval=0.002, what="extraction")
            self.assertIsNone(proc.poll(), "the agent finished before it could be killed")
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.communicate()

        # The old version is still what the folder shows; the half-extracted one is not.
        self.assertEqual(self.agent.contents(), FIRST)
        self.assertIsNone(self.exchange.receipt(batch))
        self.assertTrue(self.agent.staging(), "killed mid-extraction, staging is left")

        self.assertSynced(self.agent.sync())
        contents = self.agent.contents()
        self.assertEqual(len(contents), 400)
        self.assertEqual(contents["part3/blob399.bin"], (src / "part3" / "blob399.bin").read_bytes())
        self.assertEqual(self.exchange.receipt(batch)["status"], "applied")
        self.assertEqual(self.agent.staging(), [])


if __name__ == "__main__":
    unittest.main()
