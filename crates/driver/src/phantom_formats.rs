//! Phantoms in formats other than a NIfTI label map: the ICRP reference computational
//! phantoms in their distribution format (`[phantom] kind = "icrp110"`) and a CT image in
//! Hounsfield units converted by a piecewise calibration (`[phantom] kind = "ct"`).
//!
//! **ICRP 110 / 143 distribution format.** The reference phantoms of ICRP Publication 110
//! (adults AM, AF) and 143 (paediatric) come as three text files (the CD README, reproduced
//! in ICRP 110 Annex M and in the Geant4 example `advanced/ICRP110_HumanPhantoms`):
//! - the organ-ID array (`AF.dat`): whitespace-separated integers, "listed slice by slice,
//!   within each slice row by row, within each row column by column", i.e. the column
//!   index fastest, then the row, then the slice. The distribution writes 16 per line, so
//!   rows do not start on new lines; the reader takes the file as one stream of integers.
//!   The array dimensions and voxel size are not in the file (ICRP 110 Table 5.1 / the
//!   README): they come from the configuration (`dims`, `voxel_mm`);
//! - `*_organs.dat`: header lines, then one line per organ: ID, name (may contain spaces,
//!   commas, parentheses), medium number, density \[g/cm^3\];
//! - `*_media.dat`: header lines, then one line per medium: number, name, and the mass
//!   fractions of H, C, N, O, Na, Mg, P, S, Cl, K, Ca, Fe, I in % by mass (the 13 columns
//!   of ICRP 110 Annex B). A header line that lists other element symbols (or atomic
//!   numbers) at its end sets other columns.
//!
//! Organ ID 0 (outside the body) is not listed in the organs file of the distribution; it
//! becomes label 0 "outside" of material `background` (default vacuum) unless the organs
//! file lists ID 0. Each medium used by an organ becomes a material named
//! `icrp110_<medium name>` (lower case, non-alphanumerics as `_`), with its mean excitation
//! energy by Bragg additivity ([`bragg_mean_excitation_ev`]); each organ becomes a label
//! with its name and density.
//!
//! **Placement.** Slice numbers increase from the toes to the vertex, rows from front to
//! back, columns from the body's right to its left (ICRP 110 Annex M): the array is in the
//! DICOM LPS orientation. The grid is centred on the world origin in LPS and written in the
//! RAS world frame of NIfTI (as the `nifti` kind and `pedisim phantom generate` do): x
//! towards the body's right, y anterior, z cranial, so column index runs along -x, row index
//! along -y, slice index along +z. Source positions in a run's config are RAS millimetres
//! with the phantom's centre at (0, 0, 0).
//!
//! **CT.** A NIfTI image in Hounsfield units (its affine places the grid) and a calibration
//! file ([`CtCalibration`]): HU intervals, each a label with a material, and one
//! piecewise-linear HU-to-density curve (Schneider, Bortfeld & Schlegel, Phys. Med. Biol. 45
//! (2000) 459).

use crate::config::MaterialSpecSer;
use crate::DriverError;
use pedisim_core::GridGeometry;
use pedisim_io::nifti_io;
use pedisim_phantom::{LabelEntry, Phantom};
use pedisim_physics::elements::{element, z_of_symbol};
use pedisim_physics::material::{MaterialDb, MaterialSpec};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The element columns of `*_media.dat` in the ICRP 110 distribution (Annex B), in order.
pub const ICRP110_ELEMENTS: [&str; 13] = [
    "H", "C", "N", "O", "Na", "Mg", "P", "S", "Cl", "K", "Ca", "Fe", "I",
];

/// Tolerance on the sum of a medium's mass fractions: 1 % of 100 (% by mass) or of 1.
pub const FRACTION_SUM_TOLERANCE: f64 = 0.01;

/// Prefix of the material names made from ICRP media.
pub const ICRP110_MATERIAL_PREFIX: &str = "icrp110_";

fn err(file: &Path, message: impl Into<String>) -> DriverError {
    DriverError::Config {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn read_text(path: &Path, config: &Path, key: &str) -> Result<String, DriverError> {
    std::fs::read_to_string(path).map_err(|e| {
        err(
            config,
            format!(
                "[phantom] {key} = {:?}: cannot read the file: {e}",
                path.display()
            ),
        )
    })
}

/// Whitespace-separated tokens of a line with their byte spans.
fn tokens(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Mean excitation energy
// ---------------------------------------------------------------------------------------

/// The ICRU Report 37 I-value table shared with `data/scripts/generate_tables.py`
/// (`data/electron/icru37_i_values.toml`, compiled in).
const ICRU37_I_VALUES_TOML: &str = include_str!("../../../data/electron/icru37_i_values.toml");

/// `data/electron/icru37_i_values.toml`: condensed-phase and elemental I-values \[eV\].
#[derive(Deserialize)]
struct Icru37IValues {
    format: String,
    compound_factor: f64,
    condensed_ev: BTreeMap<String, f64>,
    elemental_ev: BTreeMap<String, f64>,
}

/// The compiled-in I-value table by atomic number.
struct Icru37Table {
    /// Condensed-phase I-values \[eV\], used as they stand.
    condensed_ev: HashMap<u32, f64>,
    /// Elemental I-values \[eV\], multiplied by `compound_factor`.
    elemental_ev: HashMap<u32, f64>,
    /// Factor for elements other than the condensed-phase ones.
    compound_factor: f64,
}

/// The compiled-in table, read once.
fn icru37_table() -> &'static Icru37Table {
    static TABLE: std::sync::OnceLock<Icru37Table> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        // The file is part of the source tree and checked by `icru37_table_reads`: a
        // malformed copy is a build defect, not user input.
        let t: Icru37IValues = toml::from_str(ICRU37_I_VALUES_TOML)
            .expect("data/electron/icru37_i_values.toml is valid (tested)");
        assert_eq!(t.format, "pedisim-icru37-i-values/1");
        let by_z = |m: &BTreeMap<String, f64>| -> HashMap<u32, f64> {
            m.iter()
                .map(|(sym, &i)| {
                    let z = z_of_symbol(sym).expect("element symbols of the I-value table");
                    (z, i)
                })
                .collect()
        };
        Icru37Table {
            condensed_ev: by_z(&t.condensed_ev),
            elemental_ev: by_z(&t.elemental_ev),
            compound_factor: t.compound_factor,
        }
    })
}

