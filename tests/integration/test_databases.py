"""One table-sync suite, run against SQLite, PostgreSQL 15 and MariaDB 10.11.

The servers are real (tests/integration/servers.py starts them on loopback), the drivers are
the real unixODBC drivers, and values are read back with each database's own client, not through
the agent's ODBC path. Every test gets a fresh database."""

import base64
import datetime
import itertools
import shutil
import sqlite3
import subprocess
import tempfile
import unittest
from pathlib import Path

import harness
import servers
from harness import Agent

R = "R-DB-0001"

TYPES_SCHEMA = {
    "name": "all_types",
    "columns": [
        {"name": "id", "type": "bigint", "nullable": False},
        {"name": "i16", "type": "smallint"},
        {"name": "i32", "type": "integer"},
        {"name": "i64", "type": "bigint"},
        {"name": "amount", "type": "decimal(38,10)"},
        {"name": "r", "type": "real"},
        {"name": "d", "type": "double"},
        {"name": "flag", "type": "boolean"},
        {"name": "code", "type": "char(6)"},
        {"name": "label", "type": "varchar(50)"},
        {"name": "body", "type": "text"},
        {"name": "day", "type": "date"},
        {"name": "tod", "type": "time"},
        {"name": "ts", "type": "timestamp"},
        {"name": "tstz", "type": "timestamptz"},
        {"name": "bin", "type": "binary"},
    ],
    "primary_key": ["id"],
}
TYPE_COLUMNS = [c["name"] for c in TYPES_SCHEMA["columns"]]
BYTES = b"\x00\xff\x10\n"
TYPES_CSV = (
    ",".join(TYPE_COLUMNS) + "\n"
    "1,-32768,2147483647,-9223372036854775808,-9999999999999999999999999999.9999999999,0.5,"
    "2.25,true,\"AB 1 \",\"引号\"\"逗号,换行\n下一行\",中文😀,0001-01-01,00:00:00,"
    f"0001-01-01 00:00:00,2026-11-20T02:00:00.123456+08:00,{base64.b64encode(BYTES).decode()}\n"
    "2,,,,,,,,,\"\",,,,,,\n"
    "3,32767,-2147483648,9223372036854775807,9999999999999999999999999999.9999999999,-0.25,"
    "-1.5,f,ZZZZZZ,plain,,9999-12-31,23:59:59.999999,9999-12-31T23:59:59.999999,"
    "2026-11-20T02:00:00Z,\n"
)
TYPES_EXPECTED = [
    ["1", "-32768", "2147483647", "-9223372036854775808",
     "-9999999999999999999999999999.9999999999", "0.5", "2.25", "true", "AB 1 ",
     '引号"逗号,换行\n下一行', "中文😀", "0001-01-01", "00:00:00", "0001-01-01 00:00:00",
     "2026-11-19 18:00:00.123456", BYTES.hex()],
    ["2", None, None, None, None, None, None, None, None, "", None, None, None, None, None, None],
    ["3", "32767", "-2147483648", "9223372036854775807",
     "9999999999999999999999999999.9999999999", "-0.25", "-1.5", "false", "ZZZZZZ", "plain",
     None, "9999-12-31", "23:59:59.999999", "9999-12-31 23:59:59.999999",
     "2026-11-20 02:00:00", None],
]

ENT_SCHEMA = {
    "name": "ent",
    "columns": [{"name": "id", "type": "bigint", "nullable": False},
                {"name": "name", "type": "varchar(50)"}],
    "primary_key": ["id"],
}


def with_column(schema, column):
    return dict(schema, columns=schema["columns"] + [column])


