#!/usr/bin/env python3
"""Regenerate every generated physics table of pedisim under data/.

Outputs (formats documented in data/README.md):
  data/photon/xcom_elements.dat         NIST XCOM 3.1 element cross sections, Z = 1..100
  data/photon/scattering_functions.dat  xraylib (EPDL97) S(x,Z) and F(x,Z), Z = 1..100
  data/nuclides/icrp107.toml            ICRP Publication 107 emission data (selected nuclides)
  data/materials.toml                   tissue and reference material compositions
  data/electron/shells.dat              atomic shell occupations and binding energies, Z = 1..99

Inputs: the NIST XCOM MDATX3.ZZZ files (--xcom-dir), the xraylib and icrp107-database
PyPI packages (versions pinned in requirements.txt) and the material table below.
The output is deterministic: no dates, no host names, fixed ordering and formatting.
After writing, the script prints consistency checks (it does not fail on warnings).
"""
import argparse
import json
import math
import pathlib
import tomllib
from importlib.metadata import version

import numpy as np
import xraylib
import icrp107_database

DATA = pathlib.Path(__file__).resolve().parent.parent   # .../data
REPO = DATA.parent
SYMBOLS = """H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn
Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm
Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu
Am Cm Bk Cf Es Fm""".split()
Z_OF = {s: i + 1 for i, s in enumerate(SYMBOLS)}
AVOGADRO_BARN = 0.60221367      # N_A * 1e-24 cm2/barn, as used by XCOM


# ----------------------------------------------------------------------------- shells
SHELL_NAMES = """K L1 L2 L3 M1 M2 M3 M4 M5 N1 N2 N3 N4 N5 N6 N7 O1 O2 O3 O4 O5 O6 O7
P1 P2 P3 P4 P5 Q1 Q2 Q3""".split()

# First ionisation energies of the neutral atoms [eV], NIST Atomic Spectra Database
# (Kramida, Ralchenko, Reader et al., NIST ASD v5), used only for the valence subshells whose
# binding energy xraylib does not tabulate (EdgeEnergy missing or 0).
IONISATION_EV = {
    19: 4.3407, 20: 6.1132, 21: 6.5615, 22: 6.8281, 23: 6.7462, 24: 6.7665, 25: 7.4340,
    26: 7.9025, 27: 7.8810, 28: 7.6399, 29: 7.7264, 30: 9.3942, 37: 4.1771, 38: 5.6949,
    39: 6.2173, 40: 6.6339, 41: 6.7589, 42: 7.0924, 43: 7.1194, 44: 7.3605, 45: 7.4589,
    47: 7.5762, 55: 3.8939, 56: 5.2117, 57: 5.5769, 58: 5.5386, 59: 5.4730, 60: 5.5250,
    61: 5.5820, 62: 5.6437, 63: 5.6704, 64: 6.1498, 65: 5.8638, 66: 5.9391, 67: 6.0215,
    68: 6.1077, 69: 6.1843, 70: 6.2542, 71: 5.4259, 72: 6.8251, 73: 7.5496, 74: 7.8640,
    75: 7.8335, 76: 8.4382, 78: 8.9588, 79: 9.2255, 80: 10.4375, 81: 6.1082, 87: 4.0727,
    88: 5.2784, 89: 5.3802, 90: 6.3067, 91: 5.8900, 92: 6.1941, 93: 6.2657, 94: 6.0260,
    95: 5.9738, 96: 5.9914, 97: 6.1978, 98: 6.2817, 99: 6.3676,
}


