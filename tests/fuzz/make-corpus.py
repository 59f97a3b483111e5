#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/.

The corpus is kept in the repository; run this again only to change it. Files named regress-*
are inputs a fuzzer once failed on, copied in by hand, and are left alone. Archives are made with
the real tools (GNU tar, bsdtar, zip, gzip, zstd; bsdtar's mtree input for entries a plain
folder cannot hold: devices, FIFOs, links to anywhere), GB18030 text with iconv. Needs the
packages of scripts/install-deps.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
REPO = HERE.parent.parent
MTIME = "2026-11-20 02:00:00"


def put(target, name, data):
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def run(*argv, cwd=None, inp=None):
    return subprocess.run(argv, cwd=cwd, input=inp, check=True, capture_output=True).stdout


# --- CSV ------------------------------------------------------------------------------------

def csv_seeds():
    t = "fuzz_csv_reader"
    put(t, "simple.csv", "id,name\n1,a\n2,b\n")
    put(t, "no-final-newline.csv", "id,name\n1,a\n2,b")
    put(t, "quotes.csv",
        'id,name,address\n1,"华夏科技, 有限公司","人民大道 ""东"" 段\n2 号楼"\n'
        '2,"",\n3,"a""b",""""\n')
    put(t, "crlf.csv", "id,name,updated_at\r\n1,殷商食品,2026-11-20 02:00:00\r\n"
        '2,"line\r\nbreak",2026-11-20T02:00:00.123456\r\n')
    put(t, "bom.csv", "\ufeffid,name\n1,红旗渠物流\n".encode("utf-8"))
    put(t, "gb18030.csv", run("iconv", "-f", "UTF-8", "-t", "GB18030", inp=(
        "id,name,legal_rep\n1,安阳县恒通商贸有限公司,王伟\n2,\"滑县,瑞丰农业\",李娜\n"
        "3,𠀀 (outside the BMP),张\n").encode()))
    put(t, "incremental.csv", "_op,id,name\nU,1,a\nD,2,\nU,3,\"c\"\n")
    put(t, "values.csv",
        "id,flag,amount,day,at,atz,t,blob,code\n"
        "-32768,true,-123.45,2024-02-29,2026-11-20 02:00:00,2026-11-20T02:00:00+08:00,"
        "23:59:59.999999,aGVsbG8=,AB12\n"
        "9223372036854775807,f,0.00,1999-12-31,2026-01-01T00:00:00,2026-01-01 00:00:00Z,"
        "00:00:00,,\n")
    put(t, "one-column-empty-lines.csv", "name\n\na\n\n")
    put(t, "err-unterminated.csv", 'id,name\n1,"never closed\n2,b\n')
    put(t, "err-bare-cr.csv", "id,name\r1,a\r")
    put(t, "err-quote-in-field.csv", 'id,name\n1,a"b\n')
    put(t, "err-after-quote.csv", 'id,name\n1,"a"b\n')
    put(t, "err-bad-values.csv", "id,day,amount\n1e3,2023-02-29,1.5e2\n99999999999999999999,"
        "2026-13-01,--1\n")
    put(t, "err-invalid-utf8.csv", b"id,name\n1,\xff\xfe\xc0\xaf\n")


# --- manifests and listings -----------------------------------------------------------------

SHA = "3f" * 32
TABLE = {
    "name": "ent_registration",
    "columns": [{"name": "id", "type": "bigint", "nullable": False},
                {"name": "name", "type": "varchar(200)"},
                {"name": "reg_capital", "type": "decimal(18,2)"},
                {"name": "established", "type": "date"},
                {"name": "updated_at", "type": "timestamp"}],
    "primary_key": ["id"]}


def manifest(**changes):
    m = {"protocol": 1, "batch_id": "B-20261120-0012", "resource_id": "R-SCJG-0001", "seq": 12,
         "kind": "table", "mode": "incremental", "created_at": "2026-11-20T02:00:00+08:00",
         "payload": {"format": "csv", "compression": "gzip", "encoding": "UTF-8", "size": 18231,
                     "sha256": SHA},
         "table": TABLE, "row_count": 1000}
    for key, value in changes.items():
        if value is None:
            m.pop(key, None)
        else:
            m[key] = value
    return json.dumps(m, ensure_ascii=False, indent=1)


