"""systemd/fep-agent.service: valid for systemd, and sandboxed well enough.

Both checks work on the unit file alone (no running systemd is needed): `systemd-analyze verify`
on a copy whose ExecStart=/ExecReload= name the built binary (verify requires the executables
to exist), and `systemd-analyze security --offline=true`, whose overall exposure must stay at
or below MAX_EXPOSURE.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "fep-agent.service"
MAX_EXPOSURE = 2.5


def analyze():
    tool = shutil.which("systemd-analyze")
    if not tool:
        raise AssertionError("systemd-analyze not found: run scripts/install-deps (package systemd)")
    return tool


def agent_bin():
    return os.environ.get("FEP_AGENT_BIN") or str(ROOT / "build" / "agent" / "app" / "fep-agent")


def unit_copy(tmp, binary):
    """The unit in `tmp`, same name, with /usr/bin/fep-agent replaced by `binary`."""
    text = UNIT.read_text(encoding="utf-8")
    path = Path(tmp) / "fep-agent.service"
    path.write_text(text.replace("/usr/bin/fep-agent", binary), encoding="utf-8")
    return path


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0",
                               "LC_ALL": "C.UTF-8"})


class SystemdUnitTest(unittest.TestCase):
    def test_verify_is_clean(self):
        binary = agent_bin()
        self.assertTrue(os.access(binary, os.X_OK), f"{binary} is not built")
        with tempfile.TemporaryDirectory() as tmp:
            unit = unit_copy(tmp, str(Path(binary).resolve()))
            proc = run([analyze(), "verify", "--man=no", str(unit)])
            out = (proc.stdout + proc.stderr).strip()
            self.assertEqual(proc.returncode, 0, out)
            self.assertEqual(out, "", "systemd-analyze verify must print nothing")

    def test_security_exposure(self):
        with tempfile.TemporaryDirectory() as tmp:
            unit = unit_copy(tmp, "/bin/true")
            proc = run([analyze(), "security", "--offline=true", "--no-pager",
                        f"--threshold={int(MAX_EXPOSURE * 10)}", str(unit)])
            out = proc.stdout + proc.stderr
            match = re.search(r"Overall exposure level for fep-agent\.service: (\d+\.\d+)", out)
            self.assertIsNotNone(match, out)
            exposure = float(match.group(1))
            print(f"systemd-analyze security: exposure {exposure}")
            self.assertLessEqual(exposure, MAX_EXPOSURE, out)
            self.assertEqual(proc.returncode, 0, out)

    def test_unit_contract(self):
        """The directives the daemon and the packages rely on (not scored by systemd)."""
        text = UNIT.read_text(encoding="utf-8")
        settings = {}
        for line in text.splitlines():
            if "=" in line and not line.lstrip().startswith(("#", ";")):
                key, value = line.split("=", 1)
                settings.setdefault(key.strip(), []).append(value.strip())
        expect = {
            "Type": ["notify"],
            "NotifyAccess": ["main"],
            "ExecStart": ["/usr/bin/fep-agent --config /etc/fep-agent/agent.yaml run"],
            "Restart": ["on-failure"],
            "User": ["fep-agent"],
            "Group": ["fep-agent"],
            "StateDirectory": ["fep-agent"],
            "RuntimeDirectory": ["fep-agent"],
            "LogsDirectory": ["fep-agent"],
            "ProtectSystem": ["strict"],
            "CapabilityBoundingSet": [""],
            "RestrictAddressFamilies": ["AF_UNIX AF_INET AF_INET6"],
            "WantedBy": ["multi-user.target"],
        }
        for key, value in expect.items():
            self.assertEqual(settings.get(key), value, key)
        self.assertIn("/bin/kill -HUP $MAINPID", settings["ExecReload"])
        self.assertIn("WatchdogSec", settings)
        self.assertNotIn("IPAddressDeny", settings, "the agent must reach the platform")
        # The daemon's SIGTERM grace time is 30 s; systemd must not kill it before that.
        stop = re.fullmatch(r"(\d+)s", settings["TimeoutStopSec"][0])
        self.assertIsNotNone(stop)
        self.assertGreater(int(stop.group(1)), 30)


if __name__ == "__main__":
    unittest.main()