def write_shells(out):
    """Occupation and binding energy of every occupied subshell (for the Sternheimer
    density-effect calculation of electron stopping powers)."""
    lines = [
        f"# Atomic subshells for Z = 1..99: occupation (electrons) and binding energy [eV].",
        f"# Source: xraylib {version('xraylib')} (Schoonjans et al., Spectrochim. Acta B 66 (2011) 776):",
        "#   ElectronConfig(Z, shell) for occupations (fractional for open p/d/f subshells) and",
        "#   EdgeEnergy(Z, shell) for binding energies (x 1000, keV -> eV). Where xraylib has no",
        "#   binding energy for a valence subshell it is replaced by the first ionisation energy",
        "#   of the atom (NIST Atomic Spectra Database), marked with '*' after the name.",
        "# Z = 100 (Fm) is absent: xraylib has no electron configuration for it.",
        "# Format: 'element Z N' then N lines 'SHELL occupation binding_ev'.",
    ]
    for z in range(1, 100):
        rows = []
        for name in SHELL_NAMES:
            sh = getattr(xraylib, name + "_SHELL")
            try:
                occ = xraylib.ElectronConfig(z, sh)
            except Exception:
                occ = 0.0
            if occ <= 0:
                continue
            try:
                e_ev = xraylib.EdgeEnergy(z, sh) * 1e3
            except Exception:
                e_ev = 0.0
            mark = ""
            if e_ev <= 0:
                e_ev, mark = IONISATION_EV[z], "*"
            rows.append(f"{name}{mark} {occ:.6g} {e_ev:.6g}")
        total = sum(float(r.split()[1]) for r in rows)
        assert abs(total - z) < 1e-3 * z + 1e-5, (z, total)
        lines.append(f"element {z} {len(rows)}")
        lines.extend(rows)
    out.write_text("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- XCOM
def read_mdatx3(path):
    """Parse one MDATX3.ZZZ file (see /work/shared/README.md); returns a dict."""
    tok = path.read_text().split()
    z, ne, n = int(tok[0]), int(tok[2]), int(tok[3])
    # The header weight is a float32 printed with 6 decimals (207.199997); keep the
    # shortest decimal that round-trips through float32 (207.2).
    weight = np.format_float_positional(np.float32(tok[1]), unique=True, trim="-")
    i = 4
    edges = list(zip(tok[i + ne:i + 2 * ne], tok[i + 2 * ne:i + 3 * ne])) if ne else []
    i += 3 * ne
    cols = [[float(t) for t in tok[i + k * n:i + (k + 1) * n]] for k in range(6)]
    for t in tok[i:i + 6 * n]:       # %.6e must reproduce every XCOM number exactly
        assert float(f"{float(t):.6e}") == float(t), (path, t)
    e = cols[0]
    assert e[0] == 1e3 and e[-1] == 1e11 and all(a <= b for a, b in zip(e, e[1:])), path
    assert min(min(c) for c in cols[1:]) >= 0.0, path
    # Tokens after the 6 blocks (photoelectric values below each edge, used by XCOM's
    # own interpolation) are not needed: the main grid already brackets every edge.
    return dict(z=z, weight=weight, n=n, edges=edges, rows=list(zip(*cols)))


def write_xcom(xcom_dir, out):
    lines = [
        "# Photon interaction cross sections of the elements Z = 1..100",
        "# Source: NIST XCOM version 3.1 (M.J. Berger, J.H. Hubbell, S.M. Seltzer, J. Chang,",
        "#   J.S. Coursey, R. Sukumar, D.S. Zucker, K. Olsen), NIST Standard Reference Database 8",
        "#   (XGAM), element files MDATX3.001..MDATX3.100. Numbers copied unchanged (all digits kept).",
        "# Block format:  element Z SYMBOL ATOMIC_WEIGHT_G_MOL N   then N lines:",
        "#   energy_ev coherent_barn incoherent_barn photoelectric_barn pair_nuclear_barn pair_electron_barn",
        "# Units: photon energy in eV; cross sections in barn/atom (1 b = 1e-24 cm2).",
        "# Atomic weight: XCOM file header value (g/mol). mu/rho [cm2/g] = sigma [b] * 0.60221367 / A.",
        "# Grid: XCOM's 1 keV..100 GeV grid with every absorption edge listed twice: just below",
        "#   and at the edge, where the photoelectric cross section jumps. In MDATX3 the",
        "#   below-edge point is E_edge - 0.1 eV (e.g. Al K: 1559.5 and 1559.6 eV); it is an exact",
        "#   duplicate only where the 6-digit print rounds both alike (K edges of Z >= 87).",
        "#   Energies are non-decreasing. Interpolate log-log per process, never across an edge.",
        "# The '# edges' comment above each block lists XCOM's edges (label:energy_ev).",
    ]
    for z in range(1, 101):
        d = read_mdatx3(xcom_dir / f"MDATX3.{z:03d}")
        assert d["z"] == z
        if d["edges"]:
            lines.append("# edges " + " ".join(f"{lab}:{en}" for lab, en in d["edges"]))
        lines.append(f"element {z} {SYMBOLS[z - 1]} {d['weight']} {d['n']}")
        lines += [" ".join(f"{v:.6e}" for v in row) for row in d["rows"]]
    out.write_text("\n".join(lines) + "\n")


def read_xcom_table(path):
    """Read back xcom_elements.dat: {symbol: (A, energies[N], sigma[N,5])}."""
    tab, lines = {}, [l for l in path.read_text().splitlines() if l and not l.startswith("#")]
    i = 0
    while i < len(lines):
        _, _, sym, a, n = lines[i].split()
        block = np.array([[float(v) for v in l.split()] for l in lines[i + 1:i + 1 + int(n)]])
        tab[sym] = (float(a), block[:, 0], block[:, 1:])
        i += 1 + int(n)
    return tab


def mu_rho(tab, composition, e_ev):
    """Total mass attenuation coefficient (with coherent) in cm2/g, log-log per process."""
    total = 0.0
    for sym, w in composition.items():
        a, e, s = tab[sym]
        j = min(max(int(np.searchsorted(e, e_ev, side="right")) - 1, 0), len(e) - 2)
        e0, e1 = e[j], e[j + 1]
        t = math.log(e_ev / e0) / math.log(e1 / e0)
        sig = 0.0
        for p0, p1 in zip(s[j], s[j + 1]):
            sig += math.exp((1 - t) * math.log(p0) + t * math.log(p1)) if p0 > 0 and p1 > 0 \
                else p0 + t * (p1 - p0)
        total += w * sig * AVOGADRO_BARN / a
    return total


# ----------------------------------------------------------------------------- xraylib
FF_KNOTS = np.array([10.0, 15.0, 20.0, 50.0, 80.0, 100.0, 1000.0])   # EPDL97 x grid above 10/A
def write_scattering(out):
    x = [0.0] + [float(f"{10 ** (-3 + 6 * i / 399):.6e}") for i in range(400)]
    xs = np.array(x)
    zmax = 98          # xraylib 4.3.0 tabulates SF_Compt / FF_Rayl for Z <= 98 only
    s_tab, f_tab, fixes = {}, {}, []
    for z in range(1, zmax + 1):
        # Python signature is SF_Compt(Z, q) and FF_Rayl(Z, q); both raise for q <= 0.
        s = np.array([0.0] + [xraylib.SF_Compt(z, q) for q in x[1:]])
        f = np.array([float(z)] + [xraylib.FF_Rayl(z, q) for q in x[1:]])
        # Above x = 10 the EPDL97 F table has only the knots FF_KNOTS, and xraylib's cubic
        # spline between them oscillates (even F < 0 for Z ~ 86): use log-log interpolation
        # between xraylib's values at those knots instead.
        big = xs > FF_KNOTS[0]
        log_fk = np.log([xraylib.FF_Rayl(z, k) for k in FF_KNOTS])
        f[big] = np.exp(np.interp(np.log(xs[big]), np.log(FF_KNOTS), log_fk))
        # S overshoots Z by up to 2e-4 Z (spline): impose the physical monotonicity.
        s2 = np.minimum(np.maximum.accumulate(s), z)
        f2 = np.clip(np.minimum.accumulate(f), 0.0, z)
        fixes.append((z, np.abs(s2 - s).max() / z, np.abs(f2 - f).max() / z))
        s_tab[z], f_tab[z] = s2, f2
    for z in range(zmax + 1, 101):   # Es, Fm: scaled from Cf (no tissue relevance)
        s_tab[z], f_tab[z] = s_tab[zmax] * z / zmax, f_tab[zmax] * z / zmax
    fmt = lambda arr: " ".join(f"{v:.6e}" for v in arr)
    lines = [
        "# Incoherent scattering function S(x,Z) and atomic form factor F(x,Z), Z = 1..100",
        f"# Source: xraylib {version('xraylib')} (T. Schoonjans et al., Spectrochim. Acta B 66 (2011) 776),",
        "#   functions SF_Compt(Z, x) and FF_Rayl(Z, x), interpolating the EPDL97 tables",
        "#   (D.E. Cullen et al., UCRL-50400 Vol. 6 Rev. 5, 1997), which are based on",
        "#   J.H. Hubbell et al., J. Phys. Chem. Ref. Data 4 (1975) 471.",
        "# x = sin(theta/2) / lambda in 1/Angstrom (theta: scattering angle, lambda: photon wavelength);",
        "#   x = E[keV] * sin(theta/2) / 12.39842. S and F are dimensionless (electrons).",
        "# x = 0: S = 0, F = Z (set here; xraylib rejects x = 0). Then 400 points log-spaced",
        "#   from 1e-3 to 1e3 1/Angstrom inclusive; xraylib is evaluated at the printed x values.",
        "# Post-processing: for x > 10 the F table of EPDL97 has knots only at 10, 15, 20, 50, 80,",
        "#   100, 1000 and xraylib's cubic spline between them oscillates (even below 0), so F there",
        "#   is log-log interpolated between xraylib's values at those knots. S is replaced by its",
        "#   running maximum capped at Z and F by its running minimum (removes spline overshoots,",
        "#   S > Z by at most 2.2e-4 Z). Z = 99, 100 are absent from xraylib: S and F of Cf",
        "#   (Z = 98) scaled by Z/98 (approximation; irrelevant for tissues).",
        "# Format: 'x_grid N' + one line of N values; then per Z: 'S Z' + N values, 'F Z' + N values.",
        f"x_grid {len(x)}", fmt(x)]
    for z in range(1, 101):
        lines += [f"S {z}", fmt(s_tab[z]), f"F {z}", fmt(f_tab[z])]
    out.write_text("\n".join(lines) + "\n")
    return x, s_tab, f_tab, fixes


# ----------------------------------------------------------------------------- ICRP 107
NUCLIDES = ["Tc-99m", "I-123", "I-124", "I-125", "I-131", "In-111", "Lu-177", "F-18", "Ga-67",
            "Ga-68", "Y-90", "Tl-201", "Cu-64", "Zr-89", "C-11", "N-13", "O-15", "Sm-153",
            "Re-186", "Re-188", "Sr-89", "Ho-166", "Rb-82", "Tb-161",
            # extras: calibration / emerging theranostic nuclides
            "Co-57", "Na-22", "Cu-67", "Sc-44", "Xe-133"]
TIME_UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
               "y": 365.25 * 86400.0}
