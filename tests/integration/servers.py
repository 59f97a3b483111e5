"""Real database servers for integration tests: PostgreSQL 15 and MariaDB 10.11.

Each server runs from its own temporary folder, listens only on 127.0.0.1 on a free
port (plus a unix socket inside the folder), and is removed when stopped. Nothing
here uses or disturbs a system-wide cluster or service (Debian's own 5432/3306).
Python 3 standard library only. Works as root (PostgreSQL then runs as `nobody`,
MariaDB with --user=root) and as a normal user.

    with servers.PostgresServer() as pg:          # or servers.MariaDbServer()
        conn = pg.odbc_connection_string()        # DSN-less, for SQLDriverConnect
        pg.sql("CREATE TABLE t(a text)")
        pg.sql("SELECT a, NULL FROM t")           # -> [['你好 😀', None], ...]

Both servers: database `fep`, login user `fep` with password `fep-test-pw`
(password auth over TCP), UTF-8 (utf8mb4/utf8mb4_bin on MariaDB), time zone UTC,
durability off (fsync=off / innodb_flush_log_at_trx_commit=0) for speed.

sql() runs statements with the server's own client (psql / mariadb) over the unix
socket, independently of ODBC (PostgreSQL: as `fep`, or `postgres` with
superuser=True; MariaDB: as root), and returns the rows of the last statement
(PostgreSQL) / last result set (MariaDB) as lists of str, SQL NULL as None.
Values may hold tabs, newlines and other control characters (but not U+001A on
PostgreSQL, which marks NULL there). Select binary values as hex
(encode(b,'hex') / HEX(b)).

The server processes get a parent-death signal: if the Python process is killed
they go down too. The signal follows the *thread* that called start(), so start
servers from the main thread (as unittest does), not from a short-lived worker.
Set FEP_KEEP_TMP=1 to keep the temporary folders (with the server logs).

If the server binaries are missing, start() raises ServerError naming the Debian
package; scripts/install-deps installs them. Nothing is skipped.
"""

import ctypes
import os
import pwd
import grp
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

PG_BIN = "/usr/lib/postgresql/15/bin"
MARIADB_SERVER = "/usr/sbin/mariadbd"

DATABASE = "fep"
USER = "fep"
PASSWORD = "fep-test-pw"

# Separators for psql's unaligned output: ASCII unit/record separators and SUB for
# NULL. Values that contain them would be mis-split; test data does not.
_PG_FS, _PG_RS, _PG_NULL = "\x1f", "\x1e", "\x1a"


class ServerError(Exception):
    """A server could not be started, queried or stopped."""


def require_binaries(paths, package):
    """Raises ServerError when any of paths is not an executable (the package is missing)."""
    missing = [p for p in paths if not os.access(p, os.X_OK)]
    if missing:
        raise ServerError(
            f"{', '.join(missing)} not found: install the Debian package {package} "
            "(scripts/install-deps does)")