/// The I-value \[eV\] of an element bound in a compound by the ICRU Report 37 rules:
/// condensed-phase values for H, C, N, O, F and Cl, and 1.13 x the elemental value for the
/// others (elemental values of ICRU Report 37 as listed by NIST ESTAR). The numbers are
/// those of `data/electron/icru37_i_values.toml`, the table `data/scripts/generate_tables.py`
/// uses for `data/materials.toml`. None for an element without a value there.
pub fn icru37_compound_i_ev(z: u32) -> Option<f64> {
    let t = icru37_table();
    t.condensed_ev
        .get(&z)
        .copied()
        .or_else(|| t.elemental_ev.get(&z).map(|i| t.compound_factor * i))
}

/// Mean excitation energy \[eV\] of a mixture by Bragg additivity,
/// `ln I = sum_i w_i (Z_i/A_i) ln I_i / sum_i w_i (Z_i/A_i)`, with the ICRU Report 37
/// I-values of [`icru37_compound_i_ev`] and the XCOM atomic weights of the physics data.
/// `elements` are `(Z, mass fraction)` (need not be normalised). None if an element has no
/// I-value here or the fractions are all zero.
pub fn bragg_mean_excitation_ev(elements: &[(u32, f64)]) -> Option<f64> {
    let (mut num, mut den) = (0.0, 0.0);
    for &(z, w) in elements {
        if w <= 0.0 {
            continue;
        }
        let i = icru37_compound_i_ev(z)?;
        let a = element(z).ok()?.atomic_weight_g_mol;
        let zw = w * z as f64 / a;
        num += zw * i.ln();
        den += zw;
    }
    (den > 0.0).then(|| (num / den).exp())
}

/// A material specification with its mean excitation energy filled in by Bragg
/// additivity when it has none (and every element has an I-value).
fn with_bragg_i(mut spec: MaterialSpec) -> MaterialSpec {
    if spec.mean_excitation_ev.is_none() {
        let els: Option<Vec<(u32, f64)>> = spec
            .composition
            .iter()
            .map(|(s, w)| z_of_symbol(s).ok().map(|z| (z, *w)))
            .collect();
        spec.mean_excitation_ev = els.and_then(|e| bragg_mean_excitation_ev(&e));
    }
    spec
}

// ---------------------------------------------------------------------------------------
// ICRP 110 / 143
// ---------------------------------------------------------------------------------------

/// One line of `*_organs.dat`.
#[derive(Clone, Debug, PartialEq)]
pub struct Icrp110Organ {
    /// Organ ID (the value in the organ-ID array).
    pub id: u32,
    /// Organ name as written.
    pub name: String,
    /// Medium number (a line of `*_media.dat`).
    pub medium: u32,
    /// Density \[g/cm^3\].
    pub density_g_cm3: f64,
    /// Line number in the file (1-based).
    pub line: usize,
}

/// One line of `*_media.dat`.
#[derive(Clone, Debug, PartialEq)]
pub struct Icrp110Medium {
    /// Medium number.
    pub number: u32,
    /// Medium name as written.
    pub name: String,
    /// Mass fractions by element symbol, normalised to sum to 1 (zero entries left out).
    pub mass_fractions: BTreeMap<String, f64>,
    /// Line number in the file (1-based).
    pub line: usize,
}

/// Parses `*_organs.dat` (text of `file`). Lines before the first organ line whose first
/// word is not an integer are headers; blank lines are skipped; every other line must be
/// `ID name medium density`. Errors name the file and the line.
pub fn parse_icrp110_organs(text: &str, file: &Path) -> Result<Vec<Icrp110Organ>, DriverError> {
    let mut out: Vec<Icrp110Organ> = Vec::new();
    let mut first_line: HashMap<u32, usize> = HashMap::new();
    for (k, raw) in text.lines().enumerate() {
        let n = k + 1;
        let line = raw.trim_end_matches('\r');
        let toks = tokens(line);
        if toks.is_empty() {
            continue;
        }
        let Ok(id) = toks[0].1.parse::<u32>() else {
            if out.is_empty() {
                continue; // header
            }
            return Err(err(
                file,
                format!(
                    "line {n}: '{}' is not an organ ID: expected 'ID name medium density' \
                     (an integer ID, the organ name, the medium number, the density in g/cm3)",
                    toks[0].1
                ),
            ));
        };
        if toks.len() < 4 {
            return Err(err(
                file,
                format!(
                    "line {n}: {} values: expected 'ID name medium density' (at least 4 \
                     words: an integer ID, the organ name, the medium number, the density \
                     in g/cm3)",
                    toks.len()
                ),
            ));
        }
        let (ms, mtok) = toks[toks.len() - 2];
        let dtok = toks[toks.len() - 1].1;
        let medium = mtok.parse::<u32>().map_err(|_| {
            err(
                file,
                format!(
                    "line {n}: medium number '{mtok}' of organ {id} is not a non-negative \
                     integer: expected 'ID name medium density'"
                ),
            )
        })?;
        let density = dtok
            .parse::<f64>()
            .ok()
            .filter(|d| d.is_finite() && *d > 0.0);
        let Some(density) = density else {
            return Err(err(
                file,
                format!(
                    "line {n}: density '{dtok}' of organ {id}: expected a positive number \
                     of g/cm3 as the last value"
                ),
            ));
        };
        let name_start = toks[0].0 + toks[0].1.len();
        let name = line[name_start..ms].trim().to_string();
        if let Some(&first) = first_line.get(&id) {
            return Err(err(
                file,
                format!("line {n}: organ ID {id} is listed again (first on line {first}): expected each ID once"),
            ));
        }
        first_line.insert(id, n);
        out.push(Icrp110Organ {
            id,
            name,
            medium,
            density_g_cm3: density,
            line: n,
        });
    }
    if out.is_empty() {
        return Err(err(
            file,
            "no organ lines: expected lines 'ID name medium density' after the header",
        ));
    }
    Ok(out)
}

