//! Bodies of any age from newborn to adult, both sexes, optionally personalised: the base
//! body of the family (`data/phantoms/stylised_base.toml`, 15-year dimensions) rescaled so
//! that its standing height and total body mass are those of the age and sex (or the
//! patient's), and every organ's mass the ICRP 89 reference mass for the age and sex.
//!
//! **Reference values.** Organ and tissue masses: ICRP Publication 89 (2002) reference
//! values as tabulated for the specific absorbed fractions of ICRP Publication 155 (2020),
//! [`ICRP155_MASSES_CSV`] (kg; newborn, 1, 5, 10, 15 years and adult, male and female).
//! Heart contents (blood in the heart chambers, pedisim's reference name `Ht-cont`; ICRP
//! 155 counts it in `Blood`): the ORNL/DCAL `Ht_Cont` region mass ([`ORNL_DCAL_MASSES_CSV`],
//! g, one value for both sexes). Standing height and total body mass: ICRP 89 reference
//! values (newborn 51 cm / 3.5 kg, 1 y 76 cm / 10 kg, 5 y 109 cm / 19 kg, 10 y 138 cm /
//! 32 kg, 15 y 167 cm / 56 kg male and 161 cm / 53 kg female, adult 176 cm / 73 kg male and
//! 163 cm / 60 kg female). All are interpolated **linearly in age** between the tabulated
//! ages, the adult values being placed at 20 years and used unchanged above it.
//!
//! **Method** (see `docs/phantoms.md` for the full description and its limits):
//! 1. Lengths: the head (with the neck) scales isotropically by the cube root of the
//!    brain's reference mass ratio; the legs take a fraction of the standing height that
//!    depends on age ([`leg_fraction`]); the trunk takes the rest. Frames move with them.
//! 2. Cross-section: trunk and legs scale in x and y by one factor, solved so that the
//!    total body mass equals the reference (or the given weight); or the trunk takes the
//!    given anteroposterior thickness and lateral width, and the legs' cross-section is
//!    solved for the weight.
//! 3. Organs scale about their own centres by a factor iterated as the cube root of the
//!    ratio of target to current mass, with precedence resolved by line integration, exact
//!    along each line, one line per cell of about 2 mm at a stratified place
//!    ([`super::voxelise::resolved_volume_with_cells`], [`super::voxelise::jitter`]),
//!    until every mass group is within [`FIT_TOLERANCE`].
//!    Walls and contents: the outer organ is scaled for the sum of both masses and the
//!    wall thickness solved for the contents' mass.
//! 4. Bones keep their places and outer shapes from step 1 and are thinned (cavities
//!    widened, solid bones narrowed) to the skeleton volume of the reference masses, each
//!    bone keeping its share of the skeleton; their cortical thickness is solved for
//!    `C-bone-V`, the spongiosa (`T-bone-V + T-marrow + C-marrow`) filling the rest.
//! 5. The skin's thickness is solved for the reference skin mass.

use super::body::{DeriveKind, Sex, StylisedBody};
use super::geometry::{AxisMap, Part, Solid, P3};
use super::voxelise::{part_cells, resolved_volume_cm3, resolved_volume_with_cells};
use super::StylisedError;
use rayon::prelude::*;

/// The base body of the family (TOML, format `pedisim-stylised/1`): the ORNL-type 15-year
/// body of [`super::ORNL_15Y_TOML`] completed with the organs and bones organ dosimetry
/// needs, hollow organs and bones split into wall and contents.
pub static BASE_TOML: &str = include_str!("../../../../data/phantoms/stylised_base.toml");

/// File name used for the family's base body in error messages.
pub const BASE_FILE: &str = "data/phantoms/stylised_base.toml";

/// ICRP 89 reference masses of the ICRP 155 source regions, kg, by age and sex (copied
/// into `data/phantoms/` with its provenance; columns `00M, 00F, 01M, ..., AM, AF`).
pub static ICRP155_MASSES_CSV: &str =
    include_str!("../../../../data/phantoms/icrp155_source_region_masses_kg.csv");

/// ORNL stylised phantom region masses by age as distributed with ORNL's DCAL code, g
/// (columns `newborn, 1y, 5y, 10y, 15y, adult`).
pub static ORNL_DCAL_MASSES_CSV: &str =
    include_str!("../../../../data/phantoms/ornl_dcal_region_masses_g.csv");

/// Ages \[y\] of the tabulated columns: newborn, 1, 5, 10, 15 years, adult (placed at 20).
pub const TABLE_AGES_Y: [f64; 6] = [0.0, 1.0, 5.0, 10.0, 15.0, 20.0];

/// The oldest supported age \[y\]; adult reference values apply from 20 years on.
pub const MAX_AGE_Y: f64 = 100.0;

/// Reference names that add no mass to a region's target: `R-marrow` and `Y-marrow` are a
/// second partition of the marrow already counted in `T-marrow` and `C-marrow`;
/// `C-bone-S` and `T-bone-S` (bone surfaces) have zero mass. They name regions for
/// dosimetry (targets and sources) only.
pub const NO_MASS_NAMES: [&str; 4] = ["R-marrow", "Y-marrow", "C-bone-S", "T-bone-S"];

/// pedisim's reference name for the blood in the heart chambers (not an ICRP 155 source
/// region; its mass is the ORNL/DCAL `Ht_Cont` mass).
pub const HEART_CONTENTS: &str = "Ht-cont";

const HEIGHT_CM_MALE: [f64; 6] = [51.0, 76.0, 109.0, 138.0, 167.0, 176.0];
const HEIGHT_CM_FEMALE: [f64; 6] = [51.0, 76.0, 109.0, 138.0, 161.0, 163.0];
const MASS_KG_MALE: [f64; 6] = [3.5, 10.0, 19.0, 32.0, 56.0, 73.0];
const MASS_KG_FEMALE: [f64; 6] = [3.5, 10.0, 19.0, 32.0, 53.0, 60.0];
/// Leg length (sole to the base of the trunk) over standing height, pedisim's choice:
/// it follows the fall of the sitting-height ratio from about 0.67 at birth to about 0.53
/// after puberty in growth references (e.g. Fredriks et al., Arch Dis Child 90 (2005)
/// 807-812), without being read from them; 0.4643 at 15 y is the base body's 78/168 cm and
/// 0.46 for adults the MIRD adult's 80/174 cm.
const LEG_FRACTION: [f64; 6] = [0.33, 0.37, 0.44, 0.47, 0.4643, 0.46];