class Database:
    """A fresh database on one engine, its ODBC connection string, and a reader."""

    counter = itertools.count(1)

    def __init__(self, engine, server, tmp):
        self.engine = engine
        self.server = server
        self.name = f"t{next(self.counter)}"
        if engine == "sqlite":
            self.path = Path(tmp) / "target.db"
            self.connection = f"Driver=SQLite3;Database={self.path}"
        elif engine == "postgresql":
            server.sql(f"CREATE DATABASE {self.name} OWNER {server.user}", superuser=True)
            self.connection = server.odbc_connection_string(Database=self.name)
        else:
            server.sql(f"CREATE DATABASE {self.name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; "
                       f"GRANT ALL ON {self.name}.* TO '{server.user}'@'%'")
            self.connection = server.odbc_connection_string(Database=self.name)

    def rows(self, query):
        if self.engine == "sqlite":
            with sqlite3.connect(self.path) as db:
                return [[None if v is None else (v.hex() if isinstance(v, bytes) else str(v))
                         for v in row] for row in db.execute(query)]
        return self.server.sql(query, database=self.name)

    def quote(self, name):
        return f"`{name}`" if self.engine == "mariadb" else f'"{name}"'

    def select(self, table, columns, order="id"):
        q = self.quote
        return self.rows(f"SELECT {', '.join(q(c) for c in columns)} FROM {q(table)} "
                         f"ORDER BY {q(order)}")

    def all_types(self):
        """The all_types table, each value in one canonical text form for every engine."""
        q = self.quote
        cols = []
        for c in TYPE_COLUMNS:
            if c == "bin" and self.engine == "postgresql":
                cols.append("encode(bin, 'hex')")
            elif c == "bin" and self.engine == "mariadb":
                cols.append("LOWER(HEX(bin))")
            elif c == "tstz" and self.engine == "postgresql":
                cols.append("tstz AT TIME ZONE 'UTC'")
            else:
                cols.append(q(c))
        rows = self.rows(f"SELECT {', '.join(cols)} FROM {q('all_types')} ORDER BY {q('id')}")
        return [[self.canonical(c, v) for c, v in zip(TYPE_COLUMNS, row)] for row in rows]

    def canonical(self, column, value):
        if value is None:
            return None
        if column == "flag":
            return {"t": "true", "1": "true", "f": "false", "0": "false"}[value]
        if column in ("tod", "ts", "tstz") and value.endswith(".000000"):
            value = value[: -len(".000000")]
        if column == "tstz" and self.engine == "sqlite":  # kept as text with its offset
            instant = datetime.datetime.fromisoformat(value).astimezone(datetime.timezone.utc)
            value = instant.replace(tzinfo=None).isoformat(sep=" ")
        return value


