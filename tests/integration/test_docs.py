"""The documentation and samples stay true to the binary."""

import itertools
import re
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parents[2]


class DocsTest(unittest.TestCase):
    def test_configuration_reference_matches_the_binary(self):
        out = subprocess.run([harness.agent_bin(), "config-reference"], capture_output=True,
                             text=True, check=True).stdout
        self.assertEqual(out, (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8"),
                         "docs/configuration.md is stale: fep-agent config-reference > it")

    def test_readme_lists_every_command(self):
        help_text = subprocess.run([harness.agent_bin(), "--help"], capture_output=True,
                                   text=True, check=True).stdout
        commands = re.findall(r"^  ([a-z][a-z-]+)\s", help_text.split("Subcommands:")[1], re.M)
        self.assertIn("retry", commands)
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        for command in commands:
            with self.subTest(command=command):
                self.assertIn(f"| `fep-agent {command}", readme)

    def test_sample_configurations_are_valid(self):
        samples = sorted((ROOT / "config-samples").glob("*.yaml"))
        self.assertIn("agent.yaml", [s.name for s in samples])
        for sample in samples:
            with self.subTest(sample=sample.name), tempfile.TemporaryDirectory() as tmp:
                text = sample.read_text(encoding="utf-8")
                self.assertNotRegex(text, r"(?i)[;\"](pwd|password)=",
                                    "passwords belong in password_file")
                # check-config reads the token and password files the sample names
                # (/etc/fep-agent/...): point those keys at temporary files.
                secrets = itertools.count()

                def substitute(match):
                    path = Path(tmp) / f"secret{next(secrets)}"
                    path.write_text("sample-secret\n")
                    path.chmod(0o600)  # secret files others can read are refused
                    return match.group(1) + str(path)

                text = re.sub(r"(?m)^(\s*(?:token_file|password_file):\s*)(\S+)", substitute,
                              text)
                # Certificate and key files are checked for their PEM form only.
                pems = {"ca_file": "CERTIFICATE", "client_cert": "CERTIFICATE",
                        "client_key": "PRIVATE KEY"}

                def pem(match):
                    path = Path(tmp) / f"{match.group(2)}.pem"
                    kind = pems[match.group(2)]
                    path.write_text(f"-----BEGIN {kind}-----\nAA==\n-----END {kind}-----\n")
                    path.chmod(0o600)
                    return match.group(1) + str(path)

                text = re.sub(r"(?m)^(\s*(ca_file|client_cert|client_key):\s*)(\S+)", pem, text)
                active = "\n".join(line.split("#")[0] for line in text.splitlines())
                self.assertNotIn("/etc/fep-agent/", active)
                config = Path(tmp) / sample.name
                config.write_text(text, encoding="utf-8")
                proc = subprocess.run(
                    [harness.agent_bin(), "--config", str(config), "check-config"],
                    capture_output=True, text=True)
                self.assertEqual(proc.returncode, 0, proc.stderr)
                self.assertIn("configuration is valid", proc.stdout)

    def test_readme_configuration_block_is_valid(self):
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        block = re.search(r"```yaml\n(.*?)```", readme, re.S).group(1)
        with tempfile.TemporaryDirectory() as tmp:
            token = Path(tmp) / "token"
            token.write_text("t\n")
            token.chmod(0o600)
            config = Path(tmp) / "agent.yaml"
            config.write_text(block.replace("/etc/fep-agent/token", str(token)), encoding="utf-8")
            proc = subprocess.run([harness.agent_bin(), "--config", str(config), "check-config"],
                                  capture_output=True, text=True)
            self.assertEqual(proc.returncode, 0, proc.stderr)


if __name__ == "__main__":
    unittest.main()