/// Plausibility gate on a personalised height: within this factor of the reference height
/// for the age and sex, either way (about +-4 standard deviations of stature at most ages).
pub const HEIGHT_RATIO_RANGE: [f64; 2] = [0.8, 1.2];
/// Plausibility gate on a personalised body mass index: between these multiples of the
/// reference BMI for the age and sex (ICRP 89 mass over height squared); roughly from
/// below -3 SD of WHO/CDC BMI-for-age to severe obesity; not a clinical criterion.
pub const BMI_RATIO_RANGE: [f64; 2] = [0.65, 2.2];
/// Plausibility gate on personalised torso measures: the trunk's scale factors in x and y
/// against those of the reference body for the age and sex.
pub const TORSO_RATIO_RANGE: [f64; 2] = [0.6, 1.8];

/// Relative tolerance of the organ-mass fit (0.5 %): the fit stops when every mass group
/// is within it.
pub const FIT_TOLERANCE: f64 = 0.005;

/// A fit that has not reached [`FIT_TOLERANCE`] after its iterations is accepted (its best
/// iteration) when every group is within this (1.5 %), and refused otherwise.
pub const FIT_ACCEPT: f64 = 0.015;

/// Edge length of the integration cells of the fit \[mm\] (at least 24 cells per axis and
/// part; see [`resolved_volume_with_cells`]).
pub const FIT_STEP_MM: f64 = 2.0;

/// Most organ iterations per body-mass iteration.
const MAX_INNER: usize = 30;

fn bad(key: &str, value: String, expected: String) -> StylisedError {
    StylisedError::BadParameter {
        key: key.into(),
        value,
        expected,
    }
}

fn check_age(age_y: f64) -> Result<(), StylisedError> {
    if age_y.is_finite() && (0.0..=MAX_AGE_Y).contains(&age_y) {
        Ok(())
    } else {
        Err(bad(
            "age_y",
            age_y.to_string(),
            format!(
                "expected an age from 0 (newborn) to {MAX_AGE_Y} years (adult reference values \
                 from 20 years)"
            ),
        ))
    }
}

/// Linear interpolation of a per-age table at `age_y` (constant beyond the last age).
fn interp(table: &[f64; 6], age_y: f64) -> f64 {
    if age_y >= TABLE_AGES_Y[5] {
        return table[5];
    }
    let i = (0..5).find(|&i| age_y <= TABLE_AGES_Y[i + 1]).unwrap_or(4);
    let (a0, a1) = (TABLE_AGES_Y[i], TABLE_AGES_Y[i + 1]);
    let w = ((age_y - a0) / (a1 - a0)).clamp(0.0, 1.0);
    table[i] + w * (table[i + 1] - table[i])
}

/// ICRP 89 reference standing height \[cm\] for the age and sex (linear in age).
pub fn reference_height_cm(age_y: f64, sex: Sex) -> Result<f64, StylisedError> {
    check_age(age_y)?;
    Ok(interp(
        match sex {
            Sex::Male => &HEIGHT_CM_MALE,
            Sex::Female => &HEIGHT_CM_FEMALE,
        },
        age_y,
    ))
}

/// ICRP 89 reference total body mass \[kg\] for the age and sex (linear in age).
pub fn reference_body_mass_kg(age_y: f64, sex: Sex) -> Result<f64, StylisedError> {
    check_age(age_y)?;
    Ok(interp(
        match sex {
            Sex::Male => &MASS_KG_MALE,
            Sex::Female => &MASS_KG_FEMALE,
        },
        age_y,
    ))
}

/// Leg length over standing height at the age (pedisim's proportions, linear in age).
pub fn leg_fraction(age_y: f64) -> Result<f64, StylisedError> {
    check_age(age_y)?;
    Ok(interp(&LEG_FRACTION, age_y))
}

/// Reference mass \[kg\] of a reference region for the age and sex: an ICRP 155 source
/// region of [`ICRP155_MASSES_CSV`], [`HEART_CONTENTS`], or 0 for the names of
/// [`NO_MASS_NAMES`]. Linear in age between the tabulated ages.
pub fn reference_mass_kg(name: &str, age_y: f64, sex: Sex) -> Result<f64, StylisedError> {
    check_age(age_y)?;
    if NO_MASS_NAMES.contains(&name) {
        return Ok(0.0);
    }
    if name == HEART_CONTENTS {
        let row = csv_row(ORNL_DCAL_MASSES_CSV, "Ht_Cont").ok_or_else(|| {
            bad(
                "reference",
                name.into(),
                "Ht_Cont missing from the ORNL/DCAL table".into(),
            )
        })?;
        let t: [f64; 6] = std::array::from_fn(|i| row.get(i).copied().unwrap_or(0.0) * 1e-3);
        return Ok(interp(&t, age_y));
    }
    let row = csv_row(ICRP155_MASSES_CSV, name).ok_or_else(|| {
        bad(
            "reference",
            name.into(),
            format!(
                "not an ICRP 155 source region of data/phantoms/icrp155_source_region_masses_kg.csv \
                 (nor {HEART_CONTENTS})"
            ),
        )
    })?;
    let off = match sex {
        Sex::Male => 0,
        Sex::Female => 1,
    };
    let t: [f64; 6] = std::array::from_fn(|i| row.get(2 * i + off).copied().unwrap_or(0.0));
    Ok(interp(&t, age_y))
}

/// The numbers of the row whose first field is `name`.
fn csv_row(text: &str, name: &str) -> Option<Vec<f64>> {
    text.lines().skip(1).find_map(|l| {
        let mut f = l.split(',');
        (f.next()?.trim() == name).then(|| f.filter_map(|x| x.trim().parse().ok()).collect())
    })
}