def free_port():
    """A TCP port on 127.0.0.1 that is free now (the server may still lose a race for it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _set_pdeathsig(sig):
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


def _wait_until(predicate, deadline, what, proc=None, log=None):
    while True:
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"{what}: server exited with {proc.returncode}\n{_tail(log)}")
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise ServerError(f"{what}: deadline passed\n{_tail(log)}")
        time.sleep(0.02)


def _tail(path, n=30):
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def _run(argv, what, input_text=None, timeout=60, env=None):
    """Runs argv; returns its stdout decoded as UTF-8 (no newline translation)."""
    proc = subprocess.run(argv, input=None if input_text is None else input_text.encode(),
                          capture_output=True, timeout=timeout, env=env)
    out = proc.stdout.decode("utf-8", errors="surrogateescape")
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", errors="replace").strip()
        raise ServerError(f"{what} failed ({proc.returncode}): {err}\n{out.strip()[-2000:]}")
    return out


# Control characters that XML 1.0 forbids (or, for CR, normalises) are carried
# through the XML parser as private-use characters and mapped back afterwards.
_XML_HIDE = {c: chr(0xF0000 + c) for c in list(range(0x00, 0x09)) + [0x0B, 0x0C, 0x0D]
             + list(range(0x0E, 0x20))}
_XML_SHOW = {ord(v): chr(k) for k, v in _XML_HIDE.items()}


class _Server:
    """Common lifecycle: temp folder, free port, process, deadline polling, teardown."""

    name = "server"
    start_timeout = 30.0
    stop_timeout = 20.0

    def __init__(self):
        self.tmp = None
        self.port = None
        self.proc = None
        self.host = "127.0.0.1"
        self.database = DATABASE
        self.user = USER
        self.password = PASSWORD

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        if self.proc is not None:
            raise ServerError(f"{self.name} already started")
        self._check_binaries()
        self.tmp = tempfile.mkdtemp(prefix=f"fep-{self.name}-")
        try:
            self._prepare()          # initialise the data folder once
            for attempt in range(3):  # a lost race for the port is retried on another
                self.port = free_port()
                try:
                    self._launch()
                    break
                except ServerError:
                    port_lost = "already in use" in _tail(self.log) or "Address in use" in _tail(self.log)
                    self._kill()
                    if attempt == 2 or not port_lost:
                        raise
            self._configure()        # database, user, grants
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Shuts the server down (cleanly, then by force at the deadline) and deletes its folder."""
        try:
            if self.running:
                self._shutdown()
                try:
                    self.proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    self._kill()
            elif self.proc is not None:
                self.proc.wait()
        finally:
            self.proc = None
            if self.tmp and not os.environ.get("FEP_KEEP_TMP"):
                shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def _spawn(self, argv, pdeathsig):
        log = open(self.log, "ab")
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=lambda: _set_pdeathsig(pdeathsig))
        finally:
            log.close()