/// The element columns a header line of `*_media.dat` declares, if any: a line of atomic
/// numbers only, or a line ending in at least three element symbols.
fn header_columns(toks: &[(usize, &str)]) -> Option<Vec<String>> {
    let zs: Option<Vec<u32>> = toks.iter().map(|t| t.1.parse::<u32>().ok()).collect();
    if let Some(zs) = zs {
        if zs.len() >= 3 {
            let syms: Option<Vec<String>> = zs
                .iter()
                .map(|&z| element(z).ok().map(|e| e.symbol.clone()))
                .collect();
            return syms;
        }
        return None;
    }
    let mut syms: Vec<String> = toks
        .iter()
        .rev()
        .take_while(|t| z_of_symbol(t.1).is_ok())
        .map(|t| t.1.to_string())
        .collect();
    syms.reverse();
    (syms.len() >= 3).then_some(syms)
}

/// Parses `*_media.dat` (text of `file`). Lines before the first medium line are headers
/// (one of them may declare the element columns, see the module documentation); a medium
/// line is `number name f_1 ... f_n` with the n mass fractions in % by mass (summing to
/// 100) or as fractions (summing to 1), within [`FRACTION_SUM_TOLERANCE`]. Errors name the
/// file and the line.
pub fn parse_icrp110_media(text: &str, file: &Path) -> Result<Vec<Icrp110Medium>, DriverError> {
    let mut columns: Vec<String> = ICRP110_ELEMENTS.iter().map(|s| s.to_string()).collect();
    let mut out: Vec<Icrp110Medium> = Vec::new();
    let mut first_line: HashMap<u32, usize> = HashMap::new();
    let expected = |cols: &[String]| {
        format!(
            "'number name' and {} mass fractions (% by mass) of {}",
            cols.len(),
            cols.join(" ")
        )
    };
    for (k, raw) in text.lines().enumerate() {
        let n = k + 1;
        let line = raw.trim_end_matches('\r');
        let toks = tokens(line);
        if toks.is_empty() {
            continue;
        }
        let number = toks[0].1.parse::<u32>().ok();
        let second_is_number = toks.get(1).is_some_and(|t| t.1.parse::<f64>().is_ok());
        if out.is_empty() && (number.is_none() || second_is_number || toks.len() == 1) {
            if let Some(c) = header_columns(&toks) {
                columns = c;
            }
            continue;
        }
        let Some(number) = number else {
            return Err(err(
                file,
                format!(
                    "line {n}: '{}' is not a medium number: expected {}",
                    toks[0].1,
                    expected(&columns)
                ),
            ));
        };
        let trailing = toks
            .iter()
            .skip(1)
            .rev()
            .take_while(|t| t.1.parse::<f64>().is_ok())
            .count();
        if trailing != columns.len() || toks.len() < columns.len() + 2 {
            return Err(err(
                file,
                format!(
                    "line {n}: medium {number}: {trailing} numbers after the name: expected {}",
                    expected(&columns)
                ),
            ));
        }
        let first_value = toks.len() - columns.len();
        let name_start = toks[0].0 + toks[0].1.len();
        let name = line[name_start..toks[first_value].0].trim().to_string();
        let mut fractions = BTreeMap::new();
        let mut sum = 0.0;
        for (sym, t) in columns.iter().zip(&toks[first_value..]) {
            let w: f64 = t.1.parse().unwrap_or(f64::NAN);
            if !(w.is_finite() && w >= 0.0) {
                return Err(err(
                    file,
                    format!(
                        "line {n}: medium {number}: {sym} = {}: expected a mass fraction >= 0",
                        t.1
                    ),
                ));
            }
            sum += w;
            if w > 0.0 {
                fractions.insert(sym.clone(), w);
            }
        }
        let percent = (sum - 100.0).abs() <= 100.0 * FRACTION_SUM_TOLERANCE;
        let unit = (sum - 1.0).abs() <= FRACTION_SUM_TOLERANCE;
        if !(percent || unit) {
            return Err(err(
                file,
                format!(
                    "line {n}: medium {number} ('{name}'): mass fractions sum to {sum}: \
                     expected 100 (% by mass) or 1, within {} %",
                    FRACTION_SUM_TOLERANCE * 100.0
                ),
            ));
        }
        for w in fractions.values_mut() {
            *w /= sum;
        }
        if let Some(&first) = first_line.get(&number) {
            return Err(err(
                file,
                format!("line {n}: medium {number} is listed again (first on line {first}): expected each number once"),
            ));
        }
        first_line.insert(number, n);
        out.push(Icrp110Medium {
            number,
            name,
            mass_fractions: fractions,
            line: n,
        });
    }
    if out.is_empty() {
        return Err(err(
            file,
            format!(
                "no medium lines: expected {} after the header",
                expected(&columns)
            ),
        ));
    }
    Ok(out)
}