/// Who the body is for.
#[derive(Clone, Debug, PartialEq)]
pub struct BodySpec {
    /// Age \[y\]: 0 (newborn) to [`MAX_AGE_Y`]; adult reference values from 20 years.
    pub age_y: f64,
    /// Sex.
    pub sex: Sex,
    /// Standing height \[cm\]; `None`: the reference height for the age and sex.
    pub height_cm: Option<f64>,
    /// Body mass \[kg\]; `None`: the reference body mass for the age and sex.
    pub weight_kg: Option<f64>,
    /// Anteroposterior thickness of the torso \[cm\] (the trunk ellipse's full y extent).
    pub torso_ap_cm: Option<f64>,
    /// Lateral width of the torso \[cm\] (the trunk ellipse's full x extent, arms included
    /// as in the ORNL phantoms).
    pub torso_lateral_cm: Option<f64>,
}

impl BodySpec {
    /// The reference body for an age and sex.
    pub fn reference(age_y: f64, sex: Sex) -> Self {
        Self {
            age_y,
            sex,
            height_cm: None,
            weight_kg: None,
            torso_ap_cm: None,
            torso_lateral_cm: None,
        }
    }
}

/// How well one mass group was fitted (regions sharing reference names, e.g. both kidneys).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupFit {
    /// The reference names with mass (those of [`NO_MASS_NAMES`] left out).
    pub references: Vec<String>,
    /// Names of the group's regions.
    pub regions: Vec<String>,
    /// Their labels.
    pub labels: Vec<u32>,
    /// Target mass \[kg\]: the sum of the references' masses at the age and sex.
    pub target_kg: f64,
    /// The fitted body's mass of the group \[kg\] (exact line integration, precedence
    /// resolved).
    pub fitted_kg: f64,
}

/// What [`paediatric_body_fit`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Age \[y\].
    pub age_y: f64,
    /// Sex.
    pub sex: Sex,
    /// Standing height of the body \[cm\].
    pub height_cm: f64,
    /// Trunk length \[cm\].
    pub trunk_length_cm: f64,
    /// Leg length \[cm\].
    pub leg_length_cm: f64,
    /// Head (and neck) height \[cm\].
    pub head_height_cm: f64,
    /// Isotropic scale of the head against the base body.
    pub head_scale: f64,
    /// Trunk scale factors in x and y against the base body.
    pub trunk_scale_xy: [f64; 2],
    /// Leg cross-section scale factor against the trunk's.
    pub leg_scale: f64,
    /// Target total body mass \[kg\].
    pub body_mass_target_kg: f64,
    /// Fitted total body mass \[kg\].
    pub body_mass_kg: f64,
    /// Every mass group with its target and fitted mass.
    pub groups: Vec<GroupFit>,
    /// Inner iterations used, summed over the body-mass iterations.
    pub iterations: usize,
}

/// The body for `spec`: see the module documentation. Errors name the bad parameter
/// (age out of range, implausible height, weight or torso measures) or report a fit that
/// did not converge.
pub fn paediatric_body(spec: &BodySpec) -> Result<StylisedBody, StylisedError> {
    paediatric_body_fit(spec).map(|(b, _)| b)
}

/// Mass groups of a body: regions linked by shared reference names with mass (union of
/// regions naming any common name), as `(reference names, region indices)`, in the order
/// of their first region. Regions without such names are in no group.
pub fn mass_groups(body: &StylisedBody) -> Vec<(Vec<String>, Vec<usize>)> {
    let names = |i: usize| -> Vec<&String> {
        body.regions[i]
            .reference
            .iter()
            .filter(|n| !NO_MASS_NAMES.contains(&n.as_str()))
            .collect()
    };
    let mut groups: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
    for i in 0..body.regions.len() {
        let ns = names(i);
        if ns.is_empty() {
            continue;
        }
        let hits: Vec<usize> = (0..groups.len())
            .filter(|&g| ns.iter().any(|n| groups[g].0.contains(n)))
            .collect();
        let mut merged: (Vec<String>, Vec<usize>) = (Vec::new(), Vec::new());
        for &g in hits.iter().rev() {
            let (r, idx) = groups.remove(g);
            merged.0.extend(r);
            merged.1.extend(idx);
        }
        for n in ns {
            if !merged.0.contains(n) {
                merged.0.push(n.clone());
            }
        }
        merged.1.push(i);
        merged.1.sort_unstable();
        let at = hits
            .first()
            .copied()
            .unwrap_or(groups.len())
            .min(groups.len());
        groups.insert(at, merged);
    }
    groups.sort_by_key(|g| g.1[0]);
    groups
}

/// For each reference name used by `body` (ICRP 155 source-region names and the others
/// of [`NO_MASS_NAMES`] and [`HEART_CONTENTS`]), the labels of the regions that make it up,
/// in order of first appearance: the organ vocabulary for source and target regions of
/// organ dosimetry. A region naming several references (the small intestine: `SI-wall`
/// and `SI-cont`) appears under each; a reference made of several regions (`Kidneys`:
/// both kidneys; `C-bone-V`: every cortical shell) lists them all. The labels are those
/// of the voxelised phantom ([`super::voxelise::voxelise`]).
pub fn regions_by_reference(body: &StylisedBody) -> Vec<(String, Vec<u32>)> {
    let mut out: Vec<(String, Vec<u32>)> = Vec::new();
    for r in &body.regions {
        for n in &r.reference {
            match out.iter_mut().find(|(m, _)| m == n) {
                Some((_, labels)) => labels.push(r.label),
                None => out.push((n.clone(), vec![r.label])),
            }
        }
    }
    out
}

/// Body proportions against the base body.
#[derive(Clone, Copy, Debug)]
struct Proportions {
    trunk_mm: f64,
    leg_mm: f64,
    head_scale: f64,
    sx: f64,
    sy: f64,
    leg_f: f64,
}

/// Dimensions of the base body read from its regions and frames.
#[derive(Clone, Copy, Debug)]
struct BaseDims {
    trunk_mm: f64,
    leg_mm: f64,
    head_origin_above_trunk_mm: f64,
    head_height_mm: f64,
    trunk_half_axes_mm: [f64; 2],
}

