#!/usr/bin/env python3
"""Are two results databases of one spec, run by two builds, the same bit for bit? (tools/sweep-old-new.sh)

Usage: tools/compare-results.py OLD_DB NEW_DB

Compares every result table row by row, floats exactly: the checkpoints by sha256 and size, the step metrics, final
metrics, task and item results, routing statistics, expert usage, co-activation, token classes, words and token
routes. Timings, throughput and peak memory are left out (metrics whose key names seconds, tokens_per_second or
peak_memory, and the steps' wall_seconds): they differ between any two runs. Prints one line per table, and the keys
that differ where a table has them. Exit status 0 when every table is equal, 1 when one differs, 2 on bad usage.
Standard library only (sqlite3), so that it runs wherever `make setup` ran.
"""
import collections
import os
import sqlite3
import sys

# Machine-dependent by nature: excluded wherever a table has a key column.
TIMING = ("seconds", "tokens_per_second", "peak_memory")

# table: (columns compared, the column that names a metric or None)
TABLES = {
    "artifacts": ("job_id, kind, sha256, size", None),
    "metrics": ("job_id, phase, key, step, value", "key"),
    "final_metrics": ("run_id, key, value", "key"),
    "task_results": ("*", None),
    "item_results": ("*", None),
    "routing_stats": ("*", None),
    "expert_usage": ("*", None),
    "coactivation": ("*", None),
    "token_class_usage": ("*", None),
    "task_class_usage": ("*", None),
    "word_usage": ("*", None),
    "token_routes": ("*", None),
}


def rows(db, table, columns, key):
    """(column names, rows as a multiset), or None where this database has no such table (an older schema)."""
    if not db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone():
        return None
    where = ""
    if key:
        where = " WHERE " + " AND ".join(f"{key} NOT LIKE '%{t}%'" for t in TIMING)
    cur = db.execute(f"SELECT {columns} FROM {table}{where}")
    names = [d[0] for d in cur.description]
    return names, collections.Counter(tuple(r) for r in cur)


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    for path in argv[1:]:
        if not os.path.isfile(path):
            print(f"error: no results database at {path}", file=sys.stderr)
            return 2
    try:
        return compare(*(sqlite3.connect(f"file:{p}?mode=ro", uri=True) for p in argv[1:]))
    except sqlite3.Error as e:
        print(f"error: {' or '.join(argv[1:])}: {e}", file=sys.stderr)
        return 2


def compare(old, new):
    same = True
    for table, (columns, key) in TABLES.items():
        found = rows(old, table, columns, key), rows(new, table, columns, key)
        if None in found:
            same = False
            print(f"{table}: only in the {'new' if found[0] is None else 'old'} database's schema")
            continue
        (names, a), (_, b) = found
        only_old, only_new = a - b, b - a
        differing = sum(only_old.values()) + sum(only_new.values())
        line = f"{table}: {sum(a.values())} and {sum(b.values())} rows"
        if differing == 0:
            print(line + ", equal")
            continue
        same = False
        line += f", {sum(only_old.values())} only in the old, {sum(only_new.values())} only in the new"
        if key:
            k = names.index(key)
            keys = sorted({r[k] for r in list(only_old) + list(only_new)})
            line += ": " + ", ".join(keys)
        print(line)
    print("bit for bit (timings aside)" if same else "DIFFERENT")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