KEYS = [("gamma", "gamma"), ("xray", "X"), ("auger", "auger"), ("internal_conversion", "IE"),
        ("beta_minus", "beta-"), ("beta_plus", "beta+"), ("alpha", "alpha"),
        ("beta_spectrum", "b-spectra")]


def load_icrp107(name):
    path = pathlib.Path(icrp107_database.__file__).parent / "icrp107" / f"{name}.json"
    with open(path) as fh:
        return json.loads(json.load(fh))     # each file holds a JSON-encoded string


def toml_pairs(pairs):
    if not pairs:
        return "[]"
    return "[\n" + "".join(f"  [{float(a)!r}, {float(b)!r}],\n" for a, b in pairs) + "]"


def write_icrp107(out):
    lines = [
        "# Radionuclide decay data: ICRP Publication 107, 'Nuclear Decay Data for Dosimetric",
        "#   Calculations' (K.F. Eckerman and A. Endo, Ann. ICRP 38(3), 2008).",
        f"# Transcribed from the PyPI package icrp107-database {version('icrp107-database')}"
        " (OpenGATE collaboration),",
        "#   files icrp107/<name>.json; numbers are written unchanged (Python repr of the source).",
        "# Keys (each array of [energy_mev, yield_per_decay] pairs; empty array if none):",
        "#   half_life_s          half-life in seconds (y = 365.25 d)",
        "#   gamma                gamma rays",
        "#   xray                 X-rays (fluorescence; includes very low-energy lines)",
        "#   auger                Auger electrons",
        "#   internal_conversion  internal-conversion electrons",
        "#   beta_minus           beta- branches: [MEAN energy of the branch, branch yield]",
        "#   beta_plus            beta+ branches: [MEAN energy of the branch, branch yield]",
        "#   alpha                alpha particles",
        "#   beta_spectrum        total beta spectrum (beta- and beta+ together):",
        "#                        [energy_mev, particles per MeV per decay]",
        "# Annihilation photons are not listed (ICRP 107 gives 2 x the beta+ yield at 0.511 MeV);",
        "#   the transport code creates them from the positrons. Their yield is in the comment.",
        "# Daughters are not included: each entry is the decay of that nuclide alone.",
    ]
    checks = []
    for name in NUCLIDES:
        d = load_icrp107(name)
        em = d["emissions"]
        assert d["name"] == name and d["time_unit"] in TIME_UNIT_S, name
        t_half = float(f"{d['half_life'] * TIME_UNIT_S[d['time_unit']]:.12g}")
        e_ph = sum(e * y for e, y in em["gamma"] + em["X"])
        n_ann = sum(y for _, y in em["annihilation"])
        lines += ["", f"# {name}: T1/2 = {d['half_life']} {d['time_unit']}; total photon energy per"
                  f" decay (gamma + xray) = {e_ph:.6g} MeV; annihilation photons per decay = {n_ann:.6g}",
                  f'[nuclide."{name}"]', f"half_life_s = {t_half!r}"]
        lines += [f"{key} = {toml_pairs(em[src])}" for key, src in KEYS]
        spec = np.array(em["b-spectra"], dtype=float).reshape(-1, 2)
        integral = float(np.sum(np.diff(spec[:, 0]) * (spec[1:, 1] + spec[:-1, 1]) / 2))
        n_beta = sum(y for _, y in em["beta-"] + em["beta+"])
        n_bplus = sum(y for _, y in em["beta+"])
        checks.append((name, t_half, e_ph, n_beta, integral, n_bplus, n_ann))
    out.write_text("\n".join(lines) + "\n")
    return checks


