"""Tests of servers.py: real PostgreSQL and MariaDB servers, reached through their own
clients (sql()) and through the real ODBC drivers with odbc_connection_string().

The ODBC side uses unixODBC's `isql -k "<connection string>"` (SQLDriverConnect;
`iusql` has no -k). isql needs HOME set: without it, it crashes in SQLDriverConnect.

Run: cd tests/integration && python3 -m unittest test_servers -v
"""

import os
import subprocess
import tempfile
import time
import unittest

import servers

TEXT = "企业登记信息 😀"            # Chinese and a 4-byte emoji
TEXT_UTF8_HEX = TEXT.encode("utf-8").hex().upper()


def isql(conn_str, *statements):
    """Runs statements (one per line) through unixODBC's isql with SQLDriverConnect and
    returns the result rows as lists of str (tab-separated output)."""
    for s in statements:
        assert "\n" not in s, "isql takes one statement per line"
    env = dict(os.environ)
    env.setdefault("HOME", tempfile.gettempdir())
    proc = subprocess.run(["isql", "-k", conn_str, "-b", "-v", "-x0x09"],
                          input=("\n".join(statements) + "\n").encode(),
                          capture_output=True, env=env, timeout=60)
    out = proc.stdout.decode("utf-8")
    err = proc.stderr.decode("utf-8", errors="replace")
    # isql -b exits 0 even when a statement fails: look for its error lines too.
    if proc.returncode != 0 or "[ISQL]ERROR" in out + err or "ERROR" in err:
        raise AssertionError(f"isql failed ({proc.returncode}):\n{out}\n{err}")
    return [line.split("\t") for line in out.splitlines() if line]