/// Parses the organ-ID array (text of `file`): whitespace-separated non-negative integers,
/// x (column) fastest, then y (row), then z (slice), exactly `dims[0] * dims[1] * dims[2]`
/// of them. `known(id)` says whether an ID has a label; an unknown one is an error naming
/// the line, the voxel and `organs_file`.
pub fn parse_organ_id_array(
    text: &str,
    file: &Path,
    dims: [usize; 3],
    known: &dyn Fn(u32) -> bool,
    organs_file: &Path,
) -> Result<Vec<u32>, DriverError> {
    let total = dims[0] * dims[1] * dims[2];
    let mut out = Vec::with_capacity(total);
    for (k, line) in text.lines().enumerate() {
        for tok in line.split_ascii_whitespace() {
            let n = k + 1;
            let Ok(id) = tok.parse::<u32>() else {
                return Err(err(
                    file,
                    format!(
                        "line {n}: '{tok}' is not an organ ID: expected non-negative integers only"
                    ),
                ));
            };
            let i = out.len();
            let [ix, iy, iz] = [
                i % dims[0],
                (i / dims[0]) % dims[1],
                i / (dims[0] * dims[1]),
            ];
            if i >= total {
                return Err(err(
                    file,
                    format!(
                        "line {n}: more than {total} organ IDs: expected {} x {} x {} = {total} \
                         ([phantom] dims, columns x rows x slices)",
                        dims[0], dims[1], dims[2]
                    ),
                ));
            }
            if !known(id) {
                return Err(err(
                    file,
                    format!(
                        "line {n}: organ ID {id} (voxel ({ix}, {iy}, {iz}): column, row, slice \
                         from 0) is not in the organs file {}: expected an ID listed there",
                        organs_file.display()
                    ),
                ));
            }
            out.push(id);
        }
    }
    if out.len() != total {
        return Err(err(
            file,
            format!(
                "{} organ IDs: expected {} x {} x {} = {total} ([phantom] dims, columns x rows x slices)",
                out.len(),
                dims[0],
                dims[1],
                dims[2]
            ),
        ));
    }
    Ok(out)
}

/// The material name of an ICRP medium: [`ICRP110_MATERIAL_PREFIX`] plus the name in lower
/// case with every run of other characters than letters and digits as one `_`, e.g.
/// `"Humeri, upper half, spongiosa"` -> `icrp110_humeri_upper_half_spongiosa`.
pub fn icrp110_material_name(medium_name: &str) -> String {
    let mut s = String::from(ICRP110_MATERIAL_PREFIX);
    let mut gap = false;
    for c in medium_name.chars() {
        if c.is_alphanumeric() {
            if gap && !s.ends_with('_') {
                s.push('_');
            }
            s.extend(c.to_lowercase());
            gap = false;
        } else {
            gap = true;
        }
    }
    s
}

/// The grid of an ICRP array: `dims` (columns, rows, slices) of `voxel_mm`, centred on the
/// world origin, in the RAS world frame (see the module documentation: columns along -x,
/// rows along -y, slices along +z).
pub fn icrp110_grid(dims: [usize; 3], voxel_mm: [f64; 3]) -> Result<GridGeometry, String> {
    let lps = GridGeometry::centred(dims, voxel_mm).map_err(|e| e.to_string())?;
    Ok(crate::phantoms::lps_to_ras(&lps))
}

/// What a `[phantom] kind = "icrp110"` section names (paths resolved).
#[derive(Clone, Debug)]
pub struct Icrp110Files {
    /// The organ-ID array (`organ_ids`).
    pub organ_ids: PathBuf,
    /// `*_organs.dat` (`organs`).
    pub organs: PathBuf,
    /// `*_media.dat` (`media`).
    pub media: PathBuf,
    /// Columns, rows, slices (`dims`).
    pub dims: [usize; 3],
    /// Voxel size \[mm\] along columns, rows, slices (`voxel_mm`).
    pub voxel_mm: [f64; 3],
    /// Material of organ ID 0 when the organs file does not list it (`background`).
    pub background: String,
}

/// Reads an ICRP 110/143 phantom: adds one material per medium used (see
/// [`icrp110_material_name`]) to `db` and returns the phantom. Errors name the file and the
/// line, or `config` and the `[phantom]` key.
pub fn load_icrp110(
    spec: &Icrp110Files,
    db: &mut MaterialDb,
    config: &Path,
) -> Result<Phantom, DriverError> {
    if spec.dims.contains(&0)
        || spec
            .dims
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .is_none()
    {
        return Err(err(
            config,
            format!("[phantom] dims = {:?}: expected three positive voxel counts (columns, rows, slices)", spec.dims),
        ));
    }
    if spec.voxel_mm.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        return Err(err(
            config,
            format!(
                "[phantom] voxel_mm = {:?}: expected three positive sizes in mm",
                spec.voxel_mm
            ),
        ));
    }
    db.get(&spec.background)
        .map_err(|e| err(config, format!("[phantom] background: {e}")))?;
    let grid = icrp110_grid(spec.dims, spec.voxel_mm)
        .map_err(|e| err(config, format!("[phantom] dims / voxel_mm: {e}")))?;
    let organs = parse_icrp110_organs(&read_text(&spec.organs, config, "organs")?, &spec.organs)?;
    let media = parse_icrp110_media(&read_text(&spec.media, config, "media")?, &spec.media)?;

    // Materials of the media that organs use, in order of first use.
    let mut material_of: HashMap<u32, String> = HashMap::new();
    let mut used_names: HashMap<String, u32> = HashMap::new();
    for o in &organs {
        if material_of.contains_key(&o.medium) {
            continue;
        }
        let Some(m) = media.iter().find(|m| m.number == o.medium) else {
            let known: Vec<String> = media.iter().map(|m| m.number.to_string()).collect();
            return Err(err(
                &spec.organs,
                format!(
                    "line {}: organ {} ('{}') has medium {}, which is not in the media file {} \
                     (media there: {})",
                    o.line,
                    o.id,
                    o.name,
                    o.medium,
                    spec.media.display(),
                    known.join(", ")
                ),
            ));
        };
        // Two media whose names differ only in punctuation (or a name without letters
        // and digits) are told apart by their number.
        let base = icrp110_material_name(&m.name);
        let name = if base == ICRP110_MATERIAL_PREFIX || used_names.contains_key(&base) {
            format!("{ICRP110_MATERIAL_PREFIX}medium_{}", m.number)
        } else {
            base
        };
        if db.get(&name).is_ok() {
            return Err(err(
                &spec.media,
                format!(
                    "line {}: medium {} becomes material '{name}', which is already defined \
                     (in [materials] of the config?): expected a new name",
                    m.line, m.number
                ),
            ));
        }
        let material = MaterialSpec {
            description: Some(format!("ICRP 110/143 medium {} '{}'", m.number, m.name)),
            density_g_cm3: o.density_g_cm3,
            mean_excitation_ev: None,
            source: Some(format!(
                "{} line {} (ICRP reference phantom media); I by Bragg additivity (ICRU Report 37 rules)",
                file_name(&spec.media),
                m.line
            )),
            composition: m.mass_fractions.clone(),
        };
        db.add(&name, &with_bragg_i(material)).map_err(|e| {
            err(
                &spec.media,
                format!("line {}: medium {}: {e}", m.line, m.number),
            )
        })?;
        used_names.insert(name.clone(), m.number);
        material_of.insert(o.medium, name);
    }

    let mut table: Vec<LabelEntry> = organs
        .iter()
        .map(|o| LabelEntry {
            value: o.id,
            name: o.name.clone(),
            material: material_of[&o.medium].clone(),
            density_g_cm3: Some(o.density_g_cm3),
        })
        .collect();
    if !organs.iter().any(|o| o.id == 0) {
        table.push(LabelEntry {
            value: 0,
            name: "outside".into(),
            material: spec.background.clone(),
            density_g_cm3: None,
        });
    }
    let max_id = table.iter().map(|e| e.value).max().unwrap_or(0) as usize;
    let mut listed = vec![false; max_id + 1];
    for e in &table {
        listed[e.value as usize] = true;
    }
    let known = |id: u32| listed.get(id as usize).copied().unwrap_or(false);
    let labels = parse_organ_id_array(
        &read_text(&spec.organ_ids, config, "organ_ids")?,
        &spec.organ_ids,
        spec.dims,
        &known,
        &spec.organs,
    )?;
    let nominal = |m: &str| db.get(m).ok().map(|m| m.density_g_cm3);
    Phantom::from_labels(grid, labels, table, None, nominal)
        .map_err(|e| err(&spec.organ_ids, e.to_string()))
}