fn base_dims(base: &StylisedBody) -> Result<BaseDims, StylisedError> {
    let frame = |n: &str| {
        base.frames.get(n).copied().ok_or_else(|| {
            bad(
                "frames",
                n.into(),
                "the base body needs frames body, trunk and head".into(),
            )
        })
    };
    frame("trunk")?;
    let head_o = frame("head")?;
    let bb = |n: &str| {
        base.region(n)
            .and_then(|r| r.solid.bounding_box())
            .ok_or_else(|| {
                bad(
                    "region",
                    n.into(),
                    "the base body needs regions trunk, head and leg_left".into(),
                )
            })
    };
    let trunk_b = bb("trunk")?;
    let head_b = bb("head")?;
    let leg_b = bb("leg_left")?;
    let trunk_mm = trunk_b.max_mm[2] - trunk_b.min_mm[2];
    Ok(BaseDims {
        trunk_mm,
        leg_mm: trunk_b.min_mm[2] - leg_b.min_mm[2],
        head_origin_above_trunk_mm: head_o[2] - trunk_b.max_mm[2],
        head_height_mm: head_b.max_mm[2] - trunk_b.max_mm[2],
        trunk_half_axes_mm: [
            0.5 * (trunk_b.max_mm[0] - trunk_b.min_mm[0]),
            0.5 * (trunk_b.max_mm[1] - trunk_b.min_mm[1]),
        ],
    })
}

/// The base body with its frames moved and scaled to `p` (organs, bones and walls still
/// at their base proportions).
fn frame_transform(base: &StylisedBody, d: &BaseDims, p: &Proportions) -> StylisedBody {
    let mut b = base.clone();
    let trunk_o = base.frames["trunk"];
    let head_o = base.frames["head"];
    let trunk_to = [0.0, 0.0, 0.5 * p.trunk_mm];
    let head_to = [
        0.0,
        0.0,
        p.trunk_mm + d.head_origin_above_trunk_mm * p.head_scale,
    ];
    let sz_t = p.trunk_mm / d.trunk_mm;
    let sz_l = p.leg_mm / d.leg_mm;
    for r in b.regions.iter_mut() {
        if r.derive.is_some() {
            continue;
        }
        let map = match r.frame.as_str() {
            "trunk" => AxisMap {
                from_mm: trunk_o,
                to_mm: trunk_to,
                scale: [p.sx, p.sy, sz_t],
            },
            "head" => AxisMap {
                from_mm: head_o,
                to_mm: head_to,
                scale: [p.head_scale; 3],
            },
            _ => AxisMap {
                from_mm: [0.0; 3],
                to_mm: [0.0; 3],
                scale: [p.sx, p.sy, sz_l],
            },
        };
        let mut s = r.solid.mapped(&map);
        if r.frame == "body" && r.name.starts_with("leg_") && p.leg_f != 1.0 {
            s = Solid {
                parts: s
                    .parts
                    .iter()
                    .map(|part| {
                        let c = part.base.placement.centre_mm;
                        part.mapped(&AxisMap {
                            from_mm: [c[0], c[1], 0.0],
                            to_mm: [c[0], c[1], 0.0],
                            scale: [p.leg_f, p.leg_f, 1.0],
                        })
                    })
                    .collect(),
            };
        }
        r.solid = s;
    }
    b.frames.insert("trunk".into(), trunk_to);
    b.frames.insert("head".into(), head_to);
    b
}

/// What the fit does with a region.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    /// Body part (trunk, head, legs, scrotum): shaped by the proportions only.
    Part,
    /// Organ scaled about its centre.
    Organ,
    /// Bone (cortical shell with a spongiosa core): thinned.
    Bone,
    /// Core (contents, spongiosa) of region `usize`: its wall thickness is solved.
    Core(usize),
    /// Skin-like shell: its thickness is solved.
    Shell,
}

/// A bone thinned by `d_mm` (negative: thickened): rounded cavities grow by `d_mm`,
/// parts without a cavity shrink in cross-section by `d_mm`.
fn thin(solid: &Solid, d_mm: f64) -> Solid {
    let mut parts = Vec::new();
    for p in &solid.parts {
        let has_cavity = p.subtract.iter().any(|s| !s.is_cut());
        if has_cavity {
            let mut q = p.clone();
            let mut ok = true;
            for s in q.subtract.iter_mut() {
                if !s.is_cut() {
                    match s.offset(-d_mm, false) {
                        Some(n) => *s = n,
                        None => ok = false,
                    }
                }
            }
            if ok {
                parts.push(q);
            }
        } else if let Some(base) = p.base.offset(d_mm, false) {
            parts.push(Part {
                base,
                subtract: p.subtract.clone(),
                intersect: p.intersect.clone(),
            });
        }
    }
    Solid { parts }
}

/// The smallest positive length of a solid's base primitives, and of its cavities \[mm\].
fn min_lengths(solid: &Solid) -> (f64, f64) {
    use super::geometry::Shape;
    let len = |s: &Shape| -> f64 {
        match *s {
            Shape::Ellipsoid { semi_axes_mm } => semi_axes_mm.into_iter().fold(f64::MAX, f64::min),
            Shape::EllipticCylinder { semi_axes_mm, .. } => semi_axes_mm[0].min(semi_axes_mm[1]),
            Shape::EllipticCone {
                base_semi_axes_mm, ..
            } => base_semi_axes_mm[0].min(base_semi_axes_mm[1]),
            Shape::Torus {
                minor_radius_mm, ..
            } => minor_radius_mm,
            Shape::Box { half_sizes_mm } => half_sizes_mm.into_iter().fold(f64::MAX, f64::min),
            Shape::HalfSpace { .. } => f64::MAX,
        }
    };
    let mut base = 0.0f64;
    let mut cav = f64::MAX;
    for p in &solid.parts {
        base = base.max(len(&p.base.shape));
        for s in &p.subtract {
            if !s.is_cut() {
                cav = cav.min(len(&s.shape));
            }
        }
    }
    (base, cav)
}