class DatabaseSuite:
    """The tests; subclasses pick the engine."""

    engine = None
    server = None

    @classmethod
    def setUpClass(cls):
        if cls.engine == "postgresql":
            cls.server = servers.PostgresServer()
        elif cls.engine == "mariadb":
            cls.server = servers.MariaDbServer()
        if cls.server:
            cls.server.start()

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.stop()

    def setUp(self):
        self.exchange = harness.Exchange()
        self.exchange.__enter__()
        self.addCleanup(self.exchange.close)
        self.tmp = tempfile.mkdtemp(prefix="fep-db-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.exchange.subscribe(R, name="测试资源", kind="table", status="approved")
        self.db = Database(self.engine, self.server, self.tmp)
        self.agent = self.make_agent()

    def make_agent(self, name="agent", **kwargs):
        return Agent(self.exchange, Path(self.tmp) / name, resources=(R,),
                     connection=self.db.connection, **kwargs)

    def sync(self, agent=None, code=0):
        proc = (agent or self.agent).sync()
        self.assertEqual(proc.returncode, code, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def skipped(self, batch):
        """A batch the target refused is held without a receipt until the operator skips it."""
        self.assertIsNone(self.exchange.receipt(batch))
        blocking = self.agent.status()["resources"][0]["blocking_batch"]
        self.assertEqual((blocking["batch_id"], blocking["state"]), (batch, "failed"))
        proc = self.agent.run("skip", R, "--batch", batch, "--reason", "the provider republishes")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        receipt = self.exchange.receipt(batch)
        self.assertEqual(receipt["status"], "rejected")
        self.assertIn("the provider republishes", receipt["error"]["message"])
        return receipt

    def test_every_type_round_trips_exactly(self):
        self.exchange.publish_table(R, schema=TYPES_SCHEMA, csv=TYPES_CSV, mode="full")
        self.sync()
        self.assertEqual(self.db.all_types(), TYPES_EXPECTED)

    def test_full_replace_then_upsert_and_delete_in_file_order(self):
        csv = "id,name\n" + "".join(f"{i},name-{i}\n" for i in range(1, 2501))
        self.exchange.publish_table(R, schema=ENT_SCHEMA, csv=csv, mode="full", compression="gzip")
        self.sync()
        self.assertEqual(self.db.rows(f"SELECT count(*) FROM {self.db.quote('ent')}"), [["2500"]])

        self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n7,seven\n8,eight\n",
                                    mode="full")
        self.sync()
        self.assertEqual(self.db.select("ent", ["id", "name"]), [["7", "seven"], ["8", "eight"]])

        inc = ("_op,id,name\nU,7,七\nD,8,\nU,9,nine\nD,9,\nU,9,九\nU,10,x\nU,10,十\n")
        batch = self.exchange.publish_table(R, schema=ENT_SCHEMA, csv=inc, mode="incremental",
                                            compression="zstd")
        self.sync()
        self.assertEqual(self.db.select("ent", ["id", "name"]),
                         [["7", "七"], ["9", "九"], ["10", "十"]])
        self.assertEqual(self.exchange.receipt(batch)["counts"], {"rows": 5, "deleted": 2})

    def test_added_nullable_column_is_added(self):
        self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n1,a\n", mode="full")
        self.sync()
        v2 = with_column(ENT_SCHEMA, {"name": "memo", "type": "text"})
        self.exchange.publish_table(R, schema=v2, csv="_op,id,name,memo\nU,2,b,备注\n",
                                    mode="incremental")
        self.sync()
        self.assertEqual(self.db.select("ent", ["id", "name", "memo"]),
                         [["1", "a", None], ["2", "b", "备注"]])

    def test_changed_type_is_rejected_unless_the_resource_rebuilds(self):
        self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n1,a\n", mode="full")
        self.sync()
        wider = dict(ENT_SCHEMA, columns=[ENT_SCHEMA["columns"][0],
                                          {"name": "name", "type": "text"}])
        long_name = "长" * 80
        batch = self.exchange.publish_table(R, schema=wider, csv=f"id,name\n2,{long_name}\n",
                                            mode="full")
        self.sync(code=2)
        self.assertEqual(self.db.select("ent", ["id", "name"]), [["1", "a"]])
        receipt = self.skipped(batch)
        self.assertEqual(receipt["error"]["code"], "SCHEMA_MISMATCH")
        self.assertIn("varchar(50) to text", receipt["error"]["message"])

        # A second resource on the same database, allowed to rebuild its table.
        other = "R-DB-0002"
        self.exchange.subscribe(other, name="重建", kind="table", status="approved")
        schema = dict(ENT_SCHEMA, name="rebuilt")
        self.exchange.publish_table(other, schema=schema, csv="id,name\n1,a\n", mode="full")
        agent = Agent(self.exchange, Path(self.tmp) / "rebuild", resources=(other,),
                      connection=self.db.connection, resource_extra="    on_schema_change: rebuild\n")
        self.sync(agent)
        rebuilt = dict(wider, name="rebuilt")
        batch = self.exchange.publish_table(other, schema=rebuilt,
                                            csv=f"id,name\n2,{long_name}\n", mode="full")
        self.sync(agent)
        self.assertEqual(self.exchange.receipt(batch)["status"], "applied")
        self.assertEqual(self.db.select("rebuilt", ["id", "name"]), [["2", long_name]])

    def test_gb18030_payload(self):
        text = "id,name\n1,河南省安阳市\n2,\"林州,红旗渠\"\n"
        self.exchange.publish_table(R, schema=ENT_SCHEMA, payload=text.encode("gb18030"),
                                    compression="none", encoding="GB18030", mode="full")
        self.sync()
        self.assertEqual(self.db.select("ent", ["id", "name"]),
                         [["1", "河南省安阳市"], ["2", "林州,红旗渠"]])

    def test_a_batch_found_in_the_target_is_not_applied_twice(self):
        batch = self.exchange.publish_table(R, schema=ENT_SCHEMA,
                                            csv="_op,id,name\nU,1,a\nU,2,b\nD,3,\n",
                                            mode="incremental")
        receipts = self.exchange.root / "receipts"
        shutil.rmtree(receipts, ignore_errors=True)
        receipts.write_text("the platform cannot take receipts")
        self.sync(code=1)
        shutil.rmtree(self.agent.state)  # the agent forgets; the target remembers
        receipts.unlink()
        self.sync()
        self.assertEqual(self.exchange.receipt(batch)["counts"], {"rows": 2, "deleted": 1})
        self.assertEqual(self.db.select("ent", ["id", "name"]), [["1", "a"], ["2", "b"]])

    def test_keys_compare_by_value_and_byte_for_byte(self):
        # Two spellings of one key in one upsert batch are one row (the last wins, and one set-based
        # statement never meets the row twice); keys differing in case or a trailing space are
        # distinct rows on every engine.
        schema = {"name": "keyed",
                  "columns": [{"name": "amount", "type": "decimal(10,2)", "nullable": False},
                              {"name": "at", "type": "timestamp", "nullable": False},
                              {"name": "code", "type": "varchar(10)", "nullable": False},
                              {"name": "v", "type": "varchar(10)"}],
                  "primary_key": ["amount", "at", "code"]}
        self.exchange.publish_table(R, schema=schema, mode="full", csv=(
            "amount,at,code,v\n"
            "1.5,2026-01-01 00:00:00,a,first\n"
            "1.5,2026-01-01 00:00:00,A,upper\n"
            '1.5,2026-01-01 00:00:00,"a ",space\n'))
        self.sync()
        self.exchange.publish_table(R, schema=schema, mode="incremental", csv=(
            "_op,amount,at,code,v\n"
            "U,1.50,2026-01-01T00:00:00.000,a,second\n"
            "U,01.5,2026-01-01 00:00:00,a,third\n"))
        self.sync()
        self.assertEqual(sorted(self.db.select("keyed", ["code", "v"], order="v")),
                         [["A", "upper"], ["a", "third"], ["a ", "space"]])

    def test_constraint_violation_rejects_and_keeps_the_previous_contents(self):
        self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n1,a\n", mode="full")
        self.sync()
        batch = self.exchange.publish_table(R, schema=ENT_SCHEMA,
                                            csv="id,name\n5,x\n6,y\n5,z\n", mode="full")
        self.sync(code=2)
        self.assertEqual(self.db.select("ent", ["id", "name"]), [["1", "a"]])
        receipt = self.skipped(batch)
        self.assertEqual(receipt["error"]["code"], "CONSTRAINT_VIOLATION")
        self.assertRegex(receipt["error"]["message"], r"line")

    def test_a_table_left_by_a_failed_first_batch_is_still_the_resources(self):
        # MySQL and DM commit CREATE TABLE at once: the empty table outlives the failed batch.
        bad = self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n1,a\nx,b\n",
                                          mode="full")
        proc = self.agent.sync()
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(self.exchange.receipt(bad)["error"]["code"], "PAYLOAD_INVALID")
        proc = self.agent.run("unblock", R)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        good = self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n1,a\n2,b\n",
                                           mode="full")
        self.sync()
        self.assertEqual(self.exchange.receipt(good)["status"], "applied")
        self.assertEqual(self.db.select("ent", ["id", "name"]), [["1", "a"], ["2", "b"]])

    def hold_table_lock(self, table):
        """Another program's session holding an exclusive lock on `table` until the returned
        function is called."""
        if self.engine == "postgresql":
            argv = [f"{servers.PG_BIN}/psql", "-X", "-q", "-h", self.server.socket_dir, "-p",
                    str(self.server.port), "-U", self.server.user, "-d", self.db.name]
            text = f'BEGIN;\nLOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE;\n'
            held = (f"SELECT count(*) FROM pg_locks WHERE relation = '\"{table}\"'::regclass "
                    "AND mode = 'AccessExclusiveLock' AND granted")
        else:
            argv = ["/usr/bin/mariadb", "--no-defaults", f"--socket={self.server.socket_path}",
                    "--user=root", self.db.name]
            text = f"LOCK TABLES `{table}` WRITE;\n"
            held = f"SHOW OPEN TABLES FROM {self.db.name} WHERE `Table` = '{table}' AND In_use > 0"
        holder = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  text=True)
        holder.stdin.write(text)
        holder.stdin.flush()

        def release():
            if holder.poll() is None:
                holder.stdin.close()  # the session ends: its lock and transaction go with it
                holder.wait(timeout=30)

        self.addCleanup(release)
        harness.wait_until(lambda: self.db.rows(held) not in ([], [["0"]]), timeout=30,
                           what=f"a lock on {table}")
        return release

    def test_a_statement_blocked_by_a_lock_times_out_and_is_retried_not_rejected(self):
        if self.engine == "sqlite":
            self.skipTest("SQLite waits for locks by its driver's busy timeout")
        first = self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n1,a\n",
                                            mode="full")
        agent = self.make_agent("timeout", target_extra="    statement_timeout: 2s\n")
        self.sync(agent)
        self.assertEqual(self.exchange.receipt(first)["status"], "applied")

        release = self.hold_table_lock("ent")
        second = self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="_op,id,name\nU,2,b\n",
                                             mode="incremental")
        proc = agent.sync()
        self.assertNotEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stderr,
                         "(?i)statement timeout|max_statement_time|lock wait timeout")
        self.assertIsNone(self.exchange.receipt(second))  # not rejected: nothing said yet
        status = agent.status()["resources"][0]
        self.assertEqual(status["state"], "error")  # tried again on the next run
        self.assertRegex(status["last_error"],
                         "(?i)statement timeout|max_statement_time|lock wait timeout")

        release()
        self.sync(agent)
        self.assertEqual(self.exchange.receipt(second)["status"], "applied")
        self.assertEqual(self.db.select("ent", ["id", "name"]), [["1", "a"], ["2", "b"]])