# ----------------------------------------------------------------------------- materials
ICRU44 = "ICRU Report 44 (1989), White, Woodard & Hubbell"
NIST_T2 = ICRU44 + "; as in NIST X-Ray Mass Attenuation Coefficients (Hubbell & Seltzer), Table 2"
ICRP110 = "ICRP Publication 110 (2009) Annex B (as transcribed in Geant4 example ICRP110_HumanPhantoms)"
# key: (description, density g/cm3, I in eV or None = Bragg additivity, source, composition in mass %)
MATERIALS = {
    "air": ("Dry air near sea level", 0.00120479, 85.7,
            "NIST ESTAR / XCOM 'Air, Dry (near sea level)'; I from ICRU Report 37",
            dict(C=0.0124, N=75.5268, O=23.1781, Ar=1.2827)),
    "water": ("Liquid water", 1.0, 75.0, "NIST ESTAR 'Water, liquid'; I from ICRU Report 37",
              dict(H=11.1894, O=88.8106)),
    "soft_tissue": ("Soft tissue (ICRU-44)", 1.06, None, NIST_T2,
                    dict(H=10.2, C=14.3, N=3.4, O=70.8, Na=0.2, P=0.3, S=0.3, Cl=0.2, K=0.3)),
    "lung": ("Lung tissue (ICRU-44), inflated healthy lung density", 0.26, None,
             NIST_T2 + " (composition); density 0.26 g/cm3 = ICRU 44 inflated lung (NIST lists the"
             " tissue at 1.05; the ICRP 110 voxel phantoms use 0.382 AM / 0.385 AF)",
             dict(H=10.3, C=10.5, N=3.1, O=74.9, Na=0.2, P=0.2, S=0.3, Cl=0.3, K=0.2)),
    "cortical_bone": ("Cortical bone (ICRU-44)", 1.92, None, NIST_T2,
                      dict(H=3.4, C=15.5, N=4.2, O=43.5, Na=0.1, Mg=0.2, P=10.3, S=0.3, Ca=22.5)),
    "spongiosa": ("Spongiosa, adult male lumbar spine (ICRP-110 medium)", 1.112, None,
                  ICRP110 + ", adult male medium 'Lumbar spine, spongiosa' (trabecular bone +"
                  " red/yellow marrow)",
                  dict(H=9.5, C=34.0, N=2.8, O=48.0, Na=0.1, P=1.8, S=0.3, Cl=0.2, K=0.1, Ca=3.2)),
    "red_marrow": ("Red (active) bone marrow (ICRU-44)", 1.03, None, ICRU44,
                   dict(H=10.5, C=41.4, N=3.4, O=43.9, P=0.1, S=0.2, Cl=0.2, K=0.2, Fe=0.1)),
    "yellow_marrow": ("Yellow (inactive) bone marrow (ICRU-44)", 0.98, None, ICRU44,
                      dict(H=11.5, C=64.4, N=0.7, O=23.1, Na=0.1, S=0.1, Cl=0.1)),
    "adipose": ("Adipose tissue (ICRU-44)", 0.95, None, NIST_T2,
                dict(H=11.4, C=59.8, N=0.7, O=27.8, Na=0.1, S=0.1, Cl=0.1)),
    "muscle": ("Skeletal muscle (ICRU-44)", 1.05, None, NIST_T2,
               dict(H=10.2, C=14.3, N=3.4, O=71.0, Na=0.1, P=0.2, S=0.3, Cl=0.1, K=0.4)),
    "brain": ("Brain, grey/white matter (ICRU-44)", 1.04, None, NIST_T2,
              dict(H=10.7, C=14.5, N=2.2, O=71.2, Na=0.2, P=0.4, S=0.2, Cl=0.3, K=0.3)),
    "blood": ("Whole blood (ICRU-44)", 1.06, None, NIST_T2,
              dict(H=10.2, C=11.0, N=3.3, O=74.5, Na=0.1, P=0.1, S=0.2, Cl=0.3, K=0.2, Fe=0.1)),
    "skin": ("Skin (ICRU-44)", 1.09, None, ICRU44,
             dict(H=10.0, C=20.4, N=4.2, O=64.5, Na=0.2, P=0.1, S=0.2, Cl=0.3, K=0.1)),
    "thyroid": ("Thyroid (ICRU-44), with iodine", 1.05, None, ICRU44,
                dict(H=10.4, C=11.9, N=2.4, O=74.5, Na=0.2, P=0.1, S=0.1, Cl=0.2, K=0.1, I=0.1)),
    "kidney": ("Kidney (ICRU-44)", 1.05, None, ICRU44,
               dict(H=10.3, C=13.2, N=3.0, O=72.4, Na=0.2, P=0.2, S=0.2, Cl=0.2, K=0.2, Ca=0.1)),
    "liver": ("Liver, healthy (ICRU-44)", 1.06, None, ICRU44,
              dict(H=10.2, C=13.9, N=3.0, O=71.6, Na=0.2, P=0.3, S=0.3, Cl=0.2, K=0.3)),
    "spleen": ("Spleen (ICRU-44)", 1.06, None, ICRU44,
               dict(H=10.3, C=11.3, N=3.2, O=74.1, Na=0.1, P=0.3, S=0.2, Cl=0.2, K=0.3)),
    "heart": ("Heart, healthy (ICRU-44)", 1.05, None, ICRU44,
              dict(H=10.4, C=13.9, N=2.9, O=71.8, Na=0.1, P=0.2, S=0.2, Cl=0.2, K=0.3)),
    "gi_tract": ("Gastrointestinal tract wall (ICRU-44)", 1.03, None, ICRU44,
                 dict(H=10.6, C=11.5, N=2.2, O=75.1, Na=0.1, P=0.1, S=0.1, Cl=0.2, K=0.1)),
    "bladder": ("Urinary bladder wall, empty (ICRU-44; same as ICRP-110 medium)", 1.04, None,
                ICRU44, dict(H=10.5, C=9.6, N=2.6, O=76.1, Na=0.2, P=0.2, S=0.2, Cl=0.3, K=0.3)),
    "breast": ("Breast, 50% adipose / 50% glandular (ICRU-44)", 1.02, None, NIST_T2,
               dict(H=10.6, C=33.2, N=3.0, O=52.7, Na=0.1, P=0.1, S=0.2, Cl=0.1)),
    "pmma": ("Polymethyl methacrylate (Lucite, Perspex), C5H8O2", 1.19, 74.0,
             "NIST ESTAR 'Polymethyl methacrylate'; I from ICRU Report 37",
             dict(H=8.0538, C=59.9848, O=31.9614)),
    "aluminium": ("Aluminium", 2.699, 166.0, "NIST ESTAR element 13; I from ICRU Report 37",
                  dict(Al=100.0)),
    "lead": ("Lead", 11.35, 823.0, "NIST ESTAR element 82; I from ICRU Report 37", dict(Pb=100.0)),
}
# ICRU Report 37 rules for I of compounds: condensed-phase values for H, C, N, O, F, Cl and
# 1.13 x the elemental value for all other elements. The values are an input table shared
# with the Rust code (data/electron/icru37_i_values.toml), not written here.
with open(DATA / "electron" / "icru37_i_values.toml", "rb") as _f:
    _ICRU37 = tomllib.load(_f)