/// Integration step \[mm\] for a region's volume: a fortieth of its smaller extent in y
/// and z, between 0.1 and 2 mm (2 mm for body parts).
fn step_for(solid: &Solid, part: bool) -> f64 {
    if part {
        return 2.0;
    }
    match solid.bounding_box() {
        Some(b) => {
            ((b.max_mm[1] - b.min_mm[1]).min(b.max_mm[2] - b.min_mm[2]) / 40.0).clamp(0.1, 2.0)
        }
        None => 1.0,
    }
}

fn solid_volume_cm3(solid: &Solid, step: f64) -> f64 {
    solid.integrated_volume_mm3(step).unwrap_or(0.0) * 1e-3
}

/// Sum of the volumes of `parts` \[cm^3\]: closed forms where a part has one, otherwise
/// line integration of the part alone on a fixed 48 x 48 grid of lines over its bounding
/// box (so that the value changes smoothly with the part). Overlaps between parts count
/// twice; the fit only needs a smooth monotone measure of size (it corrects with the
/// precedence-resolved masses).
fn parts_volume_cm3(parts: &[Part]) -> f64 {
    const N: usize = 48;
    parts
        .iter()
        .map(|p| match p.analytic_volume_mm3() {
            Some(v) => v * 1e-3,
            None => {
                let Some(b) = p.bounding_box() else {
                    return 0.0;
                };
                let dy = (b.max_mm[1] - b.min_mm[1]) / N as f64;
                let dz = (b.max_mm[2] - b.min_mm[2]) / N as f64;
                let mut v = 0.0;
                for iz in 0..N {
                    let z = b.min_mm[2] + (iz as f64 + 0.5) * dz;
                    for iy in 0..N {
                        let y = b.min_mm[1] + (iy as f64 + 0.5) * dy;
                        for (a, c) in p.x_intervals(y, z, b.min_mm[0] - 1.0, b.max_mm[0] + 1.0) {
                            v += c - a;
                        }
                    }
                }
                v * dy * dz * 1e-3
            }
        })
        .sum()
}

/// Volume of the core of `outer` for wall thickness `t_mm`.
fn core_volume(outer: &Solid, t_mm: f64, ends: bool) -> f64 {
    let parts: Vec<Part> = outer
        .parts
        .iter()
        .filter_map(|p| p.core(t_mm, ends))
        .collect();
    parts_volume_cm3(&parts)
}

/// Parts of the sources of shell region `i`.
fn shell_sources(body: &StylisedBody, i: usize) -> Vec<Part> {
    match &body.regions[i].derive {
        Some(d) => {
            d.of.iter()
                .filter_map(|s| body.region(s))
                .flat_map(|r| r.solid.parts.iter().cloned())
                .collect()
        }
        None => Vec::new(),
    }
}

/// Volume of the shell of thickness `t_mm` over `srcs`: their volume minus that of their
/// bases moved inwards.
fn shell_volume(srcs: &[Part], t_mm: f64, ends: bool) -> f64 {
    let inner: Vec<Part> = srcs
        .iter()
        .filter_map(|p| {
            Some(Part {
                base: p.base.offset(t_mm, ends)?,
                subtract: p.subtract.clone(),
                intersect: p.intersect.clone(),
            })
        })
        .collect();
    parts_volume_cm3(srcs) - parts_volume_cm3(&inner)
}

/// One safeguarded Newton step towards `f(x) = goal` from `x` (derivative by a finite
/// difference), kept in `[lo, hi]`.
fn newton_step(f: &dyn Fn(f64) -> f64, goal: f64, x: f64, lo: f64, hi: f64) -> f64 {
    let x = x.clamp(lo, hi);
    let h = (0.02 * (hi - lo).max(0.0)).clamp(1e-4, 0.05);
    let x2 = if x + h <= hi { x + h } else { x - h };
    let (f1, f2) = (f(x), f(x2));
    let slope = (f2 - f1) / (x2 - x);
    if !(slope.is_finite()) || slope == 0.0 {
        return x;
    }
    let step = (goal - f1) / slope;
    // Limit a step to a quarter of the range.
    let step = step.clamp(-0.25 * (hi - lo), 0.25 * (hi - lo));
    (x + step).clamp(lo, hi)
}