def manifest_seeds():
    t = "fuzz_manifest"
    every_type = {"name": "all_types", "columns": [
        {"name": n, "type": ty} for n, ty in [
            ("c_smallint", "smallint"), ("c_integer", "integer"), ("c_bigint", "bigint"),
            ("c_decimal", "decimal(38,10)"), ("c_real", "real"), ("c_double", "double"),
            ("c_boolean", "boolean"), ("c_char", "char(18)"), ("c_varchar", "varchar(200)"),
            ("c_text", "text"), ("c_date", "date"), ("c_time", "time"),
            ("c_timestamp", "timestamp"), ("c_timestamptz", "timestamptz"),
            ("c_binary", "binary")]], "primary_key": ["c_bigint", "c_char"]}
    put(t, "table-incremental.json", manifest())
    put(t, "table-full-gb18030-sm3.json", manifest(
        mode="full", payload={"format": "csv", "compression": "zstd", "encoding": "GB18030",
                              "size": 1, "sha256": SHA, "sm3": "0a" * 32},
        table=every_type, future_field={"ignored": True}))
    put(t, "table-full-no-pk.json", manifest(mode="full", table=dict(TABLE, primary_key=[])))
    folder = {"kind": "folder", "table": None, "row_count": None}
    put(t, "folder-tar-incremental.json", manifest(
        payload={"format": "tar", "compression": "zstd", "size": 10, "sha256": SHA},
        folder={"files": 3, "bytes": 1234, "deletes": ["old/a.pdf", "gone", "目录/文件.txt"]},
        **folder))
    put(t, "folder-zip-full.json", manifest(
        mode="full", payload={"format": "zip", "compression": "none", "size": 10, "sha256": SHA},
        folder={"files": 0, "bytes": 0}, **folder))
    put(t, "listing.json", json.dumps({"resource_id": "R-SCJG-0001", "batches": [
        {"batch_id": "B-20261120-0011", "seq": 11, "mode": "full",
         "created_at": "2026-11-20T01:00:00+08:00"},
        {"batch_id": "B-20261120-0012", "seq": 12, "mode": "incremental",
         "created_at": "2026-11-20T02:00:00+08:00"}], "more": True}))
    put(t, "listing-empty.json", '{"resource_id": "R-SCJG-0001", "batches": []}')
    # Refused ones: each breaks one rule of protocol section 3.
    put(t, "bad-protocol.json", manifest(protocol=2))
    put(t, "bad-type.json", manifest(table=dict(TABLE, columns=[
        {"name": "id", "type": "decimal(39,2)"}, {"name": "x", "type": "varchar(-1)"}])))
    put(t, "bad-reserved-name.json", manifest(table=dict(TABLE, name="_fep_state")))
    put(t, "bad-injection-name.json", manifest(table=dict(TABLE, columns=[
        {"name": "id\"; DROP TABLE t; --", "type": "bigint"}])))
    put(t, "bad-duplicate-column.json", manifest(table=dict(TABLE, columns=[
        {"name": "id", "type": "bigint"}, {"name": "ID", "type": "text"}])))
    put(t, "bad-zip-gzip.json", manifest(
        payload={"format": "zip", "compression": "gzip", "size": 1, "sha256": SHA},
        folder={"files": 1, "bytes": 1, "deletes": []}, kind="folder", table=None,
        row_count=None))
    put(t, "bad-deletes-in-full.json", manifest(
        mode="full", payload={"format": "tar", "compression": "none", "size": 1, "sha256": SHA},
        folder={"files": 1, "bytes": 1, "deletes": ["../../etc/passwd", ""]}, kind="folder",
        table=None, row_count=None))
    put(t, "bad-sha.json", manifest(
        payload={"format": "csv", "compression": "none", "size": -1, "sha256": "ABC"}))
    put(t, "bad-seq-type.json", manifest(seq="12", row_count=1.5))
    put(t, "bad-truncated.json", manifest()[:200])
    put(t, "bad-deep.json", "[" * 2000 + "]" * 2000)
    put(t, "bad-listing-order.json", json.dumps({"resource_id": "R-SCJG-0001", "batches": [
        {"batch_id": "B-2", "seq": 2, "mode": "full", "created_at": "x"},
        {"batch_id": "B-1", "seq": 1, "mode": "full", "created_at": "x"}]}))


# --- configurations -------------------------------------------------------------------------

SIGNED = """node:
  id: N-410404-001
exchange:
  url: https://exchange.example/api/
  token_file: token
  ca_file: tls/platform-ca.pem
  client_cert: tls/node.pem
  client_key: tls/node.key
  key_password_file: tls/node.key.pass
  pinned_pubkey: "sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE="
  proxy: socks5h://proxy.example:1080
  require_signature: true
  signing_keys:
    city-2026: keys/city-2026.pem
    gm-2026: keys/gm-2026.pem
  connect_timeout: 10s
  retry_base: 250ms
  retry_cap: 1m
state_dir: state
targets:
  db:
    type: odbc
    connection: "Driver={SQLite3};Database=state/local.db"
    dialect: sqlite
    table_prefix: ods_
  files:
    type: folder
    path: files
    file_mode: "0640"
    dir_mode: "0750"
    max_entries: 1000
    max_ratio: 50
resources:
  - {id: R-1, target: db, table: t1, schedule: "0 2 * * *", window: "22:00-06:00"}
  - {id: R-2, target: files, path: a/b, schedule: manual, on_schema_change: reject}
status: {listen: "[::1]:8470"}
daemon: {workers: 4, jitter: 0s, control_socket: ctl.sock}
log: {file: agent.log, max_size: 65536, max_files: 2}
"""