// ---------------------------------------------------------------------------------------
// CT
// ---------------------------------------------------------------------------------------

/// A calibration file as written (see [`CtCalibration`]).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalibrationFile {
    /// Free-text provenance.
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
    density: DensityCurveSpec,
    bin: Vec<HuBin>,
    #[serde(default)]
    materials: BTreeMap<String, MaterialSpecSer>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DensityCurveSpec {
    points: Vec<[f64; 2]>,
}

/// One HU interval of a CT calibration: a label of the phantom.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HuBin {
    /// Label name (tissue class), e.g. `"lung"`.
    pub name: String,
    /// Material name: built-in, from the run config's `[materials]` or the calibration
    /// file's `[materials]`.
    pub material: String,
    /// Lower end \[HU\], included.
    pub hu_min: f64,
    /// Upper end \[HU\], excluded (included for the last interval).
    pub hu_max: f64,
}

/// A validated CT calibration: HU intervals sorted and disjoint, and a piecewise-linear
/// density curve that covers every interval.
///
/// File layout (TOML):
/// ```toml
/// source = "where the numbers come from"        # optional
/// [density]
/// points = [[-1000.0, 0.00121], [0.0, 1.0], [1600.0, 1.96]]   # [HU, g/cm3], HU increasing
/// [[bin]]
/// name = "air"            # label name
/// material = "air"        # material name
/// hu_min = -1000.0        # included
/// hu_max = -950.0         # excluded (included for the last bin)
/// [materials.my_bone]     # optional materials, same keys as a run config's [materials]
/// density_g_cm3 = 1.92
/// composition = { H = 0.034, C = 0.155, N = 0.042, O = 0.435, P = 0.103, Ca = 0.225, Mg = 0.006 }
/// ```
#[derive(Clone, Debug)]
pub struct CtCalibration {
    /// The density curve: `(HU, g/cm^3)` points, HU strictly increasing; linear between.
    pub points: Vec<(f64, f64)>,
    /// The HU intervals, sorted, disjoint; label value = index + 1.
    pub bins: Vec<HuBin>,
    /// Materials the file defines.
    pub materials: BTreeMap<String, MaterialSpecSer>,
}

