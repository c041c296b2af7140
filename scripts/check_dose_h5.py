#!/usr/bin/env python3
"""Check a pedisim dose output file (HDF5 layout 1.x, see docs/formats.md) with h5py.

Usage: python scripts/check_dose_h5.py OUT.h5 [--quiet]

Verifies the layout (datasets, shapes, dtypes, units attributes, root and /summary
attributes) and the physics bookkeeping:

- relative_uncertainty is NaN exactly where energy_deposit_mev == 0, finite >= 0 elsewhere;
- energy_deposit_mev and dose_gy are finite and >= 0;
- the organ columns have equal lengths, mass_kg >= 0 (0 for a vacuum label), labels are unique;
- emitted_energy_mev == deposited_energy_mev + escaped_energy_mev (relative 1e-9);
- sum(energy_deposit_mev) == deposited_energy_mev / histories (relative 1e-6; the voxel
  tally is fixed-point).

Prints a short summary and exits 0 if every check passes; otherwise prints every failure
and exits 1 (2 if the file cannot be opened or h5py/numpy are missing).
"""

import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover
    print(f"check_dose_h5: needs h5py and numpy: {e}", file=sys.stderr)
    sys.exit(2)

SUPPORTED_MAJOR = 1
KNOWN_MINOR = 0

VOXEL_F64 = [
    "/dose/energy_deposit_mev",
    "/dose/dose_gy",
    "/dose/relative_uncertainty",
    "/phantom/density_g_cm3",
]
VOXEL_INT = ["/phantom/labels"]
ORGAN_COLUMNS = [
    "label",
    "name",
    "material",
    "mass_kg",
    "energy_deposit_mev",
    "dose_gy",
    "relative_uncertainty",
]
ROOT_ATTRS = [
    "format_version",
    "pedisim_version",
    "seed",
    "histories",
    "threads",
    "wall_seconds",
    "voxel_size_mm",
    "origin_mm",
    "config_toml",
]
SUMMARY_ATTRS = [
    "emitted_energy_mev",
    "deposited_energy_mev",
    "escaped_energy_mev",
    "cutoff_energy_mev",
    "uncollided_escapes",
]