BROKEN = {
    "err-unknown-key.yaml": "node:\n  id: N-1\n  idd: x\nexchange:\n  url: http://x\n"
                            "  token_file: token-public\ntargets: {}\nresources: []\n",
    "err-types.yaml": "node: [1, 2]\nexchange:\n  url: 5\n  token_file: {a: b}\n"
                      "  max_attempts: many\n  retry_base: 10\ntargets:\n  'bad name':\n"
                      "    type: oracle\nresources:\n  - id: ../x\n    target: nowhere\n",
    "err-syntax.yaml": "node:\n\tid: N-1\nexchange: [\n",
    "err-secrets.yaml": "node: {id: N-1}\nexchange:\n  url: https://x\n  token_file: token-public\n"
                        "  signing_keys: {k: token}\n  client_key: token-public\n"
                        "targets:\n  db: {type: odbc, connection: \"Driver=x;PWD=p\", "
                        "password_file: db-password}\nresources: []\n",
    "err-overlap.yaml": "node: {id: N-1}\nexchange: {url: https://x, token_file: token}\n"
                        "targets:\n  f: {type: folder, path: files}\nresources:\n"
                        "  - {id: R-1, target: f, path: a}\n  - {id: R-2, target: f, path: a/b}\n"
                        "  - {id: '..', target: f}\n",
    # yaml-cpp 0.7 parsed this forever (a stray ','), until the loader checked for it.
    "err-stray-comma.yaml": "# comment\n---\n,\n",
    "err-anchors.yaml": "a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nnode: {id: *b}\n"
                        "exchange: *b\ntargets: *b\nresources: *b\n---\nsecond: doc\n",
}


def config_seeds():
    t = "fuzz_config"
    for sample in sorted((REPO / "config-samples").glob("*.yaml")):
        text = sample.read_text()
        put(t, "sample-" + sample.name, text)
        # The same with the files the fuzz target provides (relative to its config folder).
        put(t, "local-" + sample.name, text.replace("/etc/fep-agent/", ""))
    put(t, "signed-mtls.yaml", SIGNED)
    for name, text in BROKEN.items():
        put(t, name, text)


# --- archive entry names --------------------------------------------------------------------

def path_seeds():
    t = "fuzz_archive_path"
    names = [b"a.txt", b"./dir/sub/file.pdf", b"dir/", b".", b"./", b"a//b/./c",
             "地块/2026年/宗地图.pdf".encode(), b"dir\\sub\\win.txt", b"../etc/passwd",
             b"a/../../b", b"/etc/passwd", b"\\\\server\\share", b"C:\\Windows\\x", b"c:x",
             b"./C:/x", b"ok/\x01ctl", b"del\x7f", "文件".encode("gb18030"),
             b"\xc0\xaf..", b"\xed\xa0\x80", b"x" * 256, (b"d/" * 2100) + b"f", b"...", b"..a",
             b"a/.."]
    for i, name in enumerate(names):
        put(t, f"name-{i:02d}", name)


# --- archives -------------------------------------------------------------------------------

def tree(root):
    (root / "地块" / "2026").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "地块" / "2026" / "宗地图.txt").write_text("宗地 410502-001\n" * 3)
    (root / "docs" / "readme.txt").write_text("hello\n")
    (root / "empty.txt").write_bytes(b"")


def mtree(work, name, lines, fmt="ustar", extra=()):
    """bsdtar from an mtree description: entries no plain folder could supply."""
    spec = work / (name + ".mtree")
    spec.write_text("#mtree\n" + "\n".join(lines) + "\n")
    out = work / name
    run("bsdtar", "-cf", str(out), "--format", fmt, *extra, "@" + str(spec), cwd=work)
    return out.read_bytes()