def process_uid(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError("no Uid line")


class ServerCases:
    """Checks shared by both servers; subclasses set server_class and fill in SQL."""

    server_class = None
    server = None
    startup_seconds = None

    @classmethod
    def setUpClass(cls):
        started = time.monotonic()
        cls.server = cls.server_class()
        cls.server.start()
        cls.startup_seconds = time.monotonic() - started

    @classmethod
    def tearDownClass(cls):
        if cls.server is not None:
            cls.server.stop()

    def test_starts_quickly_on_its_own_loopback_port(self):
        self.assertLess(self.startup_seconds, 10.0)   # about 1 s here; the aim is < 5 s
        self.assertNotIn(self.server.port, (5432, 3306))
        self.assertTrue(self.server.running)
        self.assertTrue(self.server.tmp.startswith(tempfile.gettempdir()))
        self.assertTrue(os.path.isdir(self.server.data_dir))

    def test_sql_reads_back_chinese_and_emoji(self):
        self.server.sql("CREATE TABLE sql_text(id int PRIMARY KEY, v varchar(100))")
        self.server.sql(f"INSERT INTO sql_text VALUES (1, '{TEXT}'), (2, ''), (3, NULL)")
        rows = self.server.sql(f"SELECT id, v, {self.hex_expr('v')} FROM sql_text ORDER BY id")
        self.assertEqual(rows, [["1", TEXT, TEXT_UTF8_HEX], ["2", "", ""], ["3", None, None]])

    def test_sql_keeps_tabs_and_newlines(self):
        rows = self.server.sql(self.select_literal("a\tb\nc\r\\d"))
        self.assertEqual(rows, [["a\tb\nc\r\\d"]])
        self.assertEqual(self.server.sql("SELECT 1 WHERE 1 = 0"), [])

    def test_sql_error_raises(self):
        with self.assertRaises(servers.ServerError):
            self.server.sql("SELECT * FROM no_such_table")

    def test_odbc_connection_string_writes_and_reads_utf8(self):
        conn = self.server.odbc_connection_string()
        self.assertIn("Server=127.0.0.1;", conn)
        self.assertIn(f"Port={self.server.port};", conn)
        self.server.sql("CREATE TABLE odbc_text(id int PRIMARY KEY, v varchar(100))")
        self.server.sql(f"INSERT INTO odbc_text VALUES (1, '{TEXT}')")
        # written through ODBC, read back with the server's own client
        isql(conn, f"INSERT INTO odbc_text VALUES (2, '{TEXT}')")
        rows = self.server.sql(f"SELECT {self.hex_expr('v')} FROM odbc_text WHERE id = 2")
        self.assertEqual(rows, [[TEXT_UTF8_HEX]])
        # written by the client, read back through ODBC
        self.assertEqual(isql(conn, "SELECT id, v FROM odbc_text ORDER BY id"),
                         [["1", TEXT], ["2", TEXT]])

    def test_odbc_needs_the_password(self):
        with self.assertRaises(AssertionError):
            isql(self.server.odbc_connection_string(Pwd="wrong"), "SELECT 1")


class PostgresServerTest(ServerCases, unittest.TestCase):
    server_class = servers.PostgresServer

    def hex_expr(self, col):
        return f"upper(encode(convert_to({col}, 'UTF8'), 'hex'))"

    def select_literal(self, s):
        return "SELECT E'" + s.replace("\\", "\\\\").replace("'", "''") \
            .replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r") + "'"

    def test_settings(self):
        q = ("SELECT current_setting('listen_addresses'), current_setting('server_encoding'), "
             "current_setting('lc_ctype'), current_setting('TimeZone'), current_user, "
             "current_database(), version()")
        rows = self.server.sql(q)
        self.assertEqual(rows[0][:6], ["127.0.0.1", "UTF8", "C.UTF-8", "UTC", "fep", "fep"])
        self.assertTrue(rows[0][6].startswith("PostgreSQL 15."), rows[0][6])
        self.assertEqual(self.server.sql("SELECT current_user", superuser=True), [["postgres"]])

    def test_runs_unprivileged(self):
        uid = process_uid(self.server.proc.pid)
        self.assertNotEqual(uid, 0)
        self.assertEqual(uid, os.geteuid() if os.geteuid() != 0 else 65534)  # nobody


class MariaDbServerTest(ServerCases, unittest.TestCase):
    server_class = servers.MariaDbServer

    def hex_expr(self, col):
        return f"HEX({col})"

    def select_literal(self, s):
        return "SELECT '" + s.replace("\\", "\\\\").replace("'", "\\'") \
            .replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r") + "'"

    def test_settings(self):
        rows = self.server.sql("SELECT @@bind_address, @@port, @@character_set_server, "
                               "@@collation_server, @@time_zone, @@version, "
                               "(SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
                               " WHERE SCHEMA_NAME = 'fep')")
        self.assertEqual(rows[0][:5], ["127.0.0.1", str(self.server.port), "utf8mb4",
                                       "utf8mb4_bin", "+00:00"])
        self.assertTrue(rows[0][5].startswith("10.11."), rows[0][5])
        self.assertEqual(rows[0][6], "utf8mb4_bin")

    def test_odbc_session_is_utf8mb4(self):
        rows = isql(self.server.odbc_connection_string(),
                    "SELECT @@character_set_client, @@character_set_connection, "
                    "@@character_set_results, CURRENT_USER()")
        self.assertEqual(rows, [["utf8mb4", "utf8mb4", "utf8mb4", "fep@%"]])


class LifecycleTest(unittest.TestCase):
    def test_stop_removes_process_and_folder_and_servers_run_side_by_side(self):
        for cls in (servers.PostgresServer, servers.MariaDbServer):
            with self.subTest(cls.__name__):
                with cls() as a, cls() as b:
                    self.assertNotEqual(a.port, b.port)
                    a.sql("CREATE TABLE only_in_a(x int)")
                    with self.assertRaises(servers.ServerError):
                        b.sql("SELECT * FROM only_in_a")
                    proc, tmp = a.proc, a.tmp
                a.stop()  # a second stop is harmless
                self.assertIsNotNone(proc.poll())
                self.assertEqual(proc.returncode, 0)   # clean shutdown, not killed
                self.assertFalse(os.path.exists(tmp))
                self.assertIsNone(a.tmp)

    def test_a_port_taken_meanwhile_is_retried_on_another(self):
        import socket
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = busy.getsockname()[1]
            real = servers.free_port
            ports = iter([taken])
            servers.free_port = lambda: next(ports, None) or real()
            try:
                for cls in (servers.PostgresServer, servers.MariaDbServer):
                    ports = iter([taken])
                    with self.subTest(cls.__name__), cls() as s:
                        self.assertNotEqual(s.port, taken)
                        self.assertEqual(s.sql("SELECT 1"), [["1"]])
            finally:
                servers.free_port = real

    def test_missing_binaries_are_an_error_naming_the_package(self):
        saved = servers.PG_BIN
        servers.PG_BIN = "/nonexistent/postgresql/bin"
        try:
            with self.assertRaisesRegex(servers.ServerError, "postgresql-15"):
                servers.PostgresServer().start()
        finally:
            servers.PG_BIN = saved


if __name__ == "__main__":
    unittest.main()