/// [`paediatric_body`] with a report of the fit (proportions, each mass group's target
/// and fitted mass).
pub fn paediatric_body_fit(spec: &BodySpec) -> Result<(StylisedBody, FitReport), StylisedError> {
    let age = spec.age_y;
    check_age(age)?;
    let sex = spec.sex;
    let h_ref = reference_height_cm(age, sex)?;
    let m_ref = reference_body_mass_kg(age, sex)?;
    let height_cm = match spec.height_cm {
        None => h_ref,
        Some(h) => {
            let [lo, hi] = HEIGHT_RATIO_RANGE;
            if !(h.is_finite() && h >= lo * h_ref && h <= hi * h_ref) {
                return Err(bad(
                    "height_cm",
                    h.to_string(),
                    format!(
                        "implausible for a {sex} aged {age} y (reference {h_ref:.0} cm): \
                         expected {:.0} to {:.0} cm",
                        lo * h_ref,
                        hi * h_ref
                    ),
                ));
            }
            h
        }
    };
    let mass_target = match spec.weight_kg {
        None => {
            if spec.height_cm.is_some() {
                // Same body mass index as the reference.
                m_ref * (height_cm / h_ref).powi(2)
            } else {
                m_ref
            }
        }
        Some(w) => {
            let bmi_ref = m_ref / (h_ref / 100.0).powi(2);
            let [lo, hi] = BMI_RATIO_RANGE;
            let bmi = w / (height_cm / 100.0).powi(2);
            if !(w.is_finite() && w > 0.0 && bmi >= lo * bmi_ref && bmi <= hi * bmi_ref) {
                return Err(bad(
                    "weight_kg",
                    w.to_string(),
                    format!(
                        "implausible for a {sex} aged {age} y, {height_cm:.0} cm tall (BMI \
                         {bmi:.1} kg/m2; reference {bmi_ref:.1}): expected {:.1} to {:.1} kg \
                         (BMI {:.1} to {:.1})",
                        lo * bmi_ref * (height_cm / 100.0).powi(2),
                        hi * bmi_ref * (height_cm / 100.0).powi(2),
                        lo * bmi_ref,
                        hi * bmi_ref
                    ),
                ));
            }
            w
        }
    };

    let base = StylisedBody::from_toml(BASE_TOML, BASE_FILE, sex)?;
    let dims = base_dims(&base)?;
    let n = base.regions.len();
    let mut density = Vec::with_capacity(n);
    for r in &base.regions {
        density.push(r.density_g_cm3.ok_or_else(|| {
            bad(
                &format!("region '{}'.density_g_cm3", r.name),
                "none".into(),
                "the base body must give every region's density".into(),
            )
        })?);
    }

    // Roles.
    let mut role = vec![Role::Part; n];
    for (i, r) in base.regions.iter().enumerate() {
        let has_mass = r
            .reference
            .iter()
            .any(|x| !NO_MASS_NAMES.contains(&x.as_str()));
        role[i] = match &r.derive {
            Some(d) if d.kind == DeriveKind::Core => {
                let src = base
                    .regions
                    .iter()
                    .position(|s| s.name == d.of[0])
                    .unwrap_or(i);
                Role::Core(src)
            }
            Some(_) => Role::Shell,
            None if r.reference.iter().any(|x| x == "C-bone-V") => Role::Bone,
            None if has_mass => Role::Organ,
            None => Role::Part,
        };
    }
    let core_of_src: Vec<Option<usize>> = (0..n)
        .map(|i| (0..n).find(|&c| role[c] == Role::Core(i)))
        .collect();

    // Target masses of the groups.
    let groups = mass_groups(&base);
    let mut group_target = Vec::with_capacity(groups.len());
    for (refs, _) in &groups {
        let mut m = 0.0;
        for r in refs {
            m += reference_mass_kg(r, age, sex)?;
        }
        group_target.push(m);
    }

    // Proportions.
    let brain_i = base
        .regions
        .iter()
        .position(|r| r.reference.iter().any(|x| x == "Brain"))
        .ok_or_else(|| {
            bad(
                "region",
                "brain".into(),
                "the base body needs a Brain region".into(),
            )
        })?;
    let brain_base_kg = resolved_volume_cm3(&base, brain_i, 1.0) * density[brain_i] * 1e-3;
    let head_scale = (reference_mass_kg("Brain", age, sex)? / brain_base_kg).cbrt();
    let head_mm = dims.head_height_mm * head_scale;
    let leg_mm = leg_fraction(age)? * height_cm * 10.0;
    let trunk_mm = height_cm * 10.0 - leg_mm - head_mm;
    if trunk_mm < 0.2 * height_cm * 10.0 {
        return Err(bad(
            "height_cm",
            height_cm.to_string(),
            format!(
                "leaves a trunk of {:.1} cm under a head of {:.1} cm: expected a taller body",
                trunk_mm / 10.0,
                head_mm / 10.0
            ),
        ));
    }
    // Initial cross-section: body mass roughly proportional to trunk+legs volume.
    let base_mass_kg = m_ref_base_guess(&base, &density);
    let vol_ratio = (mass_target / base_mass_kg).max(1e-3);
    let z_ratio = (trunk_mm + 2.0 * leg_mm) / (dims.trunk_mm + 2.0 * dims.leg_mm);
    let q0 = (vol_ratio / z_ratio).sqrt();
    let (fixed_trunk, mut sx, mut sy) = match (spec.torso_lateral_cm, spec.torso_ap_cm) {
        (None, None) => (false, q0, q0),
        (lat, ap) => {
            let sx = lat.map(|w| w * 5.0 / dims.trunk_half_axes_mm[0]);
            let sy = ap.map(|t| t * 5.0 / dims.trunk_half_axes_mm[1]);
            let (sx, sy) = match (sx, sy) {
                (Some(x), Some(y)) => (x, y),
                (Some(x), None) => (x, x),
                (None, Some(y)) => (y, y),
                (None, None) => (q0, q0),
            };
            for (key, s, v) in [
                ("torso_lateral_cm", sx, spec.torso_lateral_cm),
                ("torso_ap_cm", sy, spec.torso_ap_cm),
            ] {
                let [lo, hi] = TORSO_RATIO_RANGE;
                if let Some(v) = v {
                    if !(s.is_finite() && s >= lo * q0 && s <= hi * q0) {
                        let full = if key == "torso_ap_cm" {
                            2.0 * dims.trunk_half_axes_mm[1]
                        } else {
                            2.0 * dims.trunk_half_axes_mm[0]
                        } / 10.0;
                        return Err(bad(
                            key,
                            v.to_string(),
                            format!(
                                "implausible for a {sex} aged {age} y of {mass_target:.1} kg: \
                                 expected {:.1} to {:.1} cm",
                                lo * q0 * full,
                                hi * q0 * full
                            ),
                        ));
                    }
                }
            }
            (true, sx, sy)
        }
    };
    let mut leg_f = 1.0;

    let mut k = vec![1.0f64; n];
    let mut delta = vec![0.0f64; n];
    let mut wall: Vec<f64> = base
        .regions
        .iter()
        .map(|r| r.derive.as_ref().map(|d| d.wall_mm).unwrap_or(0.0))
        .collect();
    let mut iterations = 0usize;
    let mut report_groups = Vec::new();
    let mut body_mass = 0.0;
    let mut body = base.clone();
    for outer in 0..8 {
        let p = Proportions {
            trunk_mm,
            leg_mm,
            head_scale,
            sx,
            sy,
            leg_f,
        };
        let framed = frame_transform(&base, &dims, &p);
        let geom0: Vec<Solid> = framed.regions.iter().map(|r| r.solid.clone()).collect();
        let centre: Vec<P3> = geom0
            .iter()
            .map(|s| {
                s.bounding_box()
                    .map(|b| [0, 1, 2].map(|a| 0.5 * (b.min_mm[a] + b.max_mm[a])))
                    .unwrap_or([0.0; 3])
            })
            .collect();
        body = framed;
        // Wall thicknesses start scaled with the body.
        if outer == 0 {
            let lin = (sx * sy * trunk_mm / dims.trunk_mm).cbrt();
            for (i, r) in body.regions.iter().enumerate() {
                if r.derive.is_some() {
                    let s = if r.frame == "head" { head_scale } else { lin };
                    wall[i] *= s;
                }
            }
        }
        // Bone shares of the skeleton (outer volumes after the frame transform).
        let bone_vol: Vec<f64> = (0..n)
            .map(|i| {
                if role[i] == Role::Bone {
                    solid_volume_cm3(&geom0[i], step_for(&geom0[i], false))
                } else {
                    0.0
                }
            })
            .collect();
        let apply = |body: &mut StylisedBody, k: &[f64], delta: &[f64], wall: &[f64]| {
            for i in 0..n {
                match role[i] {
                    Role::Organ => {
                        body.regions[i].solid = geom0[i].mapped(&AxisMap::about(centre[i], k[i]))
                    }
                    Role::Bone => body.regions[i].solid = thin(&geom0[i], delta[i]),
                    _ => {}
                }
                if let Some(d) = body.regions[i].derive.as_mut() {
                    d.wall_mm = wall[i];
                }
            }
            body.rederive()
        };
        let map_err = |(key, message): (String, String)| StylisedError::Invalid {
            source_name: BASE_FILE.into(),
            key,
            message,
        };
        apply(&mut body, &k, &delta, &wall).map_err(map_err)?;

        // Region target masses: group target shared by the base proportions of this pass.
        let mut target = vec![0.0f64; n];
        let mut mass = vec![0.0f64; n];
        // Integration steps, fixed for this pass (lines on a fixed lattice).
        let cells: Vec<Vec<[usize; 2]>> = body
            .regions
            .iter()
            .map(|r| part_cells(r, FIT_STEP_MM))
            .collect();
        // Relaxation of each group's updates: halved when its error changes sign.
        let mut omega = vec![1.0f64; groups.len()];
        let mut dev_prev = vec![0.0f64; groups.len()];
        let group_of: Vec<Option<usize>> = (0..n)
            .map(|i| groups.iter().position(|g| g.1.contains(&i)))
            .collect();
        let mut converged = false;
        let mut best: Option<(f64, StylisedBody, Vec<f64>)> = None;
        for inner in 0..MAX_INNER {
            iterations += 1;
            let fresh: Vec<f64> = (0..n)
                .into_par_iter()
                .map(|i| {
                    if role[i] != Role::Part {
                        resolved_volume_with_cells(&body, i, &cells[i]) * density[i] * 1e-3
                    } else {
                        0.0
                    }
                })
                .collect();
            for i in 0..n {
                if role[i] != Role::Part {
                    mass[i] = fresh[i];
                }
            }
            if inner == 0 {
                for (g, (_, idx)) in groups.iter().enumerate() {
                    let weight = |i: usize| -> f64 {
                        match role[i] {
                            Role::Bone => bone_vol[i],
                            Role::Core(src) if role[src] == Role::Bone => bone_vol[src],
                            _ => mass[i].max(1e-12),
                        }
                    };
                    let wsum: f64 = idx.iter().map(|&i| weight(i)).sum();
                    for &i in idx {
                        target[i] = group_target[g] * weight(i) / wsum;
                    }
                }
            }
            let dev: Vec<f64> = groups
                .iter()
                .enumerate()
                .map(|(g, (_, idx))| {
                    let m: f64 = idx.iter().map(|&i| mass[i]).sum();
                    if group_target[g] > 0.0 {
                        m / group_target[g] - 1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let worst = dev.iter().fold(0.0f64, |a, d| a.max(d.abs()));
            if worst < FIT_TOLERANCE {
                converged = true;
                break;
            }
            if best.as_ref().map(|b| worst < b.0).unwrap_or(true) {
                best = Some((worst, body.clone(), mass.clone()));
            }
            for g in 0..groups.len() {
                if inner > 0 && dev[g] * dev_prev[g] < 0.0 {
                    omega[g] = (omega[g] * 0.5).max(0.125);
                }
                dev_prev[g] = dev[g];
            }
            let om = |i: usize| -> f64 {
                let mut w = group_of[i].map(|g| omega[g]).unwrap_or(1.0);
                if let Some(c) = core_of_src[i] {
                    w = w.min(group_of[c].map(|g| omega[g]).unwrap_or(1.0));
                }
                w
            };
            let ratio = |num: f64, den: f64| -> f64 {
                if den > 1e-12 && num > 0.0 {
                    (num / den).clamp(0.3, 3.0)
                } else {
                    1.0
                }
            };
            // Volumes wanted for the walls: the target volume, corrected by what later
            // regions take (solid alone over resolved, both of the geometry before this
            // update).
            let mut want = vec![0.0f64; n];
            for i in 0..n {
                let ends = body.regions[i]
                    .derive
                    .as_ref()
                    .map(|d| d.ends)
                    .unwrap_or(false);
                let now = match role[i] {
                    Role::Core(src) => core_volume(&body.regions[src].solid, wall[i], ends),
                    Role::Shell => shell_volume(&shell_sources(&body, i), wall[i], ends),
                    _ => continue,
                };
                want[i] = target[i] / density[i] * 1e3 * ratio(now, mass[i] / density[i] * 1e3);
            }
            // Organs: cube-root update of the scale (wall and contents together).
            for i in 0..n {
                if role[i] != Role::Organ {
                    continue;
                }
                let (mut t, mut m) = (target[i], mass[i]);
                if let Some(c) = core_of_src[i] {
                    t += target[c];
                    m += mass[c];
                }
                k[i] *= if m > 1e-12 {
                    (t / m).powf(om(i) / 3.0).clamp(0.6, 1.6)
                } else {
                    1.5
                };
            }
            // Bones: one secant step of the thinning for the bone's volume.
            for i in 0..n {
                if role[i] != Role::Bone {
                    continue;
                }
                let c = core_of_src[i];
                let rho_c = density[i];
                let rho_s = c.map(|c| density[c]).unwrap_or(rho_c);
                let tc = target[i];
                let ts = c.map(|c| target[c]).unwrap_or(0.0);
                let res = (mass[i] / rho_c + c.map(|c| mass[c] / rho_s).unwrap_or(0.0)) * 1e3;
                let (base_len, cav_len) = min_lengths(&geom0[i]);
                let lo = if cav_len < f64::MAX {
                    -0.9 * cav_len
                } else {
                    -base_len
                };
                let hi = 0.98 * base_len;
                let f = |d: f64| parts_volume_cm3(&thin(&geom0[i], d).parts);
                let goal = (tc / rho_c + ts / rho_s) * 1e3 * ratio(f(delta[i]), res);
                let d_new = newton_step(&f, goal, delta[i], lo, hi);
                delta[i] += om(i) * (d_new - delta[i]);
            }
            apply(&mut body, &k, &delta, &wall).map_err(map_err)?;
            // Walls on the updated outer solids: one secant step each.
            for i in 0..n {
                match role[i] {
                    Role::Core(src) => {
                        let ends = body.regions[i]
                            .derive
                            .as_ref()
                            .map(|d| d.ends)
                            .unwrap_or(false);
                        let outer = body.regions[src].solid.clone();
                        let (base_len, _) = min_lengths(&outer);
                        let f = |t: f64| core_volume(&outer, t, ends);
                        let t_new = newton_step(&f, want[i], wall[i], 1e-3, 0.98 * base_len);
                        wall[i] += om(i) * (t_new - wall[i]);
                    }
                    Role::Shell => {
                        let srcs = shell_sources(&body, i);
                        let ends = body.regions[i]
                            .derive
                            .as_ref()
                            .map(|d| d.ends)
                            .unwrap_or(false);
                        let f = |t: f64| shell_volume(&srcs, t, ends);
                        let t_new = newton_step(&f, want[i], wall[i], 1e-3, 20.0);
                        wall[i] += om(i) * (t_new - wall[i]);
                    }
                    _ => {}
                }
            }
            apply(&mut body, &k, &delta, &wall).map_err(map_err)?;
        }
        if !converged {
            match best.take() {
                Some((w, b, m)) if w < FIT_ACCEPT => {
                    body = b;
                    mass = m;
                }
                Some((w, _, _)) => {
                    return Err(bad(
                        "age_y",
                        age.to_string(),
                        format!(
                            "the organ masses of a {sex} aged {age} y did not converge (worst \
                             group {:.1} % off after {MAX_INNER} iterations)",
                            100.0 * w
                        ),
                    ))
                }
                None => {}
            }
        }
        // Total body mass.
        for i in 0..n {
            if role[i] == Role::Part {
                mass[i] = resolved_volume_cm3(&body, i, 2.0) * density[i] * 1e-3;
            }
        }
        body_mass = mass.iter().sum();
        report_groups = groups
            .iter()
            .enumerate()
            .map(|(g, (refs, idx))| GroupFit {
                references: refs.clone(),
                regions: idx.iter().map(|&i| body.regions[i].name.clone()).collect(),
                labels: idx.iter().map(|&i| body.regions[i].label).collect(),
                target_kg: group_target[g],
                fitted_kg: idx.iter().map(|&i| mass[i]).sum(),
            })
            .collect();
        if (body_mass / mass_target - 1.0).abs() < FIT_TOLERANCE {
            break;
        }
        // Soft filler: the trunk and legs solids (their whole mass at their density).
        let filler = |names: &[&str]| -> f64 {
            names
                .iter()
                .filter_map(|nm| body.regions.iter().position(|r| r.name == *nm))
                .map(|i| solid_volume_cm3(&body.regions[i].solid, 2.0) * density[i] * 1e-3)
                .sum()
        };
        if fixed_trunk {
            let a = filler(&["leg_left", "leg_right"]);
            let r2 = (a + mass_target - body_mass) / a;
            if r2.is_nan() || r2 <= 0.2 {
                return Err(bad(
                    "weight_kg",
                    format!("{mass_target}"),
                    "cannot be reached with the given torso measures (the legs would vanish)"
                        .into(),
                ));
            }
            leg_f *= r2.sqrt();
            if !(0.5..=2.0).contains(&leg_f) {
                return Err(bad(
                    "weight_kg",
                    format!("{mass_target}"),
                    format!("does not fit the given torso measures (the legs' cross-section would scale by {leg_f:.2}): check the weight and torso measures"),
                ));
            }
        } else {
            let a = filler(&["trunk", "leg_left", "leg_right"]);
            let r2 = ((a + mass_target - body_mass) / a).max(0.25);
            sx *= r2.sqrt();
            sy *= r2.sqrt();
        }
        if outer == 7 {
            return Err(bad(
                "weight_kg",
                format!("{mass_target}"),
                "the total body mass did not converge".into(),
            ));
        }
    }
    for i in 0..n {
        if let Some(d) = body.regions[i].derive.as_mut() {
            d.wall_mm = wall[i];
        }
    }
    body.name =
        format!("pedisim stylised family: {sex}, {age} y, {height_cm:.1} cm, {mass_target:.2} kg");
    Ok((
        body,
        FitReport {
            age_y: age,
            sex,
            height_cm,
            trunk_length_cm: trunk_mm / 10.0,
            leg_length_cm: leg_mm / 10.0,
            head_height_cm: head_mm / 10.0,
            head_scale,
            trunk_scale_xy: [sx, sy],
            leg_scale: leg_f,
            body_mass_target_kg: mass_target,
            body_mass_kg: body_mass,
            groups: report_groups,
            iterations,
        },
    ))
}

/// A rough total mass of the base body \[kg\] (bounding volumes of the trunk, head and legs
/// at their densities), for the first guess of the cross-section scale.
fn m_ref_base_guess(base: &StylisedBody, density: &[f64]) -> f64 {
    ["trunk", "head", "leg_left", "leg_right"]
        .iter()
        .filter_map(|nm| base.regions.iter().position(|r| r.name == *nm))
        .map(|i| solid_volume_cm3(&base.regions[i].solid, 2.0) * density[i] * 1e-3)
        .sum()
}