def archive_seeds():
    t = "fuzz_archive_extract"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "src"
        src.mkdir()
        tree(src)
        env_tar = ["--owner=0", "--group=0", "--numeric-owner", f"--mtime={MTIME}", "--sort=name"]
        for fmt in ("ustar", "pax", "gnu"):
            out = work / f"{fmt}.tar"
            run("tar", "-cf", str(out), f"--format={fmt}", *env_tar, ".", cwd=src)
            put(t, f"{fmt}.tar", out.read_bytes())
        run("tar", "-cf", str(work / "plain.tar"), "--format=pax", *env_tar, "docs", "empty.txt",
            cwd=src)
        put(t, "plain.tar.gz", run("gzip", "-9n", "-c", str(work / "plain.tar")))
        put(t, "plain.tar.zst", run("zstd", "-q", "-19", "-c", str(work / "plain.tar")))
        run("zip", "-q", "-X", "-r", str(work / "utf8.zip"), ".", cwd=src)
        put(t, "utf8.zip", (work / "utf8.zip").read_bytes())
        # A zip written on Chinese Windows: GBK names without the UTF-8 flag.
        gbk = work / "gbk"
        gbk.mkdir()
        os.makedirs(bytes(gbk) + b"/" + "地块".encode("gbk"))
        with open(bytes(gbk) + b"/" + "地块/说明.txt".encode("gbk"), "wb") as f:
            f.write(b"gbk name\n")
        subprocess.run(["zip", "-q", "-X", "-r", str(work / "gbk.zip"), "."], cwd=gbk, check=True,
                       env=dict(os.environ, LC_ALL="C"))
        put(t, "gbk.zip", (work / "gbk.zip").read_bytes())
        # Hostile ones. Each must be refused (or, for repeats, handled) without leaving the folder.
        one = work / "one"
        one.mkdir()
        (one / "a.txt").write_text("payload\n")
        for name, rewrite in [("dotdot.tar", ",^,../../,"), ("absolute.tar", ",^,/tmp/,"),
                              ("inner-dotdot.tar", ",^,d/../../,")]:
            run("bsdtar", "-cPf", str(work / name), "-s", rewrite, "a.txt", cwd=one)
            put(t, name, (work / name).read_bytes())
        run("bsdtar", "-cPf", str(work / "dotdot.zip"), "--format", "zip", "-s", ",^,../,",
            "a.txt", cwd=one)
        put(t, "dotdot.zip", (work / "dotdot.zip").read_bytes())
        (one / "link").symlink_to("/etc")
        run("tar", "-cf", str(work / "symlink.tar"), *env_tar, "link", cwd=one)
        put(t, "symlink.tar", (work / "symlink.tar").read_bytes())
        run("zip", "-q", "-X", "-y", str(work / "symlink.zip"), "link", "a.txt", cwd=one)
        put(t, "symlink.zip", (work / "symlink.zip").read_bytes())
        put(t, "symlink-then-file.tar", mtree(work, "symlink-then-file.tar", [
            "link type=link link=../outside mode=0777",
            "link/escaped.txt type=file size=0 mode=0644"]))
        os.link(one / "a.txt", one / "hard.txt")
        run("tar", "-cf", str(work / "hardlink.tar"), *env_tar, "a.txt", "hard.txt", cwd=one)
        put(t, "hardlink.tar", (work / "hardlink.tar").read_bytes())
        put(t, "device.tar", mtree(work, "device.tar", [
            "null type=char mode=0666 device=native,1,3",
            "pipe type=fifo mode=0644"]))
        put(t, "setuid.tar", mtree(work, "setuid.tar", [
            "bin type=dir mode=04777 uname=root",
            "bin/su type=file size=0 mode=04755 uid=0 gid=0"], fmt="pax"))
        # A file, then a directory of the same name, then a file inside it; and repeats.
        clash = work / "clash"
        clash.mkdir()
        (clash / "x").write_text("file\n")
        run("tar", "-cf", str(work / "clash.tar"), *env_tar, "x", cwd=clash)
        (clash / "x").unlink()
        (clash / "x").mkdir()
        (clash / "x" / "y").write_text("inner\n")
        run("tar", "-rf", str(work / "clash.tar"), *env_tar, "x", cwd=clash)
        run("tar", "-rf", str(work / "clash.tar"), *env_tar, "x/y", cwd=clash)
        put(t, "clash.tar", (work / "clash.tar").read_bytes())
        # A small bomb: more than the fuzz target's limits once decompressed.
        (work / "zeros").write_bytes(b"\0" * (2 << 20))
        run("tar", "-cf", str(work / "bomb.tar"), *env_tar, "zeros", cwd=work)
        put(t, "bomb.tar.zst", run("zstd", "-q", "-19", "-c", str(work / "bomb.tar")))
        put(t, "truncated.tar", (work / "ustar.tar").read_bytes()[:700])
        put(t, "not-an-archive", b"id,name\n1,a\n")


def main():
    # Inputs a fuzzer once failed on (regress-*) are kept as they are.
    for old in CORPUS.glob("fuzz_*/*"):
        if not old.name.startswith("regress-"):
            old.unlink()
    csv_seeds()
    manifest_seeds()
    config_seeds()
    path_seeds()
    archive_seeds()
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    count = sum(1 for p in CORPUS.rglob("*") if p.is_file())
    print(f"{count} seed files, {total} bytes, in {CORPUS}")


if __name__ == "__main__":
    sys.exit(main())
