#!/usr/bin/env python3
"""Generates the demo's sample resources: enterprise registrations (a full batch and an
incremental one) as CSV with the table schema, and a folder of files.

Deterministic (fixed seed), so every demo run publishes the same bytes."""
import argparse
import csv
import json
import os
import random

CITIES = ["文峰区", "北关区", "殷都区", "龙安区", "林州市", "安阳县", "汤阴县", "滑县", "内黄县"]
ROADS = ["人民大道", "文明大道", "中华路", "红旗路", "解放大道", "光明路", "德隆街", "永明路"]
WORDS = ["华夏", "中原", "殷商", "甲骨", "红旗渠", "太行", "洹水", "鼎盛", "万家", "恒通", "金桥",
         "福瑞", "瑞丰", "宏图", "博远", "安泰", "嘉禾", "兴隆", "信达", "长城"]
TRADES = ["科技", "商贸", "农业", "建筑工程", "食品", "物流", "文化传媒", "医药", "机械制造", "餐饮"]
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "农民专业合作社", "个体工商户"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
STATUSES = ["存续", "在业", "吊销", "注销", "迁出"]

SCHEMA = {
    "name": "ent_registration",
    "columns": [
        {"name": "id", "type": "bigint", "nullable": False},
        {"name": "uscc", "type": "char(18)", "nullable": False},
        {"name": "name", "type": "varchar(200)", "nullable": False},
        {"name": "legal_rep", "type": "varchar(50)"},
        {"name": "reg_capital", "type": "decimal(18,2)"},
        {"name": "established", "type": "date"},
        {"name": "address", "type": "varchar(300)"},
        {"name": "industry", "type": "varchar(100)"},
        {"name": "status", "type": "varchar(20)"},
        {"name": "updated_at", "type": "timestamp"},
    ],
    "primary_key": ["id"],
}
COLUMNS = [c["name"] for c in SCHEMA["columns"]]


def enterprise(rng, i, version=0):
    trade = rng.choice(TRADES)
    name = f"安阳市{rng.choice(WORDS)}{rng.choice(WORDS)}{trade}{rng.choice(FORMS)}"
    if i % 997 == 0:  # quotes and commas, as real registrations sometimes have
        name = f'安阳市"{rng.choice(WORDS)}"{trade},分公司'
    capital = None if i % 101 == 0 else f"{rng.randint(1, 50000000)}.{rng.randint(0, 99):02d}"
    year = rng.randint(1985, 2026)
    address = (f"河南省安阳市{rng.choice(CITIES)}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
               + ("\n(临街商铺)" if i % 1999 == 0 else ""))
    return {
        "id": i,
        "uscc": f"91410500{i:09d}X",
        "name": name,
        "legal_rep": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 2 else ""),
        "reg_capital": capital,
        "established": f"{year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "address": address,
        "industry": trade,
        "status": STATUSES[(i + version) % len(STATUSES)] if i % 13 == 0 else "存续",
        "updated_at": f"2026-11-{20 + version:02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00",
    }


def write_row(writer, row, op=None):
    values = ["" if row[c] is None else row[c] for c in COLUMNS]
    writer.writerow(([op] if op else []) + values)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=100000)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(20261127)

    with open(os.path.join(args.out, "schema.json"), "w", encoding="utf-8") as f:
        json.dump(SCHEMA, f, ensure_ascii=False, indent=2)

    # csv.writer quotes fields with commas, quotes and line breaks (RFC 4180); NULL is written
    # as an unquoted empty field.
    with open(os.path.join(args.out, "full.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for i in range(1, args.rows + 1):
            write_row(w, enterprise(rng, i))

    with open(os.path.join(args.out, "incremental.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["_op"] + COLUMNS)
        for i in range(1, min(1000, args.rows) + 1):
            write_row(w, enterprise(rng, i * 7 % args.rows + 1, version=1), "U")
        for i in range(args.rows - 199, args.rows + 1):
            w.writerow(["D", i] + [""] * (len(COLUMNS) - 1))
        for i in range(args.rows + 1, args.rows + 501):
            write_row(w, enterprise(rng, i, version=1), "U")

    files = os.path.join(args.out, "files")
    for d in range(3):
        os.makedirs(os.path.join(files, f"{2024 + d}年"), exist_ok=True)
        for k in range(12):
            path = os.path.join(files, f"{2024 + d}年", f"不动产登记附件-{k + 1:02d}.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write(f"宗地编号 4105{d:02d}{k:06d}\n" * rng.randint(10, 200))
    with open(os.path.join(files, "说明.txt"), "w", encoding="utf-8") as f:
        f.write("不动产登记附件样例\n")


if __name__ == "__main__":
    main()