def as_str(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.shape == ():
        return as_str(v[()])
    return str(v)


def rel_close(a, b, rel):
    """|a - b| <= rel * max(|a|, |b|), exact equality for zeros."""
    scale = max(abs(a), abs(b))
    return abs(a - b) <= rel * scale if scale > 0 else a == b


class Checker:
    def __init__(self, path):
        self.path = path
        self.failures = []
        self.facts = {}

    def fail(self, msg):
        self.failures.append(msg)

    def check(self, f):
        self.check_root(f)
        shape = self.check_voxel_datasets(f)
        if shape is not None:
            self.check_voxel_values(f, shape)
        self.check_organs(f)
        self.check_summary(f)

    # -- root ------------------------------------------------------------------------
    def check_root(self, f):
        for name in ROOT_ATTRS:
            if name not in f.attrs:
                self.fail(f"root attribute '{name}' is missing")
        if "format_version" in f.attrs:
            v = as_str(f.attrs["format_version"])
            self.facts["format_version"] = v
            try:
                major, minor = (int(x) for x in v.split(".")[:2])
            except ValueError:
                self.fail(f"root attribute format_version = {v!r}: expected 'MAJOR.MINOR'")
            else:
                if major != SUPPORTED_MAJOR:
                    self.fail(
                        f"format_version {v}: this checker reads layout {SUPPORTED_MAJOR}.x"
                    )
                elif minor > KNOWN_MINOR:
                    print(
                        f"check_dose_h5: note: format_version {v} is newer than "
                        f"{SUPPORTED_MAJOR}.{KNOWN_MINOR}; checking the {SUPPORTED_MAJOR}.x core"
                    )
        for name in ("voxel_size_mm", "origin_mm"):
            if name in f.attrs:
                a = np.asarray(f.attrs[name], dtype=float)
                if a.shape != (3,) or not np.all(np.isfinite(a)):
                    self.fail(f"root attribute {name} = {a!r}: expected 3 finite numbers [mm]")
                elif name == "voxel_size_mm" and not np.all(a > 0):
                    self.fail(f"root attribute voxel_size_mm = {a!r}: expected positive sizes")
        for name in ("seed", "histories", "threads"):
            if name in f.attrs:
                v = f.attrs[name]
                if np.asarray(v).shape != () or not np.issubdtype(np.asarray(v).dtype, np.integer):
                    self.fail(f"root attribute {name} = {v!r}: expected a scalar integer")
        if "histories" in f.attrs:
            h = int(f.attrs["histories"])
            self.facts["histories"] = h
            if h <= 0:
                self.fail(f"root attribute histories = {h}: expected > 0")
        if "wall_seconds" in f.attrs:
            w = float(f.attrs["wall_seconds"])
            if not (np.isfinite(w) and w >= 0):
                self.fail(f"root attribute wall_seconds = {w}: expected finite >= 0")
        for name in ("config_toml", "pedisim_version"):
            if name in f.attrs and not isinstance(f.attrs[name], str):
                self.fail(f"root attribute {name}: expected a UTF-8 string, found {type(f.attrs[name])}")

    def expected_shape(self, f):
        """[nz, ny, nx] from dims_xyz if present, else None."""
        if "dims_xyz" in f.attrs:
            d = np.asarray(f.attrs["dims_xyz"])
            if d.shape != (3,) or not np.issubdtype(d.dtype, np.integer) or np.any(d <= 0):
                self.fail(f"root attribute dims_xyz = {d!r}: expected 3 positive integers")
                return None
            return (int(d[2]), int(d[1]), int(d[0]))
        return None

    # -- voxel datasets --------------------------------------------------------------
    def check_voxel_datasets(self, f):
        expected = self.expected_shape(f)
        shape = expected
        ok = True
        for name in VOXEL_F64 + VOXEL_INT:
            if name not in f:
                self.fail(f"dataset {name} is missing")
                ok = False
                continue
            ds = f[name]
            if not isinstance(ds, h5py.Dataset):
                self.fail(f"{name} is not a dataset")
                ok = False
                continue
            if ds.ndim != 3:
                self.fail(f"dataset {name} has shape {ds.shape}: expected 3-D [nz, ny, nx]")
                ok = False
                continue
            if shape is None:
                shape = ds.shape
            if ds.shape != shape:
                src = "dims_xyz" if expected is not None else "the other voxel datasets"
                self.fail(f"dataset {name} has shape {ds.shape}: expected {shape} (from {src})")
                ok = False
            if name in VOXEL_F64 and ds.dtype != np.float64:
                self.fail(f"dataset {name} has dtype {ds.dtype}: expected float64")
            if name in VOXEL_INT and not np.issubdtype(ds.dtype, np.integer):
                self.fail(f"dataset {name} has dtype {ds.dtype}: expected an integer type")
            if "units" not in ds.attrs:
                self.fail(f"dataset {name} has no 'units' attribute")
        if "voxel_size_mm" in f.attrs and shape is not None:
            if np.asarray(f.attrs["voxel_size_mm"]).shape != (3,):
                self.fail("voxel_size_mm does not have 3 entries for a 3-D grid")
        if shape is not None:
            self.facts["shape_zyx"] = tuple(shape)
        return shape if ok else None

    def check_voxel_values(self, f, shape):
        e_ds = f["/dose/energy_deposit_mev"]
        d_ds = f["/dose/dose_gy"]
        u_ds = f["/dose/relative_uncertainty"]
        rho_ds = f["/phantom/density_g_cm3"]
        nz = shape[0]
        step = max(1, (1 << 24) // max(1, shape[1] * shape[2]))  # ~128 MiB of f64 per slab
        total = 0.0
        max_dose = 0.0
        nonzero = 0
        first = {}

        def note(key, z0, mask):
            if key not in first and np.any(mask):
                idx = np.argwhere(mask)[0]
                first[key] = (int(idx[2]), int(idx[1]), int(idx[0]) + z0)

        for z0 in range(0, nz, step):
            z1 = min(nz, z0 + step)
            e = e_ds[z0:z1]
            d = d_ds[z0:z1]
            u = u_ds[z0:z1]
            rho = rho_ds[z0:z1]
            note("energy_bad", z0, ~(np.isfinite(e) & (e >= 0)))
            note("dose_bad", z0, ~(np.isfinite(d) & (d >= 0)))
            note("density_bad", z0, ~(np.isfinite(rho) & (rho >= 0)))
            zero = e == 0
            note("unc_not_nan", z0, zero & ~np.isnan(u))
            note("unc_bad", z0, ~zero & ~(np.isfinite(u) & (u >= 0)))
            total += float(np.sum(e, dtype=np.float64))
            max_dose = max(max_dose, float(np.nanmax(d)) if d.size else 0.0)
            nonzero += int(np.count_nonzero(e))
        messages = {
            "energy_bad": "energy_deposit_mev is negative or not finite",
            "dose_bad": "dose_gy is negative or not finite",
            "density_bad": "density_g_cm3 is negative or not finite",
            "unc_not_nan": "relative_uncertainty is not NaN where energy_deposit_mev == 0",
            "unc_bad": "relative_uncertainty is not finite >= 0 where energy_deposit_mev > 0",
        }
        for key, (ix, iy, iz) in first.items():
            self.fail(f"{messages[key]} (first at voxel (ix, iy, iz) = ({ix}, {iy}, {iz}))")
        self.facts["voxel_energy_sum_mev_per_history"] = total
        self.facts["max_dose_gy_per_history"] = max_dose
        self.facts["voxels_with_deposit"] = nonzero

    # -- organs ----------------------------------------------------------------------
    def check_organs(self, f):
        if "organs" not in f or not isinstance(f["organs"], h5py.Group):
            self.fail("group /organs is missing")
            return
        g = f["organs"]
        lengths = {}
        for c in ORGAN_COLUMNS:
            if c not in g:
                self.fail(f"organ column /organs/{c} is missing")
                continue
            ds = g[c]
            if ds.ndim != 1:
                self.fail(f"organ column /organs/{c} has shape {ds.shape}: expected 1-D")
                continue
            lengths[c] = ds.shape[0]
            if "units" not in ds.attrs:
                self.fail(f"organ column /organs/{c} has no 'units' attribute")
            if c in ("name", "material") and h5py.check_string_dtype(ds.dtype) is None:
                self.fail(f"organ column /organs/{c} has dtype {ds.dtype}: expected strings")
            if c in ("mass_kg", "energy_deposit_mev", "dose_gy", "relative_uncertainty") and ds.dtype != np.float64:
                self.fail(f"organ column /organs/{c} has dtype {ds.dtype}: expected float64")
            if c == "label" and not np.issubdtype(ds.dtype, np.integer):
                self.fail(f"organ column /organs/label has dtype {ds.dtype}: expected integers")
        if len(set(lengths.values())) > 1:
            self.fail(f"organ columns have different lengths: {lengths}")
            return
        n = next(iter(lengths.values()), 0)
        self.facts["organs"] = n
        if "mass_kg" in lengths:
            m = g["mass_kg"][()]
            bad = np.flatnonzero(~(m >= 0))
            if bad.size:
                i = int(bad[0])
                label = g["label"][i] if "label" in g else "?"
                self.fail(f"/organs/mass_kg[{i}] (label {label}) = {m[i]}: expected >= 0")
        if "label" in lengths:
            labels = g["label"][()]
            if len(np.unique(labels)) != len(labels):
                self.fail("/organs/label has duplicate labels")
        for c in ("energy_deposit_mev", "dose_gy"):
            if c in lengths:
                v = g[c][()]
                if np.any(~(np.isfinite(v) & (v >= 0))):
                    self.fail(f"/organs/{c} has negative or non-finite values")

    # -- summary ---------------------------------------------------------------------
    def check_summary(self, f):
        if "summary" not in f or not isinstance(f["summary"], h5py.Group):
            self.fail("group /summary is missing")
            return
        a = f["summary"].attrs
        vals = {}
        for name in SUMMARY_ATTRS:
            if name not in a:
                self.fail(f"/summary attribute '{name}' is missing")
            else:
                try:
                    vals[name] = float(a[name])
                except (TypeError, ValueError):
                    self.fail(f"/summary attribute {name} = {a[name]!r}: expected a number")
        em = vals.get("emitted_energy_mev")
        dep = vals.get("deposited_energy_mev")
        esc = vals.get("escaped_energy_mev")
        if None not in (em, dep, esc):
            self.facts["emitted_energy_mev"] = em
            if not rel_close(em, dep + esc, 1e-9):
                self.fail(
                    f"energy balance: emitted_energy_mev = {em!r} but deposited + escaped = "
                    f"{dep!r} + {esc!r} = {dep + esc!r} (relative difference "
                    f"{abs(em - dep - esc) / max(abs(em), 1e-300):.3e} > 1e-9)"
                )
        h = self.facts.get("histories")
        total = self.facts.get("voxel_energy_sum_mev_per_history")
        if dep is not None and h and total is not None:
            per_history = dep / h
            if not rel_close(total, per_history, 1e-6):
                self.fail(
                    f"sum(energy_deposit_mev) = {total!r} MeV per history but "
                    f"deposited_energy_mev / histories = {per_history!r} (relative difference "
                    f"{abs(total - per_history) / max(abs(per_history), 1e-300):.3e} > 1e-6)"
                )


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    quiet = "--quiet" in argv
    if len(args) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path = args[0]
    checker = Checker(path)
    try:
        with h5py.File(path, "r") as f:
            checker.check(f)
    except OSError as e:
        print(f"check_dose_h5: FAIL: {path}: cannot open as HDF5: {e}", file=sys.stderr)
        return 2
    facts = checker.facts
    if checker.failures:
        print(f"check_dose_h5: FAIL: {path}: {len(checker.failures)} problem(s):", file=sys.stderr)
        for msg in checker.failures:
            print(f"  - {msg}", file=sys.stderr)
        return 1
    if not quiet:
        nz, ny, nx = facts.get("shape_zyx", (0, 0, 0))
        print(
            f"check_dose_h5: OK: {path}: format {facts.get('format_version')}, "
            f"grid {nx}x{ny}x{nz} (x,y,z), {facts.get('histories')} histories, "
            f"{facts.get('organs')} organs, {facts.get('voxels_with_deposit')} voxels with deposit, "
            f"sum(E) = {facts.get('voxel_energy_sum_mev_per_history'):.6g} MeV/history, "
            f"max dose = {facts.get('max_dose_gy_per_history'):.6g} Gy/history"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