class PostgresServer(_Server):
    """PostgreSQL 15 on 127.0.0.1:<port>; superuser `postgres` (trust on the unix socket),
    login `fep` / PASSWORD (scram over TCP) owning database `fep`."""

    name = "pg"
    superuser = "postgres"

    def __init__(self, extra_settings=None):
        super().__init__()
        self.extra_settings = dict(extra_settings or {})
        self.odbc_options = {}

    # -- paths and identities
    @property
    def data_dir(self):
        return os.path.join(self.tmp, "data")

    @property
    def socket_dir(self):
        return self.tmp

    @property
    def log(self):
        return os.path.join(self.tmp, "postgres.log") if self.tmp else None

    def _as_server_user(self, argv, pdeathsig=None):
        """PostgreSQL refuses to run as root: under root, run argv as nobody:nogroup."""
        if os.geteuid() != 0:
            return argv
        wrap = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        if pdeathsig:
            wrap.append(f"--pdeathsig={pdeathsig}")
        return wrap + argv

    def _check_binaries(self):
        require_binaries([f"{PG_BIN}/initdb", f"{PG_BIN}/postgres", f"{PG_BIN}/pg_isready",
                          f"{PG_BIN}/psql"], "postgresql-15")

    def _prepare(self):
        if os.geteuid() == 0:
            os.chown(self.tmp, pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
        with open(self.log, "w"):
            pass
        if os.geteuid() == 0:
            os.chown(self.log, pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
        _run(self._as_server_user([
            f"{PG_BIN}/initdb", "-D", self.data_dir, "-U", self.superuser,
            "--auth-local=trust", "--auth-host=scram-sha-256",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"]),
            "initdb", timeout=60)

    def _launch(self):
        settings = {
            "port": str(self.port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": self.socket_dir,
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "timezone": "UTC", "log_timezone": "UTC",
            "max_connections": "50", "shared_buffers": "64MB",
            "logging_collector": "off", "log_min_messages": "warning",
            "password_encryption": "scram-sha-256",
        }
        settings.update({k: str(v) for k, v in self.extra_settings.items()})
        argv = [f"{PG_BIN}/postgres", "-D", self.data_dir]
        for k, v in settings.items():
            argv += ["-c", f"{k}={v}"]
        # SIGINT = fast shutdown; if the test process dies the server goes down.
        if os.geteuid() == 0:
            self._spawn(self._as_server_user(argv, pdeathsig="INT"), signal.SIGINT)
        else:
            self._spawn(argv, signal.SIGINT)
        deadline = time.monotonic() + self.start_timeout

        def ready():
            r = subprocess.run([f"{PG_BIN}/pg_isready", "-q", "-h", self.socket_dir,
                                "-p", str(self.port), "-U", self.superuser, "-d", "postgres",
                                "-t", "1"], capture_output=True)
            return r.returncode == 0
        _wait_until(ready, deadline, "postgres start", self.proc, self.log)

    def _configure(self):
        pw = self.password.replace("'", "''")
        self._psql("postgres", f"CREATE ROLE {self.user} LOGIN PASSWORD '{pw}'")
        self._psql("postgres", f"CREATE DATABASE {self.database} OWNER {self.user} "
                               "ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' "
                               "TEMPLATE template0")

    def _shutdown(self):
        self.proc.send_signal(signal.SIGINT)   # fast shutdown: ends sessions, checkpoints

    # -- client side
    def _psql(self, dbname, command, user=None):
        argv = [f"{PG_BIN}/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-F", _PG_FS, "-R", _PG_RS, "-P", f"null={_PG_NULL}",
                "-h", self.socket_dir, "-p", str(self.port), "-U", user or self.superuser,
                "-d", dbname, "-c", command]
        env = dict(os.environ, PGCLIENTENCODING="UTF8", PGTZ="UTC")
        return _run(argv, "psql", env=env)

    def sql(self, query, database=None, superuser=False):
        """Runs query with psql and returns the rows of its last statement:
        [[str|None, ...], ...]. Runs as the login user `fep` (so the tables it creates
        belong to `fep`, as ODBC sessions need), or as `postgres` with superuser=True.
        Several statements separated by ';' run as one implicit transaction (psql -c),
        so CREATE DATABASE or VACUUM must be sent alone."""
        out = self._psql(database or self.database, query,
                         user=self.superuser if superuser else self.user)
        if not out:                     # no rows ("" would be one row holding '')
            return []
        if out.endswith("\n"):
            out = out[:-1]
        return [[None if f == _PG_NULL else f for f in rec.split(_PG_FS)]
                for rec in out.split(_PG_RS)]

    def odbc_connection_string(self, **options):
        """DSN-less connection string for psqlODBC's Unicode driver. Keyword arguments add
        or override driver options (e.g. UseServerSidePrepare=0)."""
        opts = {
            "Driver": "{PostgreSQL Unicode}",
            "Server": self.host, "Port": str(self.port), "Database": self.database,
            "Uid": self.user, "Pwd": self.password,
            "SSLMode": "disable",
            "BoolsAsChar": "0",            # boolean as SQL_BIT, not varchar 'true'/'false'
            "ByteaAsLongVarBinary": "1",   # bytea as SQL_LONGVARBINARY
            "UseServerSidePrepare": "1",   # extended protocol with real parameters
            "MaxVarcharSize": "0",         # varchar without length: no 255 cap
            "MaxLongVarcharSize": "-1",
        }
        opts.update({k: str(v) for k, v in self.odbc_options.items()})
        opts.update({k: str(v) for k, v in options.items()})
        return "".join(f"{k}={v};" for k, v in opts.items())


class MariaDbServer(_Server):
    """MariaDB 10.11 on 127.0.0.1:<port>; `root` without password on the unix socket,
    login `fep`@`%` / PASSWORD with all privileges on database `fep`."""

    name = "mariadb"

    def __init__(self, extra_options=()):
        super().__init__()
        self.extra_options = list(extra_options)
        self.odbc_options = {}

    @property
    def data_dir(self):
        return os.path.join(self.tmp, "data")

    @property
    def socket_path(self):
        return os.path.join(self.tmp, "mysqld.sock")

    @property
    def log(self):
        return os.path.join(self.tmp, "mariadbd.log") if self.tmp else None

    def _check_binaries(self):
        require_binaries([MARIADB_SERVER, "/usr/bin/mariadb-install-db"], "mariadb-server-core")
        require_binaries(["/usr/bin/mariadb", "/usr/bin/my_print_defaults"],
                         "mariadb-client-core")

    def _server_options(self):
        opts = [
            f"--datadir={self.data_dir}",
            f"--tmpdir={self.tmp}",
            "--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
            "--skip-name-resolve",
            "--innodb-log-file-size=16M", "--innodb-buffer-pool-size=64M",
            "--innodb-flush-log-at-trx-commit=0", "--innodb-doublewrite=0",
            "--innodb-use-native-aio=0",   # io_uring/libaio are often refused in containers
            "--max-allowed-packet=256M",
            "--performance-schema=OFF",
        ]
        if os.geteuid() == 0:
            opts.append("--user=root")
        return opts

    def _prepare(self):
        _run(["/usr/bin/mariadb-install-db", "--no-defaults",
              "--auth-root-authentication-method=normal", "--skip-test-db",
              *( ["--user=root"] if os.geteuid() == 0 else [] ),
              *[o for o in self._server_options() if o != "--user=root"]],
             "mariadb-install-db", timeout=120)

    def _launch(self):
        argv = [MARIADB_SERVER, "--no-defaults", *self._server_options(),
                f"--port={self.port}", "--bind-address=127.0.0.1",
                f"--socket={self.socket_path}",
                f"--pid-file={os.path.join(self.tmp, 'mariadbd.pid')}",
                f"--log-error={self.log}",
                "--default-time-zone=+00:00",
                "--skip-log-bin", "--loose-skip-ssl",
                *self.extra_options]
        self._spawn(argv, signal.SIGTERM)
        deadline = time.monotonic() + self.start_timeout

        def ready():
            if not os.path.exists(self.socket_path):
                return False
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                try:
                    s.connect(self.socket_path)
                    return True
                except OSError:
                    return False
        _wait_until(ready, deadline, "mariadbd start", self.proc, self.log)

    def _configure(self):
        pw = self.password.replace("\\", "\\\\").replace("'", "\\'")
        self._client(
            f"CREATE DATABASE {self.database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n"
            f"CREATE USER '{self.user}'@'%' IDENTIFIED BY '{pw}';\n"
            f"GRANT ALL ON {self.database}.* TO '{self.user}'@'%';\n"
            # e.g. for KILL <id> of the test user's connections
            f"GRANT PROCESS, CONNECTION ADMIN ON *.* TO '{self.user}'@'%';\n", database="mysql")

    def _shutdown(self):
        self.proc.send_signal(signal.SIGTERM)  # clean shutdown

    def _client(self, text, database=None, xml=False):
        argv = ["/usr/bin/mariadb", "--no-defaults", f"--socket={self.socket_path}",
                "--user=root", "--default-character-set=utf8mb4", "--batch"]
        if xml:
            argv.append("--xml")
        argv.append(database or self.database)
        return _run(argv, "mariadb", input_text=text)

    def sql(self, query, database=None):
        """Runs query (one or more statements) with the mariadb client as root; returns
        the rows of the last statement that returned rows: [[str|None, ...], ...]."""
        out = self._client(query, database, xml=True)
        rows = []
        # The client prints one XML document per result set; keep the last one.
        docs = [d for d in out.split("<?xml") if d.strip()]
        if not docs:
            return []
        root = ET.fromstring(docs[-1].split("?>", 1)[1].translate(_XML_HIDE))
        nil = "{http://www.w3.org/2001/XMLSchema-instance}nil"
        for row in root.iter("row"):
            rows.append([None if f.get(nil) == "true" else (f.text or "").translate(_XML_SHOW)
                         for f in row.iter("field")])
        return rows

    def odbc_connection_string(self, **options):
        """DSN-less connection string for MariaDB Connector/ODBC. Keyword arguments add or
        override driver options."""
        opts = {
            "Driver": "{MariaDB Unicode}",
            "Server": self.host, "Port": str(self.port), "Database": self.database,
            "Uid": self.user, "Pwd": self.password,
            "CHARSET": "utf8mb4",
        }
        opts.update({k: str(v) for k, v in self.odbc_options.items()})
        opts.update({k: str(v) for k, v in options.items()})
        return "".join(f"{k}={v};" for k, v in opts.items())