impl CtCalibration {
    /// Parses and validates a calibration (text of `file`). Errors name the file and the
    /// key or interval.
    pub fn parse(text: &str, file: &Path) -> Result<Self, DriverError> {
        let f: CalibrationFile =
            toml::from_str(text).map_err(|e| err(file, e.to_string().trim_end().to_string()))?;
        let p = &f.density.points;
        if p.len() < 2 {
            return Err(err(
                file,
                format!(
                    "[density] points: {} point(s): expected at least two [HU, g/cm3] pairs",
                    p.len()
                ),
            ));
        }
        for (i, [hu, rho]) in p.iter().enumerate() {
            if !(hu.is_finite() && rho.is_finite() && *rho > 0.0) {
                return Err(err(
                    file,
                    format!("[density] points[{i}] = [{hu}, {rho}]: expected a finite HU and a positive density in g/cm3"),
                ));
            }
            if i > 0 && *hu <= p[i - 1][0] {
                return Err(err(
                    file,
                    format!(
                        "[density] points[{i}]: HU {hu} after {}: expected HU strictly increasing",
                        p[i - 1][0]
                    ),
                ));
            }
        }
        if f.bin.is_empty() {
            return Err(err(file, "no [[bin]]: expected at least one HU interval"));
        }
        let (lo, hi) = (p[0][0], p[p.len() - 1][0]);
        for (i, b) in f.bin.iter().enumerate() {
            let at = format!("[[bin]] #{} ('{}')", i + 1, b.name);
            if !(b.hu_min.is_finite() && b.hu_max.is_finite() && b.hu_min < b.hu_max) {
                return Err(err(
                    file,
                    format!("{at}: hu_min = {}, hu_max = {}: expected finite numbers with hu_min < hu_max", b.hu_min, b.hu_max),
                ));
            }
            if b.name.trim().is_empty() {
                return Err(err(
                    file,
                    format!(
                        "[[bin]] #{}: name is empty: expected a tissue-class name",
                        i + 1
                    ),
                ));
            }
            if i > 0 {
                let prev = &f.bin[i - 1];
                if b.hu_min < prev.hu_max {
                    return Err(err(
                        file,
                        format!(
                            "{at}: hu_min = {} is below hu_max = {} of [[bin]] #{} ('{}'): expected \
                             intervals sorted by HU and not overlapping",
                            b.hu_min,
                            prev.hu_max,
                            i,
                            prev.name
                        ),
                    ));
                }
            }
            if let Some(j) = f.bin[..i].iter().position(|o| o.name == b.name) {
                return Err(err(file, format!("{at}: the name is also that of [[bin]] #{}: expected one name per interval", j + 1)));
            }
            if b.hu_min < lo || b.hu_max > hi {
                return Err(err(
                    file,
                    format!(
                        "{at}: [{}, {}] HU is not covered by [density] points ({lo} to {hi} HU): \
                         expected the density curve to span every interval",
                        b.hu_min, b.hu_max
                    ),
                ));
            }
        }
        Ok(Self {
            points: p.iter().map(|[h, r]| (*h, *r)).collect(),
            bins: f.bin,
            materials: f.materials,
        })
    }

    /// Reads and validates a calibration file.
    pub fn load(path: &Path) -> Result<Self, DriverError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(path, format!("cannot read the file: {e}")))?;
        Self::parse(&text, path)
    }

    /// Density \[g/cm^3\] at `hu` by linear interpolation between the points (constant
    /// beyond the end points; intervals are checked to lie within them).
    pub fn density_g_cm3(&self, hu: f64) -> f64 {
        let p = &self.points;
        let k = p.partition_point(|q| q.0 <= hu);
        if k == 0 {
            return p[0].1;
        }
        if k == p.len() {
            return p[p.len() - 1].1;
        }
        let (a, b) = (p[k - 1], p[k]);
        a.1 + (b.1 - a.1) * (hu - a.0) / (b.0 - a.0)
    }

    /// Index of the interval that holds `hu`: `[hu_min, hu_max)`, the last one
    /// `[hu_min, hu_max]`. None outside every interval (or for NaN).
    pub fn bin_of(&self, hu: f64) -> Option<usize> {
        let k = self.bins.partition_point(|b| b.hu_min <= hu);
        if k == 0 {
            return None;
        }
        let b = &self.bins[k - 1];
        let last = k == self.bins.len();
        (hu < b.hu_max || (last && hu == b.hu_max)).then_some(k - 1)
    }
}

/// Builds the phantom of a CT: each voxel gets the label of its HU interval (value =
/// interval index + 1, name = the interval's name, its material) and the calibration
/// curve's density. Errors name `ct_file` and the first voxel (in index order) outside
/// every interval.
pub fn ct_phantom(
    grid: GridGeometry,
    hu: &[f64],
    cal: &CtCalibration,
    db: &MaterialDb,
    ct_file: &Path,
    cal_file: &Path,
) -> Result<Phantom, DriverError> {
    let mut labels = Vec::with_capacity(hu.len());
    let mut density = Vec::with_capacity(hu.len());
    for (i, &h) in hu.iter().enumerate() {
        let Some(b) = cal.bin_of(h) else {
            let [ix, iy, iz] = grid.unflatten(i);
            let (lo, hi) = (cal.bins[0].hu_min, cal.bins[cal.bins.len() - 1].hu_max);
            return Err(err(
                ct_file,
                format!(
                    "voxel ({ix}, {iy}, {iz}) has {h} HU, outside every interval of the \
                     calibration {} (intervals from {lo} to {hi} HU): expected a HU value \
                     within an interval (widen the first or last [[bin]] for padding values)",
                    cal_file.display()
                ),
            ));
        };
        labels.push(b as u32 + 1);
        density.push(cal.density_g_cm3(h));
    }
    let table: Vec<LabelEntry> = cal
        .bins
        .iter()
        .enumerate()
        .map(|(i, b)| LabelEntry {
            value: i as u32 + 1,
            name: b.name.clone(),
            material: b.material.clone(),
            density_g_cm3: None,
        })
        .collect();
    let nominal = |m: &str| db.get(m).ok().map(|m| m.density_g_cm3);
    Phantom::from_labels(grid, labels, table, Some(density), nominal)
        .map_err(|e| err(ct_file, format!("{e} (calibration {})", cal_file.display())))
}

