#!/usr/bin/env python3
"""Bit-for-bit comparison of two pedisim dose files (independent of pedisim's own reader).

usage: compare_dose_h5.py REFERENCE.h5 OTHER.h5 [OTHER.h5 ...]

Every dataset (dose, phantom, organs) must have the same shape, type and bytes (NaN where
the reference has NaN), and every /summary attribute that is a physics counter must be
equal. Attributes that describe how the run was executed (wall time, rates, threads,
MPI ranks and library, batches restored from a checkpoint) are allowed to differ. Exit status 0 if identical, 1 otherwise.
"""
import sys

import h5py
import numpy as np

EXECUTION_ATTRS = {"wall_seconds", "histories_per_second", "threads", "mpi_ranks",
                   "mpi_library", "resumed_batches", "communication_seconds", "config_toml", "config_file", "hdf5_library_version"}


def datasets(f):
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def compare(ref_path, other_path):
    problems = []
    with h5py.File(ref_path, "r") as a, h5py.File(other_path, "r") as b:
        da, db = datasets(a), datasets(b)
        if sorted(da) != sorted(db):
            problems.append(f"dataset names differ: {sorted(set(da) ^ set(db))}")
        for name in sorted(set(da) & set(db)):
            x, y = np.asarray(da[name]), np.asarray(db[name])
            if x.shape != y.shape or x.dtype != y.dtype:
                problems.append(f"{name}: shape/type {x.shape} {x.dtype} vs {y.shape} {y.dtype}")
            elif x.dtype.kind in "fiu" and x.tobytes() != y.tobytes():
                n = int(np.sum(x.view(np.uint8) != y.view(np.uint8)))
                problems.append(f"{name}: {n} bytes differ")
            elif x.dtype.kind not in "fiu" and list(x.ravel()) != list(y.ravel()):
                problems.append(f"{name}: values differ")
        for obj in ["summary", "/"]:
            for k, v in a[obj].attrs.items():
                if k in EXECUTION_ATTRS:
                    continue
                w = b[obj].attrs.get(k)
                if w is None or np.asarray(v).tobytes() != np.asarray(w).tobytes():
                    problems.append(f"{obj} attribute {k}: {v!r} vs {w!r}")
    return problems


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    bad = False
    for other in sys.argv[2:]:
        p = compare(sys.argv[1], other)
        if p:
            bad = True
            print(f"compare_dose_h5: {other} differs from {sys.argv[1]}:", file=sys.stderr)
            for line in p:
                print("  " + line, file=sys.stderr)
        else:
            print(f"compare_dose_h5: {other} is bit-identical to {sys.argv[1]}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
