"""A full disk while a payload downloads and while a batch loads: the real fep-agent binary
against exchange-sim.

The full disk is a small tmpfs the test mounts (tests run as root) over the spool
(<state_dir>/spool), over the folder of a SQLite target database, or over a folder target, and
fills with a ballast file. Where mounting is not permitted (an unprivileged container), the
same tests run with enospc_shim.c instead: built here with the C compiler and loaded with
LD_PRELOAD, it makes writes that grow files under the folder fail with ENOSPC once the folder
has grown by a given number of bytes. FEP_DISKFULL_SHIM=1 chooses the shim even where mounting
works. A folder target is also filled after the agent's free-space check has passed (always
with the shim: nothing else can make a write fail between the check and the extraction), so
that a write failing half-way through extracting the archive is covered too.

Each case checks that the resource is paused with a message naming the path, that nothing of
the batch is visible in the target, that no receipt was sent, and that once the space is back
the next run applies the batch exactly once (the download resuming where it stopped)."""

import errno
import os
import random
import shutil
import sqlite3
import string
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness
from harness import Agent
from test_folders import FolderAgent

R = "R-SCJG-0001"
FOLDER = "R-ZRZY-0102"
HERE = Path(__file__).resolve().parent


def table_csv(rows, seed):
    """A full batch's CSV: `rows` rows of about 180 bytes that do not compress much."""
    rnd = random.Random(seed)
    out = ["id,name,reg_capital,established,updated_at"]
    for i in range(1, rows + 1):
        name = "".join(rnd.choice(string.ascii_letters) for _ in range(140))
        out.append(f"{i},{name},{rnd.randint(1, 10**6)}.00,2020-01-01,2026-11-20 02:00:00")
    return "\n".join(out) + "\n"


def csv_rows(csv):
    """(id, name, reg_capital) as the harness reads them back from SQLite."""
    rows = []
    for line in csv.splitlines()[1:]:
        f = line.split(",")
        rows.append((int(f[0]), f[1], f[2]))
    return rows


def mounting_permitted():
    """Whether this process may mount a tmpfs (checked once, with a 1 MiB one)."""
    if os.environ.get("FEP_DISKFULL_SHIM"):
        return False
    where = Path(tempfile.mkdtemp(prefix="fep-mount-check-"))
    try:
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return False
        subprocess.run(["umount", str(where)], check=True)
        return True
    except OSError:
        return False
    finally:
        shutil.rmtree(where, ignore_errors=True)


MOUNT = mounting_permitted()
_shim = None


def shim_library():
    """enospc_shim.c built once into a temporary folder (its path)."""
    global _shim
    if _shim is None:
        compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
        if not compiler:
            raise harness.HarnessError("no C compiler (cc, gcc or $CC) to build enospc_shim.c, "
                                       "and mounting a tmpfs is not permitted here")
        out = Path(tempfile.mkdtemp(prefix="fep-enospc-shim-")) / "enospc_shim.so"
        subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(out),
                        str(HERE / "enospc_shim.c"), "-ldl", "-lpthread"], check=True)
        _shim = out
    return _shim