/// Reads a CT phantom: the calibration's materials are added to `db` (a name already
/// defined is an error), every interval's material must exist, then the HU image is read
/// and converted ([`ct_phantom`]). Errors name the file and the key, interval or voxel.
pub fn load_ct(
    ct: &Path,
    calibration: &Path,
    db: &mut MaterialDb,
    config: &Path,
) -> Result<Phantom, DriverError> {
    if !calibration.is_file() {
        return Err(err(
            config,
            format!(
                "[phantom] calibration = {:?}: no such file",
                calibration.display()
            ),
        ));
    }
    let cal = CtCalibration::load(calibration)?;
    for (name, spec) in &cal.materials {
        if db.get(name).is_ok() {
            return Err(err(
                calibration,
                format!(
                    "[materials.{name}]: a material of that name is already defined (built-in \
                     or in the config's [materials]): expected a new name"
                ),
            ));
        }
        let spec: MaterialSpec = spec.into();
        db.add(name, &with_bragg_i(spec))
            .map_err(|e| err(calibration, format!("[materials.{name}]: {e}")))?;
    }
    for (i, b) in cal.bins.iter().enumerate() {
        db.get(&b.material).map_err(|e| {
            err(
                calibration,
                format!("[[bin]] #{} ('{}'): material: {e}", i + 1, b.name),
            )
        })?;
    }
    let v = nifti_io::read_scalar(ct).map_err(|e| err(config, format!("[phantom] ct: {e}")))?;
    ct_phantom(v.grid, &v.data, &cal, db, ct, calibration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("X.dat")
    }

    const ORGANS: &str = "Organs of a test phantom\n\n\
Organ Organ                                          Medium  Density\n\
ID                                                   number\n\
  1   Liver                                            2     1.05\n\
  2   Humeri, upper half, spongiosa (ET1)              1     1.205\n";

    const MEDIA: &str = "Media of a test phantom\n\
Medium  name       H     C     N     O    Na    Mg     P     S    Cl     K    Ca    Fe     I\n\n\
  1  Humeri, upper half, spongiosa   8.5  28.8  2.6  49.8  0.2  0.1  3.4  0.3  0.2  0.1  6.0  0.0  0.0\n\
  2  Liver tissue   10.2  13.0  3.1  72.5  0.2  0.0  0.2  0.3  0.2  0.3  0.0  0.0  0.0\n";

    #[test]
    fn organs_parse_names_with_spaces_and_digits() {
        let o = parse_icrp110_organs(ORGANS, &p()).unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o[1].name, "Humeri, upper half, spongiosa (ET1)");
        assert_eq!(
            (o[1].id, o[1].medium, o[1].density_g_cm3, o[1].line),
            (2, 1, 1.205, 6)
        );
    }

    #[test]
    fn organ_errors_name_the_line() {
        let e = parse_icrp110_organs("hdr\n 1 Liver 2\n", &p())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("X.dat") && e.contains("line 2") && e.contains("3 values"),
            "{e}"
        );
        let e = parse_icrp110_organs(" 1 Liver 2 1.0\n 1 Lung 3 0.3\n", &p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("first on line 1"), "{e}");
        let e = parse_icrp110_organs(" 1 Liver x 1.0\n", &p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("medium number 'x'"), "{e}");
        let e = parse_icrp110_organs(" 1 Liver 2 -1\n", &p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("density '-1'"), "{e}");
        let e = parse_icrp110_organs(" 1 Liver 2 1\nfooter\n", &p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("'footer'"), "{e}");
        let e = parse_icrp110_organs("only a header\n", &p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no organ lines"), "{e}");
    }

    #[test]
    fn media_parse_percent_and_columns() {
        let m = parse_icrp110_media(MEDIA, &p()).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, "Humeri, upper half, spongiosa");
        let s: f64 = m[0].mass_fractions.values().sum();
        assert!((s - 1.0).abs() < 1e-12);
        assert!((m[1].mass_fractions["H"] - 0.102).abs() < 1e-12);
        assert!(!m[1].mass_fractions.contains_key("Mg"));
        // A header of atomic numbers declares other columns; fractions summing to 1.
        let m = parse_icrp110_media("   1   6   8\n 5 water 0.112 0 0.888\n", &p()).unwrap();
        assert_eq!(m[0].mass_fractions.keys().collect::<Vec<_>>(), ["H", "O"]);
        // ... and so does a header ending in element symbols.
        let m = parse_icrp110_media("No. name  H O Ca\n 5 stuff 11 88 1\n", &p()).unwrap();
        assert!((m[0].mass_fractions["Ca"] - 0.01).abs() < 1e-12);
    }

    #[test]
    fn media_errors_name_the_line() {
        let e = parse_icrp110_media("hdr\n 1 soft 10 20 30\n", &p())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 2") && e.contains("3 numbers") && e.contains("13 mass fractions"),
            "{e}"
        );
        let bad = MEDIA.replace("72.5", "62.5");
        let e = parse_icrp110_media(&bad, &p()).unwrap_err().to_string();
        assert!(
            e.contains("line 5") && e.contains("sum to 90") && e.contains("Liver tissue"),
            "{e}"
        );
        let e = parse_icrp110_media(
            &format!("{MEDIA}  2  again 100 0 0 0 0 0 0 0 0 0 0 0 0\n"),
            &p(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 6") && e.contains("first on line 5"), "{e}");
    }

    #[test]
    fn organ_id_array_is_a_stream_with_x_fastest() {
        let known = |id: u32| id <= 2;
        let v = parse_organ_id_array(
            "0 1 2\n2 1\n0\n",
            &p(),
            [3, 2, 1],
            &known,
            Path::new("o.dat"),
        )
        .unwrap();
        assert_eq!(v, vec![0, 1, 2, 2, 1, 0]);
        let e = parse_organ_id_array("0 1 2 2 1\n", &p(), [3, 2, 1], &known, Path::new("o.dat"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("5 organ IDs") && e.contains("3 x 2 x 1 = 6"),
            "{e}"
        );
        let e = parse_organ_id_array(
            "0 1 2\n2 1 0 1\n",
            &p(),
            [3, 2, 1],
            &known,
            Path::new("o.dat"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 2") && e.contains("more than 6"), "{e}");
        let e = parse_organ_id_array(
            "0 1 2\n7 1 0\n",
            &p(),
            [3, 2, 1],
            &known,
            Path::new("o.dat"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("line 2")
                && e.contains("organ ID 7")
                && e.contains("(0, 1, 0)")
                && e.contains("o.dat"),
            "{e}"
        );
        let e = parse_organ_id_array("0 1 x\n", &p(), [3, 2, 1], &known, Path::new("o.dat"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1") && e.contains("'x'"), "{e}");
    }

    #[test]
    fn material_names() {
        assert_eq!(
            icrp110_material_name("Humeri, upper half, spongiosa"),
            "icrp110_humeri_upper_half_spongiosa"
        );
        assert_eq!(
            icrp110_material_name("  Lung tissue (compressed) "),
            "icrp110_lung_tissue_compressed"
        );
    }

    #[test]
    fn icru37_table_reads() {
        // Condensed-phase values stand as they are; others take the 1.13 factor.
        assert_eq!(icru37_compound_i_ev(1), Some(19.2));
        assert_eq!(icru37_compound_i_ev(8), Some(106.0));
        assert!((icru37_compound_i_ev(20).unwrap() - 1.13 * 191.0).abs() < 1e-12);
        assert!((icru37_compound_i_ev(82).unwrap() - 1.13 * 823.0).abs() < 1e-12);
        assert_eq!(icru37_compound_i_ev(92), None);
        let t = icru37_table();
        assert_eq!(t.condensed_ev.len() + t.elemental_ev.len(), 23);
    }

    #[test]
    fn bragg_reproduces_the_materials_file() {
        // data/materials.toml computes these I-values with the same rules (rounded to 0.1).
        let db = MaterialDb::builtin().unwrap();
        for name in [
            "soft_tissue",
            "cortical_bone",
            "spongiosa",
            "red_marrow",
            "lung",
        ] {
            let m = db.get(name).unwrap();
            let i = bragg_mean_excitation_ev(&m.elements).unwrap();
            let want = m.mean_excitation_ev.unwrap();
            assert!((i - want).abs() <= 0.06, "{name}: {i} vs {want}");
        }
        assert_eq!(bragg_mean_excitation_ev(&[(92, 1.0)]), None);
    }

    #[test]
    fn icrp_grid_is_centred_and_ras() {
        let g = icrp110_grid([4, 2, 3], [2.0, 2.0, 5.0]).unwrap();
        assert_eq!(g.axis_sign, [-1.0, -1.0, 1.0]);
        assert_eq!(g.origin_mm, [3.0, 1.0, -5.0]);
    }

    const CAL: &str = r#"
[density]
points = [[-1000.0, 0.001], [0.0, 1.0], [1000.0, 2.0]]
[[bin]]
name = "air"
material = "air"
hu_min = -1000.0
hu_max = -500.0
[[bin]]
name = "soft"
material = "soft_tissue"
hu_min = -500.0
hu_max = 300.0
[[bin]]
name = "bone"
material = "cortical_bone"
hu_min = 300.0
hu_max = 1000.0
"#;

    #[test]
    fn calibration_lookup() {
        let c = CtCalibration::parse(CAL, &p()).unwrap();
        assert_eq!(c.bin_of(-1000.0), Some(0));
        assert_eq!(c.bin_of(-500.0), Some(1));
        assert_eq!(c.bin_of(1000.0), Some(2));
        assert_eq!(c.bin_of(1000.5), None);
        assert_eq!(c.bin_of(-1001.0), None);
        assert_eq!(c.bin_of(f64::NAN), None);
        assert!((c.density_g_cm3(-500.0) - 0.5005).abs() < 1e-12);
        assert!((c.density_g_cm3(500.0) - 1.5).abs() < 1e-12);
    }

    #[test]
    fn calibration_errors_name_the_interval() {
        let e = CtCalibration::parse(&CAL.replace("hu_min = 300.0", "hu_min = 200.0"), &p())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[[bin]] #3 ('bone')")
                && e.contains("below hu_max = 300")
                && e.contains("#2 ('soft')"),
            "{e}"
        );
        let e = CtCalibration::parse(&CAL.replace("hu_max = 1000.0", "hu_max = 1200.0"), &p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("#3") && e.contains("not covered"), "{e}");
        let e = CtCalibration::parse(&CAL.replace("[0.0, 1.0]", "[-1000.0, 1.0]"), &p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("points[1]") && e.contains("increasing"), "{e}");
        let e = CtCalibration::parse(&CAL.replace("name = \"soft\"", "name = \"air\""), &p())
            .unwrap_err()
            .to_string();
        assert!(e.contains("#2") && e.contains("#1"), "{e}");
    }

    #[test]
    fn ct_voxels_get_bins_and_densities() {
        let db = MaterialDb::builtin().unwrap();
        let c = CtCalibration::parse(CAL, &p()).unwrap();
        let g = GridGeometry::centred([2, 2, 1], [10.0; 3]).unwrap();
        let ph = ct_phantom(
            g.clone(),
            &[-1000.0, 0.0, 500.0, 0.0],
            &c,
            &db,
            Path::new("ct.nii"),
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(ph.labels, vec![1, 2, 3, 2]);
        assert_eq!(ph.density_g_cm3, vec![0.001, 1.0, 1.5, 1.0]);
        assert_eq!(ph.table[2].name, "bone");
        let e = ct_phantom(
            g,
            &[-1000.0, 0.0, 1500.0, 0.0],
            &c,
            &db,
            Path::new("ct.nii"),
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("ct.nii")
                && e.contains("voxel (0, 1, 0)")
                && e.contains("1500 HU")
                && e.contains("c.toml"),
            "{e}"
        );
    }

    #[test]
    fn shipped_calibration_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../configs/ct_calibration_schneider2000.toml");
        let c = CtCalibration::load(&path).unwrap();
        let mut db = MaterialDb::builtin().unwrap();
        for (name, spec) in &c.materials {
            let spec = with_bragg_i(spec.into());
            assert!(spec.mean_excitation_ev.is_some(), "{name}");
            db.add(name, &spec).unwrap();
        }
        for b in &c.bins {
            db.get(&b.material).unwrap();
        }
        // Density table points are reproduced.
        assert!((c.density_g_cm3(-1000.0) - 1.21e-3).abs() < 1e-12);
        assert!((c.density_g_cm3(14.0) - 1.03).abs() < 1e-12);
        assert!((c.density_g_cm3(1600.0) - 1.9642).abs() < 1e-12);
        assert_eq!(c.bins[c.bin_of(0.0).unwrap()].name, "AT_AG_SI4");
    }
}