class SqliteTest(DatabaseSuite, unittest.TestCase):
    engine = "sqlite"


class PostgresTest(DatabaseSuite, unittest.TestCase):
    engine = "postgresql"

    def test_schema_and_table_prefix(self):
        self.db.rows("CREATE SCHEMA ods")
        agent = self.make_agent("prefixed", target_extra="    schema: ods\n    table_prefix: scjg_\n")
        self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n1,a\n", mode="full")
        self.sync(agent)
        self.assertEqual(self.db.rows("SELECT id, name FROM ods.scjg_ent"), [["1", "a"]])
        self.assertEqual(self.db.rows("SELECT count(*) FROM ods._fep_batches"), [["1"]])


    def test_tables_of_the_same_name_in_other_schemas_are_not_ours(self):
        # Someone else's table of the same name, in the schema the connection would search first.
        self.db.rows('CREATE TABLE public.ent (other text); CREATE SCHEMA ods')
        agent = self.make_agent("ods", target_extra="    schema: ods\n")
        batch = self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n1,a\n",
                                            mode="full")
        self.sync(agent)
        self.assertEqual(self.exchange.receipt(batch)["status"], "applied")
        self.assertEqual(self.db.rows("SELECT id, name FROM ods.ent"), [["1", "a"]])
        self.assertEqual(self.db.rows("SELECT count(*) FROM public.ent"), [["0"]])
        # Without a schema, the connection's own (public) is where tables are looked for.
        self.db.rows("CREATE SCHEMA elsewhere; CREATE TABLE elsewhere._fep_batches (x int)")
        other = self.make_agent("public")
        self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n1,a\n", mode="full")
        proc = self.sync(other, code=1)
        self.assertIn("exists but fep-agent did not create it", proc.stderr)

    def test_read_only_database_pauses_the_resource_without_a_receipt(self):
        batch = self.exchange.publish_table(R, schema=ENT_SCHEMA, csv="id,name\n1,a\n",
                                            mode="full")
        self.server.sql(f"ALTER DATABASE {self.db.name} SET default_transaction_read_only = on",
                        superuser=True)
        proc = self.sync(code=1)
        self.assertIn("read-only", proc.stderr)
        status = self.agent.status()["resources"][0]
        self.assertEqual(status["state"], "paused")
        self.assertIsNone(self.exchange.receipt(batch))

        self.server.sql(f"ALTER DATABASE {self.db.name} SET default_transaction_read_only = off",
                        superuser=True)
        self.sync()
        self.assertEqual(self.exchange.receipt(batch)["status"], "applied")
        self.assertEqual(self.agent.status()["resources"][0]["state"], "idle")

    def test_a_lost_connection_mid_batch_is_retried_not_rejected(self):
        rows = 300000
        csv = "id,name\n" + "".join(f"{i},名称{i}\n" for i in range(1, rows + 1))
        batch = self.exchange.publish_table(R, schema=ENT_SCHEMA, csv=csv, mode="full")
        proc = subprocess.Popen([harness.agent_bin(), "--config", str(self.agent.config), "sync",
                                 "--once"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        killed = []

        def kill_the_insert():
            found = self.server.sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
                f"'{self.db.name}' AND query LIKE 'INSERT INTO%unnest%' AND state = 'active'",
                superuser=True)
            killed.extend(found)
            return bool(found) or proc.poll() is not None

        harness.wait_until(kill_the_insert, timeout=60, interval=0.005, what="the agent's INSERT")
        out, err = proc.communicate(timeout=300)
        self.assertTrue(killed, "the agent finished before its connection could be cut")
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("trying again", err)
        self.assertEqual(self.exchange.receipt(batch)["counts"], {"rows": rows, "deleted": 0})
        self.assertEqual(self.db.rows('SELECT count(*) FROM "ent"'), [[str(rows)]])


class MariaDbTest(DatabaseSuite, unittest.TestCase):
    engine = "mariadb"


if __name__ == "__main__":
    unittest.main()