class SmallDisk:
    """A tmpfs of `size` bytes mounted on `path`, filled and freed with a ballast file."""

    kind = "tmpfs"

    def __init__(self, path, size):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                        str(self.path)], check=True)
        self.ballast = self.path / ".ballast"

    def free_bytes(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self, leave):
        """Leaves about `leave` bytes free."""
        size = self.free_bytes() - leave
        with open(self.ballast, "ab") as f:
            block = b"\0" * (1 << 20)
            while size > 0:
                n = min(size, len(block))
                f.write(block[:n])
                size -= n

    def free(self):
        self.ballast.unlink(missing_ok=True)

    def env(self):
        return {}

    def close(self):
        if subprocess.run(["umount", str(self.path)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


class ShimDisk:
    """The same interface without mounting: the agent runs with enospc_shim.c, which lets the
    files under `path` grow by `leave` bytes in all while the disk is "full"."""

    kind = "shim"

    def __init__(self, path, size=None, errno_name="ENOSPC"):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.left = None
        self.errno_name = errno_name

    def fill(self, leave):
        self.left = leave

    def free(self):
        self.left = None

    def env(self):
        if self.left is None:
            return {}
        return {"LD_PRELOAD": str(shim_library()), "FEP_ENOSPC_DIR": str(self.path),
                "FEP_ENOSPC_AFTER": str(self.left), "FEP_ENOSPC_ERRNO": self.errno_name}

    def close(self):
        pass


def small_disk(path, size):
    return SmallDisk(path, size) if MOUNT else ShimDisk(path, size)


def run_agent(agent, disk, *args):
    env = dict(os.environ, **disk.env())
    return subprocess.run([harness.agent_bin(), "--config", str(agent.config), *args],
                          capture_output=True, text=True, timeout=300, env=env)


class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.exchange = harness.Exchange()
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.tmp = Path(tempfile.mkdtemp(prefix="fep-diskfull-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def disk(self, path, size, shim=False, errno_name="ENOSPC"):
        disk = ShimDisk(path, errno_name=errno_name) if shim else small_disk(path, size)
        self.addCleanup(disk.close)  # before the folder is removed (cleanups run last first)
        return disk

    def sync(self, agent, disk, code):
        proc = run_agent(agent, disk, "sync", "--once")
        self.assertEqual(proc.returncode, code,
                         f"disk: {disk.kind}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def status_of(self, agent, resource):
        return next(r for r in agent.status()["resources"] if r["resource_id"] == resource)

    def assertPausedForSpace(self, agent, resource, path, texts=("no space left",)):
        status = self.status_of(agent, resource)
        self.assertEqual(status["state"], "paused", status)
        error = status["last_error"] or ""
        self.assertIn(str(path), error)
        self.assertTrue(any(t in error.lower() for t in texts), error)
        return error

    def assertNoReceiptSent(self, batch):
        self.assertIsNone(self.exchange.receipt(batch))
        self.assertEqual([r for r in self.exchange.receipt_log() if r["batch_id"] == batch], [])
        self.assertEqual([r for r in self.exchange.receipt_log()
                          if (r.get("receipt") or {}).get("status") == "rejected"], [])

    def assertAppliedOnce(self, batch):
        self.assertEqual(self.exchange.receipt(batch)["status"], "applied")
        posts = [r for r in self.exchange.receipt_log() if r["batch_id"] == batch]
        self.assertEqual([p["status"] for p in posts], [201], posts)

    # --- tables -------------------------------------------------------------------------------

    def table_agent(self, database=None):
        self.exchange.subscribe(R, name="企业登记信息", kind="table", status="approved")
        connection = f"Driver=SQLite3;Database={database}" if database else None
        agent = Agent(self.exchange, self.tmp / "agent", connection=connection)
        if database:
            agent.db = Path(database)
        return agent

    def test_download_into_a_full_spool_pauses_and_resumes_by_range(self):
        agent = self.table_agent()
        spool = agent.state / "spool"
        disk = self.disk(spool, 2 << 20)
        first_csv = table_csv(20, 1)
        self.exchange.publish_table(R, csv=first_csv, mode="full", compression="none")
        self.sync(agent, disk, 0)

        disk.fill(leave=256 << 10)
        second_csv = table_csv(5000, 2)  # about 800 KB, more than is left
        second = self.exchange.publish_table(R, csv=second_csv, mode="full", compression="none")
        size = self.exchange.manifest(second)["payload"]["size"]
        self.assertGreater(size, 512 << 10)
        proc = self.sync(agent, disk, 1)
        partial = spool / f"{second}.payload"
        error = self.assertPausedForSpace(agent, R, partial)
        self.assertIn(error, proc.stderr)
        # What was written stays, for the next run to resume after.
        self.assertTrue(partial.exists())
        kept = partial.stat().st_size
        self.assertGreater(kept, 0)
        self.assertLess(kept, size)
        self.assertEqual(agent.rows(), csv_rows(first_csv))  # the target is untouched
        self.assertNoReceiptSent(second)

        # A run while the disk is still full pauses again and keeps the bytes it has.
        self.sync(agent, disk, 1)
        self.assertGreaterEqual(partial.stat().st_size, kept)
        self.assertEqual(self.status_of(agent, R)["state"], "paused")

        disk.free()
        self.sync(agent, disk, 0)
        self.assertRegex(self.exchange.log(), rf"GET /v1/batches/{second}/payload 206")
        self.assertEqual(agent.rows(), csv_rows(second_csv))
        self.assertAppliedOnce(second)
        self.assertEqual(self.exchange.receipt(second)["payload_sha256"],
                         self.exchange.manifest(second)["payload"]["sha256"])
        status = self.status_of(agent, R)
        self.assertEqual((status["state"], status["last_error"], status["last_seq"]),
                         ("idle", None, 2))
        self.assertFalse(partial.exists())

    def sqlite_case(self, disk, texts):
        target = disk.path
        agent = self.table_agent(database=target / "local.db")
        first_csv = table_csv(20, 3)
        first = self.exchange.publish_table(R, csv=first_csv, mode="full", compression="gzip")
        self.sync(agent, disk, 0)

        disk.fill(leave=200 << 10)
        second_csv = table_csv(10000, 4)  # about 1.7 MB of rows
        second = self.exchange.publish_table(R, csv=second_csv, mode="full", compression="gzip")
        proc = self.sync(agent, disk, 1)
        self.assertPausedForSpace(agent, R, target / "local.db", texts)
        self.assertNotRegex(proc.stderr, r"batch \S+ (rejected|failed)")
        # The transaction rolled back: the old rows, and only the first batch recorded.
        self.assertEqual(agent.rows(), csv_rows(first_csv))
        with sqlite3.connect(agent.db) as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual([r[0] for r in db.execute("SELECT batch_id FROM _fep_batches")],
                             [first])
        self.assertNoReceiptSent(second)

        disk.free()
        self.sync(agent, disk, 0)
        self.assertEqual(agent.rows(), csv_rows(second_csv))
        with sqlite3.connect(agent.db) as db:
            self.assertEqual(sorted(r[0] for r in db.execute("SELECT batch_id FROM _fep_batches")),
                             sorted([first, second]))
        self.assertAppliedOnce(second)
        self.assertEqual(self.status_of(agent, R)["state"], "idle")

    def test_sqlite_target_on_a_full_disk_pauses_and_loads_once_space_returns(self):
        self.sqlite_case(self.disk(self.tmp / "target", 4 << 20), ("disk is full",))

    def test_sqlite_target_whose_writes_fail_with_eio_pauses_too(self):
        # A failing disk is the machine's problem, not the batch's: paused, not held.
        disk = self.disk(self.tmp / "target", None, shim=True, errno_name="EIO")
        self.sqlite_case(disk, ("i/o error",))

    # --- folders ------------------------------------------------------------------------------

    def folder_agent(self):
        self.exchange.subscribe(FOLDER, name="不动产登记附件", kind="folder", status="approved")
        agent = FolderAgent(self.exchange, self.tmp / "agent")
        agent.root.mkdir(parents=True, exist_ok=True)
        return agent

    def folder_case(self, disk, leave, texts):
        agent = self.agent
        first_files = {"a.txt": "甲\n", "docs/readme.md": "# readme\n"}
        self.exchange.publish_folder(FOLDER, files=first_files, mode="full")
        self.sync(agent, disk, 0)
        self.assertEqual(agent.contents(), {k: v.encode() for k, v in first_files.items()})

        rnd = random.Random(5)
        second_files = {f"图件/{i:03}.bin": bytes(rnd.getrandbits(8) for _ in range(40000))
                        for i in range(12)}
        second_files["a.txt"] = "乙\n"
        second = self.exchange.publish_folder(FOLDER, files=second_files, mode="full")
        disk.fill(leave=leave)
        proc = self.sync(agent, disk, 1)
        self.assertPausedForSpace(agent, FOLDER, agent.versions, texts)
        self.assertNotRegex(proc.stderr, r"batch \S+ rejected")
        # The published folder is the first version, whole; no staging folder is left.
        self.assertEqual(agent.contents(), {k: v.encode() for k, v in first_files.items()})
        self.assertEqual(agent.staging(), [])
        self.assertNoReceiptSent(second)

        disk.free()
        self.sync(agent, disk, 0)
        self.assertEqual(agent.contents(),
                         {k: v.encode() if isinstance(v, str) else v
                          for k, v in second_files.items()})
        self.assertAppliedOnce(second)
        self.assertEqual(self.status_of(agent, FOLDER)["state"], "idle")
        verify = run_agent(agent, disk, "verify", FOLDER)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)

    def test_folder_target_on_a_full_disk_pauses_and_publishes_once_space_returns(self):
        self.agent = self.folder_agent()
        # The agent wants the batch's bytes and a 64 MiB margin free before it extracts.
        disk = self.disk(self.agent.root, 80 << 20)
        # On a tmpfs its free-space check pauses the resource; under the shim, the check passes
        # and the extraction's writes fail.
        self.folder_case(disk, leave=100 << 10,
                         texts=("no space left", "not enough free disk space"))

    def test_folder_write_failing_half_way_through_extraction(self):
        self.agent = self.folder_agent()
        disk = self.disk(self.agent.root, None, shim=True)
        self.folder_case(disk, leave=100 << 10, texts=("no space left",))


class ShimTest(unittest.TestCase):
    """The shim itself, so that the fallback is known to work where it is not needed."""

    def test_writes_past_the_budget_fail_with_enospc(self):
        tmp = Path(tempfile.mkdtemp(prefix="fep-enospc-shim-test-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        (tmp / "full").mkdir()
        script = (
            "import os, sys\n"
            "d = sys.argv[1]\n"
            "fd = os.open(d + '/full/f', os.O_WRONLY | os.O_CREAT)\n"
            "print(os.write(fd, b'a' * 600), os.write(fd, b'a' * 600))\n"
            "try:\n"
            "    os.write(fd, b'a')\n"
            "except OSError as e:\n"
            "    print(e.errno)\n"
            "os.lseek(fd, 0, 0)\n"
            "print(os.write(fd, b'b' * 1000))\n"  # overwriting takes no space
            "with open(d + '/free', 'wb') as f:\n"
            "    print(f.write(b'c' * 5000))\n")
        env = dict(os.environ, LD_PRELOAD=str(shim_library()), FEP_ENOSPC_DIR=str(tmp / "full"),
                   FEP_ENOSPC_AFTER="1000")
        out = subprocess.run(["python3", "-c", script, str(tmp)], env=env, capture_output=True,
                             text=True, check=True).stdout.split()
        self.assertEqual(out, ["600", "400", str(errno.ENOSPC), "1000", "5000"])


if __name__ == "__main__":
    unittest.main()
