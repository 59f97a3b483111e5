"""The .deb and .rpm packages: built with cpack from the build folder, checked for their files,
modes, conffiles and scripts, and the .deb's own fep-agent run on its own configuration.

The packages are made in a temporary folder (`cpack -B`), never in the build folder. The
expected listings are expected-deb.txt and expected-rpm.txt beside this file; when a file is
added to the packages on purpose, update them (FEP_PACKAGING_PRINT=1 prints the actual lists).
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def build_dir():
    env = os.environ.get("FEP_BUILD_DIR")
    if env:
        return Path(env)
    return ROOT / "build"


def need(tool, package):
    path = shutil.which(tool)
    if not path:
        raise AssertionError(f"{tool} not found: run scripts/install-deps (package {package})")
    return path


def run(args, **kw):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=kw.pop("timeout", 60),
                          env={**os.environ, "LC_ALL": "C.UTF-8"}, **kw)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def cpack(generator, out_dir):
    """Makes the package of `generator` in `out_dir`; returns its path."""
    config = build_dir() / "CPackConfig.cmake"
    if not config.exists():
        raise AssertionError(f"{config} missing: is cmake/packaging.cmake included?")
    run([need("cpack", "cmake"), "-G", generator, "--config", str(config), "-B", str(out_dir)],
        timeout=240)
    suffix = {"DEB": ".deb", "RPM": ".rpm"}[generator]
    found = sorted(Path(out_dir).glob("*" + suffix))
    if len(found) != 1:
        raise AssertionError(f"expected one {suffix} in {out_dir}, found {found}")
    return found[0]


def expected(name):
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return [l for l in lines if l.strip() and not l.startswith("#")]


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    return re.search(r"project\(fep-agent VERSION (\S+)", text).group(1)


def compare_listing(test, actual, name):
    if os.environ.get("FEP_PACKAGING_PRINT"):
        print(f"--- {name}\n" + "\n".join(actual))
    want = expected(name)
    missing = [l for l in want if l not in actual]
    extra = [l for l in actual if l not in want]
    test.assertEqual((missing, extra), ([], []),
                     f"package contents differ from tests/packaging/{name} "
                     f"(missing, unexpected); FEP_PACKAGING_PRINT=1 prints the actual list")


class DebPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="fep-deb-")
        cls.deb = cpack("DEB", Path(cls.tmp.name) / "out")
        cls.dpkg_deb = need("dpkg-deb", "dpkg")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_name_and_control(self):
        version = project_version()
        self.assertRegex(self.deb.name, rf"^fep-agent_{re.escape(version)}-1_[a-z0-9]+\.deb$")
        fields = run([self.dpkg_deb, "-f", str(self.deb)])
        self.assertRegex(fields, r"(?m)^Package: fep-agent$")
        self.assertRegex(fields, rf"(?m)^Version: {re.escape(version)}-1$")
        self.assertRegex(fields, r"(?m)^Depends: .*\blibodbc2\b")
        self.assertRegex(fields, r"(?m)^Depends: .*\badduser\b")
        self.assertRegex(fields, r"(?m)^Maintainer: \S")

    def test_contents(self):
        # "-rwxr-xr-x root/root 12345 2024-01-01 00:00 ./usr/bin/fep-agent" -> mode owner path
        actual = []
        for line in run([self.dpkg_deb, "-c", str(self.deb)]).splitlines():
            parts = line.split(None, 5)
            actual.append(f"{parts[0]} {parts[1]} {parts[5]}")
        compare_listing(self, actual, "expected-deb.txt")

    def test_conffiles_and_scripts(self):
        control = Path(self.tmp.name) / "control"
        run([self.dpkg_deb, "-e", str(self.deb), str(control)])
        self.assertEqual((control / "conffiles").read_text().split(),
                         ["/etc/fep-agent/agent.yaml"])
        for script in ("postinst", "prerm", "postrm"):
            path = control / script
            self.assertEqual(path.stat().st_mode & 0o777, 0o755, script)
            self.assertEqual(path.read_bytes(), (ROOT / "packaging" / "deb" / script).read_bytes())
            run(["sh", "-n", str(path)])
        postinst = (control / "postinst").read_text()
        self.assertIn("deb-systemd-helper enable", postinst)
        self.assertNotRegex(postinst, r"(?m)^\s*(deb-systemd-invoke|systemctl)\s+start\b",
                            "install must not start the service")

    def test_extracted_agent_runs_on_its_own_config(self):
        root = Path(self.tmp.name) / "root"
        run([need("dpkg", "dpkg"), "-x", str(self.deb), str(root)])
        agent = root / "usr" / "bin" / "fep-agent"
        self.assertEqual(run([str(agent), "--version"]).strip(),
                         f"fep-agent {project_version()}")
        self.assertIn("check-config", run([str(agent), "--help"]))
        self.assertIn("exchange-sim", run([str(root / "usr" / "bin" / "exchange-sim"), "--help"]))
        self.assertEqual((root / "lib/systemd/system/fep-agent.service").read_bytes(),
                         (ROOT / "systemd" / "fep-agent.service").read_bytes())
        self.assertFalse((root / "etc/fep-agent/token").exists(),
                         "the token is made by postinst, never shipped")
        # The packaged configuration, with the token pointed at a temporary file.
        config_text = (root / "etc/fep-agent/agent.yaml").read_text(encoding="utf-8")
        self.assertIn("token_file: /etc/fep-agent/token", config_text)
        token = Path(self.tmp.name) / "token"
        token.write_text("test-token\n")
        token.chmod(0o600)  # as postinst makes it; the agent refuses a token others can read
        config = Path(self.tmp.name) / "agent.yaml"
        config.write_text(config_text.replace("/etc/fep-agent/token", str(token)),
                          encoding="utf-8")
        out = run([str(agent), "--config", str(config), "check-config"])
        self.assertIn("configuration is valid", out)
        # Every sample shipped in examples/ is the repository's.
        examples = root / "usr/share/doc/fep-agent/examples"
        for sample in examples.iterdir():
            self.assertEqual(sample.read_bytes(),
                             (ROOT / "config-samples" / sample.name).read_bytes(), sample.name)


class RpmPackageTest(unittest.TestCase):
    QUERY = "[%{FILEMODES:perms} %{FILEUSERNAME}/%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]"

    @classmethod
    def setUpClass(cls):
        need("rpmbuild", "rpm")
        cls.rpm = need("rpm", "rpm")
        cls.tmp = tempfile.TemporaryDirectory(prefix="fep-rpm-")
        cls.pkg = cpack("RPM", Path(cls.tmp.name) / "out")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def query(self, *args):
        # --dbpath: a throwaway database, so a machine without an rpm database works too.
        return run([self.rpm, "--dbpath", str(Path(self.tmp.name) / "rpmdb"), "-qp", *args,
                    str(self.pkg)])

    def test_name_and_header(self):
        version = project_version()
        self.assertRegex(self.pkg.name, rf"^fep-agent-{re.escape(version)}-1\.[a-z0-9_]+\.rpm$")
        self.assertEqual(self.query("--qf", "%{NAME} %{VERSION} %{RELEASE}"),
                         f"fep-agent {version} 1")

    def test_contents_modes_and_config(self):
        actual = [" ".join(l.split()) for l in self.query("--qf", self.QUERY).splitlines()]
        compare_listing(self, actual, "expected-rpm.txt")
        self.assertEqual(self.query("-l").split(), [l.split()[-1] for l in actual])

    def test_scripts(self):
        scripts = self.query("--scripts")
        for part in ("preinstall", "postinstall", "preuninstall", "postuninstall"):
            self.assertRegex(scripts, rf"(?m)^{part} scriptlet")
        self.assertIn("useradd -r -g fep-agent", scripts)
        self.assertIn("systemctl enable fep-agent.service", scripts)
        post = scripts.split("postinstall scriptlet", 1)[1].split("preuninstall scriptlet")[0]
        self.assertNotRegex(post, r"(?m)^\s*systemctl\b.*(\bstart\b|--now)",
                            "install must not start the service")
        requires = self.query("--requires")
        self.assertIn("/usr/sbin/useradd", requires)


if __name__ == "__main__":
    unittest.main()
