"""The benchmark's data sets, generated deterministically (fixed seeds): the same arguments
give the same bytes on every machine.

- the enterprise table (scripts/make-sample-data.py): full.csv with N rows and schema.json;
- upserts.csv: an incremental batch of U rows for that table, nine in ten updating existing
  rows (spread over the whole table, in no particular order) and one in ten adding new ones;
- a folder of files with Chinese names in nested directories: three in four are
  incompressible (like scans, PDFs and images), one in four is Chinese text.

Python 3 standard library only.
"""

import csv
import hashlib
import importlib.util
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "scripts" / "make-sample-data.py"


def _sample_module():
    spec = importlib.util.spec_from_file_location("make_sample_data", SAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stamp(params):
    """What a data folder was made from: the parameters and the generators' source."""
    h = hashlib.sha256()
    for path in (SAMPLE, Path(__file__)):
        h.update(path.read_bytes())
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()


def _cached(folder, params):
    stamp = folder / ".stamp"
    return stamp.exists() and stamp.read_text() == _stamp(params)


def _done(folder, params):
    (folder / ".stamp").write_text(_stamp(params))


def table(folder, rows):
    """full.csv (rows enterprise registrations) and schema.json in folder."""
    folder = Path(folder)
    params = {"table": rows}
    if _cached(folder, params):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(SAMPLE), "--out", str(folder), "--rows", str(rows)],
                   check=True)
    _done(folder, params)
    return folder


def upserts(folder, rows, count):
    """upserts.csv: count U rows for a table of `rows` rows (ids 1..rows)."""
    folder = Path(folder)
    params = {"upserts": count, "of": rows}
    if _cached(folder, params):
        return folder / "upserts.csv"
    folder.mkdir(parents=True, exist_ok=True)
    sample = _sample_module()
    rng = random.Random(20261201)
    new = count // 10
    existing = min(count - new, rows)
    ids = rng.sample(range(1, rows + 1), existing) + list(range(rows + 1, rows + 1 + new))
    rng.shuffle(ids)
    path = folder / "upserts.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["_op"] + sample.COLUMNS)
        for i in ids:
            sample.write_row(w, sample.enterprise(rng, i, version=2), "U")
    _done(folder, params)
    return path


DISTRICTS = ["文峰区", "北关区", "殷都区", "龙安区", "林州市", "安阳县", "汤阴县", "滑县", "内黄县"]
KINDS = [("不动产登记扫描件", ".pdf"), ("宗地图", ".png"), ("权属证明", ".jpg"),
         ("测绘成果", ".dat")]
TEXT = "宗地编号 {code}，坐落于河南省安阳市{district}，权利人已按规定办理登记手续。\n"


def folder_tree(folder, files, total_bytes):
    """A tree of `files` files totalling about `total_bytes` bytes under folder/tree;
    returns (tree path, file count, byte count)."""
    folder = Path(folder)
    params = {"files": files, "bytes": total_bytes}
    tree = folder / "tree"
    meta = folder / "tree.json"
    if _cached(folder, params) and meta.exists():
        m = json.loads(meta.read_text())
        return tree, m["files"], m["bytes"]
    if tree.exists():
        subprocess.run(["rm", "-rf", str(tree)], check=True)
    tree.mkdir(parents=True)
    rng = random.Random(20261202)
    mean = max(1, total_bytes // max(files, 1))
    # Sizes spread from a twentieth of the mean to four times it, scaled to the total.
    raw = [rng.uniform(0.05, 1.0) ** 2 * 4 * mean + 64 for _ in range(files)]
    scale = total_bytes / sum(raw)
    sizes = [max(16, int(x * scale)) for x in raw]
    written = 0
    for i, size in enumerate(sizes):
        district = DISTRICTS[i % len(DISTRICTS)]
        year = 2015 + (i // 7) % 11
        kind, ext = KINDS[i % len(KINDS)] if i % 4 else ("登记簿", ".txt")
        d = tree / district / f"{year}年" / f"第{(i // 50) % 40 + 1:02d}卷"
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{kind}-{i + 1:05d}{ext}"
        if ext == ".txt":
            line = TEXT.format(code=f"4105{i:08d}", district=district).encode()
            data = (line * (size // len(line) + 1))[:size]
        else:
            data = rng.randbytes(size)
        path.write_bytes(data)
        written += len(data)
    meta.write_text(json.dumps({"files": files, "bytes": written}))
    _done(folder, params)
    return tree, files, written


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--upserts", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--folder-mb", type=int, default=500)
    a = ap.parse_args()
    table(a.out / "table", a.rows)
    upserts(a.out / "upserts", a.rows, a.upserts)
    print(folder_tree(a.out / "folder", a.files, a.folder_mb * 1_000_000))
