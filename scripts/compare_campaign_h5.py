#!/usr/bin/env python3
"""Compare two pedisim campaign indexes and every run they link (independent of pedisim).

usage: compare_campaign_h5.py REFERENCE/campaign.h5 OTHER/campaign.h5

The run tables must agree in every column that describes the result (id, label, status,
config fingerprint, histories, error), the index attributes that describe the campaign
must be equal, and every done run's dose file (reached through the index's external link
/run/<id>) must be bit-identical to the reference's (scripts/compare_dose_h5.py rules).
Columns and attributes that describe how or where it was executed (wall time, the file
checksum, which holds the wall time, the campaign file's path and text) may differ.
Exit status 0 if equivalent, 1 otherwise.
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_dose_h5 import compare as compare_dose  # noqa: E402

EXECUTION_COLUMNS = {"wall_seconds", "checksum"}
EXECUTION_ATTRS = {"campaign_file", "campaign_toml", "base_config"}


def table(f):
    return {k: [x.decode() if isinstance(x, bytes) else x for x in f["runs"][k][()]]
            for k in f["runs"]}


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    ref, other = sys.argv[1], sys.argv[2]
    problems = []
    with h5py.File(ref, "r") as a, h5py.File(other, "r") as b:
        for k, v in a.attrs.items():
            if k in EXECUTION_ATTRS:
                continue
            w = b.attrs.get(k)
            if w is None or np.asarray(v).tobytes() != np.asarray(w).tobytes():
                problems.append(f"attribute {k}: {v!r} vs {w!r}")
        ta, tb = table(a), table(b)
        if sorted(ta) != sorted(tb):
            problems.append(f"run table columns differ: {sorted(set(ta) ^ set(tb))}")
        for col in sorted(set(ta) & set(tb) - EXECUTION_COLUMNS):
            if ta[col] != tb[col]:
                problems.append(f"run table column {col} differs: {ta[col]} vs {tb[col]}")
        done = [i for i, s in zip(ta["id"], ta["status"]) if s == "done"]
        for run_id in done:
            if f"run/{run_id}" not in a or f"run/{run_id}" not in b:
                problems.append(f"/run/{run_id}: link missing or dangling")
                continue
            pa, pb = a[f"run/{run_id}"].file.filename, b[f"run/{run_id}"].file.filename
            for p in compare_dose(pa, pb):
                problems.append(f"{run_id}: {p}")
    if problems:
        print(f"compare_campaign_h5: {other} differs from {ref}:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print(f"compare_campaign_h5: {other} is equivalent to {ref} ({len(done)} done runs "
          "bit-identical)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