assert _ICRU37["format"] == "pedisim-icru37-i-values/1"
I_CONDENSED = _ICRU37["condensed_ev"]
I_ELEMENT = _ICRU37["elemental_ev"]
I_COMPOUND_FACTOR = _ICRU37["compound_factor"]


def bragg_i(comp, weights):
    """Mean excitation energy (eV) by Bragg additivity, ICRU Report 37 rules."""
    num = den = 0.0
    for sym, w in comp.items():
        i_val = I_CONDENSED.get(sym) or I_COMPOUND_FACTOR * I_ELEMENT[sym]
        zw = w * Z_OF[sym] / weights[sym]
        num, den = num + zw * math.log(i_val), den + zw
    return round(math.exp(num / den), 1)


def write_materials(out, weights):
    lines = [
        "# Materials for pedisim (vacuum is built into the code and not listed here).",
        "# composition: MASS fractions by element symbol, from the publication named in 'source'",
        "#   (published in mass %, divided by 100). They sum to 1 within 1e-3 (rounding of the",
        "#   published values); the reader renormalises them to exactly 1.",
        "# density_g_cm3: mass density in g/cm3.",
        "# mean_excitation_ev: I-value in eV. Where 'source' says so it is tabulated (ICRU Report 37);",
        "#   otherwise Bragg additivity with the ICRU Report 37 rules (H 19.2, C 81, N 82, O 106,",
        "#   F 112, Cl 180 eV; other elements 1.13 x elemental I) using XCOM atomic weights, which",
        "#   reproduces NIST's Table 2 I-values for the ICRU-44 tissues (e.g. cortical bone 112.0).",
        "# Generated by data/scripts/generate_tables.py; edit the table there, not this file.",
    ]
    for key, (desc, rho, i_val, src, pct) in MATERIALS.items():
        comp = {s: round(v / 100.0, 8) for s, v in pct.items()}
        if i_val is None:
            i_val, src = bragg_i(comp, weights), src + "; I by Bragg additivity (ICRU Report 37 rules)"
        body = ", ".join(f"{s} = {v!r}" for s, v in comp.items())
        lines += ["", f"[material.{key}]", f'description = "{desc}"', f"density_g_cm3 = {rho!r}",
                  f"mean_excitation_ev = {float(i_val)!r}", f'source = "{src}"',
                  f"composition = {{ {body} }}"]
    out.write_text("\n".join(lines) + "\n")


# ----------------------------------------------------------------------------- checks
REFERENCE = {   # NIST X-ray mass attenuation tables (Hubbell & Seltzer), mu/rho in cm2/g
    "water": {10: 5.329, 30: 0.3756, 100: 0.1707, 140.5: None, 500: 0.09687, 1000: 0.07072,
              1500: 0.05754},
    "cortical_bone": {30: 1.331, 100: 0.1855, 1000: 0.06566},
}


def report(xcom_file, scat, nuclide_checks):
    tab = read_xcom_table(xcom_file)
    print("mu/rho from xcom_elements.dat (log-log per process) vs NIST tables [cm2/g]:")
    for mat, refs in REFERENCE.items():
        pct = MATERIALS[mat][4]
        comp = {s: v / sum(pct.values()) for s, v in pct.items()}
        for kev, ref in refs.items():
            mu = mu_rho(tab, comp, kev * 1e3)
            diff = f"{100 * (mu / ref - 1):+.2f} %" if ref else "(no tabulated value)"
            print(f"  {mat:14s} {kev:7.1f} keV  {mu:.5g}  ref {ref or '-':>8}  {diff}")
    x, s_tab, f_tab, fixes = scat
    worst = max(fixes, key=lambda t: t[1]), max(fixes, key=lambda t: t[2])
    print(f"scattering: largest monotonicity fix S: {worst[0][1]:.1e} Z (Z={worst[0][0]}),"
          f" F: {worst[1][2]:.1e} Z (Z={worst[1][0]})")
    for z in range(1, 101):
        s, f = s_tab[z], f_tab[z]
        if not (s[0] == 0 and abs(s[-1] - z) < 1e-3 * z and f[0] == z and f[-1] < 1e-3 * z
                and np.all(np.diff(s) >= 0) and np.all(np.diff(f) <= 0)):
            print(f"  WARNING scattering functions of Z={z} fail the sanity check")
    for q in (0.0, 0.01, 0.1, 0.5, 1.0, 2.0, 10.0):
        k = int(np.argmin(np.abs(np.array(x) - q)))
        print(f"  Z=8 x={x[k]:.4g}/A  S={s_tab[8][k]:.5g}  F={f_tab[8][k]:.5g}")
    print("ICRP 107: name, T1/2 [s], E_photon [MeV/decay], beta yield, integral of spectrum, ratio")
    for name, t, eph, nb, integ, nbp, nann in nuclide_checks:
        ratio = integ / nb if nb else float("nan")
        flag = "" if nb == 0 and integ == 0 or abs(ratio - 1) < 0.02 else "  <-- check"
        print(f"  {name:7s} {t:12.6g} {eph:9.5f} {nb:10.5g} {integ:10.5g} {ratio:7.4f}{flag}")
        if nbp > 0:
            print(f"          annihilation {nann:.6g} vs 2 x beta+ {2 * nbp:.6g}"
                  f" (ratio {nann / (2 * nbp):.5f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--xcom-dir", type=pathlib.Path, default=pathlib.Path("../shared/data/xcom"),
                    help="directory with MDATX3.001..100 (relative paths: from the repo root)")
    args = ap.parse_args()
    xcom_dir = args.xcom_dir if args.xcom_dir.is_absolute() else REPO / args.xcom_dir
    (DATA / "photon").mkdir(exist_ok=True)
    (DATA / "nuclides").mkdir(exist_ok=True)
    (DATA / "electron").mkdir(exist_ok=True)
    xcom_file = DATA / "photon" / "xcom_elements.dat"
    write_xcom(xcom_dir, xcom_file)
    weights = {SYMBOLS[z - 1]: float(read_mdatx3(xcom_dir / f"MDATX3.{z:03d}")["weight"])
               for z in range(1, 101)}
    scat = write_scattering(DATA / "photon" / "scattering_functions.dat")
    checks = write_icrp107(DATA / "nuclides" / "icrp107.toml")
    for key, (_, _, _, _, pct) in MATERIALS.items():
        assert abs(sum(pct.values()) - 100.0) < 0.1, (key, sum(pct.values()))
    write_materials(DATA / "materials.toml", weights)
    write_shells(DATA / "electron" / "shells.dat")
    report(xcom_file, scat, checks)


if __name__ == "__main__":
    main()
