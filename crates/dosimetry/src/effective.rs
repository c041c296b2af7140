//! Effective dose with the tissue weighting factors of ICRP Publication 103 (2007).
//!
//! `E = Σ_T w_T (H_T^M + H_T^F) / 2` (ICRP 103's sex-averaging of the equivalent doses of
//! the reference male and female): the equivalent dose of each tissue is averaged over the
//! sexes, then weighted. The radiation weighting factor is 1 for
//! photons and electrons (ICRP 103 Table 2), so `H_T = D_T` here: alpha emitters are not
//! supported by this function.
//!
//! Each tissue's absorbed dose is the **mass-weighted mean** of the doses of the target
//! regions mapped to it ([`TissueMapping`]); the default mapping
//! ([`TissueMapping::icrp155_regions`]) uses the ICRP 133/155 region names of the
//! phantoms:
//!
//! * colon: mass-weighted mean of the right colon, left colon and rectosigmoid walls
//!   (`RC-wall`, `LC-wall`, `RS-wall`), as ICRP 110/133 do;
//! * bone surface (endosteum, the 50 µm layer on the bone surfaces in the marrow
//!   cavities): a stylised phantom has no bone microstructure, so it is approximated by
//!   the mean dose of the spongiosa (`T-bone-V`, the trabecular bone with its marrow in
//!   the stylised phantom) in which the endosteum lies. This is good for photons; for
//!   short-range emitters on bone surfaces (e.g. phosphonates) it underestimates the
//!   endosteal dose, and for emitters in marrow it is between the marrow and bone doses;
//! * remainder: the arithmetic mean of the equivalent doses of the 13 remainder tissues of
//!   each sex (ICRP 103 Table 3, footnote: adrenals, extrathoracic region, gall bladder,
//!   heart, kidneys, lymphatic nodes, muscle, oral mucosa, pancreas, prostate (male),
//!   small intestine, spleen, thymus, uterus/cervix (female)).
//!
//! A tissue with no mapped target in the dose table is an error naming it; a missing
//! remainder tissue is an error too unless [`RemainderPolicy::AverageAvailable`] is chosen
//! (the stylised phantoms lack some remainder organs), which averages the remainder
//! tissues present and reports the missing ones.
//!
//! **Uncertainty**: E is a linear combination of target doses; target doses are taken as
//! independent and their uncertainties added in quadrature through the coefficients.

use std::collections::HashMap;

use crate::{input_error, Result};

/// Sex of a reference phantom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Male.
    Male,
    /// Female.
    Female,
}

/// The tissues of ICRP 103 Table 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tissue {
    /// Red (active) bone marrow.
    RedMarrow,
    /// Colon.
    Colon,
    /// Lung.
    Lung,
    /// Stomach.
    Stomach,
    /// Breast.
    Breast,
    /// Remainder tissues (see [`RemainderTissue`]).
    Remainder,
    /// Gonads (testes or ovaries).
    Gonads,
    /// Urinary bladder.
    Bladder,
    /// Oesophagus.
    Oesophagus,
    /// Liver.
    Liver,
    /// Thyroid.
    Thyroid,
    /// Bone surface (endosteum).
    BoneSurface,
    /// Brain.
    Brain,
    /// Salivary glands.
    SalivaryGlands,
    /// Skin.
    Skin,
}

/// Tissue weighting factors w_T of ICRP Publication 103 (2007), Table 3 (dimensionless;
/// they add up to 1).
pub const ICRP103_TISSUE_WEIGHTS: [(Tissue, f64); 15] = [
    (Tissue::RedMarrow, 0.12),
    (Tissue::Colon, 0.12),
    (Tissue::Lung, 0.12),
    (Tissue::Stomach, 0.12),
    (Tissue::Breast, 0.12),
    (Tissue::Remainder, 0.12),
    (Tissue::Gonads, 0.08),
    (Tissue::Bladder, 0.04),
    (Tissue::Oesophagus, 0.04),
    (Tissue::Liver, 0.04),
    (Tissue::Thyroid, 0.04),
    (Tissue::BoneSurface, 0.01),
    (Tissue::Brain, 0.01),
    (Tissue::SalivaryGlands, 0.01),
    (Tissue::Skin, 0.01),
];

/// The remainder tissues of ICRP 103 Table 3 (13 per sex).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemainderTissue {
    /// Adrenals.
    Adrenals,
    /// Extrathoracic (ET) region.
    ExtrathoracicRegion,
    /// Gall bladder.
    GallBladder,
    /// Heart.
    Heart,
    /// Kidneys.
    Kidneys,
    /// Lymphatic nodes.
    LymphaticNodes,
    /// Muscle.
    Muscle,
    /// Oral mucosa.
    OralMucosa,
    /// Pancreas.
    Pancreas,
    /// Prostate (male only).
    Prostate,
    /// Small intestine.
    SmallIntestine,
    /// Spleen.
    Spleen,
    /// Thymus.
    Thymus,
    /// Uterus/cervix (female only).
    UterusCervix,
}

impl RemainderTissue {
    /// All 14, both sexes together.
    pub const ALL: [RemainderTissue; 14] = [
        RemainderTissue::Adrenals,
        RemainderTissue::ExtrathoracicRegion,
        RemainderTissue::GallBladder,
        RemainderTissue::Heart,
        RemainderTissue::Kidneys,
        RemainderTissue::LymphaticNodes,
        RemainderTissue::Muscle,
        RemainderTissue::OralMucosa,
        RemainderTissue::Pancreas,
        RemainderTissue::Prostate,
        RemainderTissue::SmallIntestine,
        RemainderTissue::Spleen,
        RemainderTissue::Thymus,
        RemainderTissue::UterusCervix,
    ];

    /// Whether the tissue belongs to the remainder of `sex` (13 per sex).
    pub fn applies_to(self, sex: Sex) -> bool {
        match self {
            RemainderTissue::Prostate => sex == Sex::Male,
            RemainderTissue::UterusCervix => sex == Sex::Female,
            _ => true,
        }
    }
}

/// Which target regions make up each tissue, per sex.
#[derive(Debug, Clone, PartialEq)]
pub struct TissueMapping {
    /// Targets of each weighted tissue other than the remainder, per sex.
    pub tissues: HashMap<(Tissue, Sex), Vec<String>>,
    /// Targets of each remainder tissue (for the sexes it applies to).
    pub remainder: HashMap<RemainderTissue, Vec<String>>,
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl TissueMapping {
    /// The default mapping onto ICRP 133/155 region names (see the module documentation
    /// for colon and bone surface).
    pub fn icrp155_regions() -> Self {
        let mut tissues = HashMap::new();
        for sex in [Sex::Male, Sex::Female] {
            let both: [(Tissue, &[&str]); 13] = [
                (Tissue::RedMarrow, &["R-marrow"]),
                (Tissue::Colon, &["RC-wall", "LC-wall", "RS-wall"]),
                (Tissue::Lung, &["Lungs"]),
                (Tissue::Stomach, &["St-wall"]),
                (Tissue::Breast, &["Breast"]),
                (Tissue::Bladder, &["UB-wall"]),
                (Tissue::Oesophagus, &["Oesophag-w"]),
                (Tissue::Liver, &["Liver"]),
                (Tissue::Thyroid, &["Thyroid"]),
                (Tissue::BoneSurface, &["T-bone-V"]),
                (Tissue::Brain, &["Brain"]),
                (Tissue::SalivaryGlands, &["S-glands"]),
                (Tissue::Skin, &["Skin"]),
            ];
            for (t, n) in both {
                tissues.insert((t, sex), names(n));
            }
        }
        tissues.insert((Tissue::Gonads, Sex::Male), names(&["Testes"]));
        tissues.insert((Tissue::Gonads, Sex::Female), names(&["Ovaries"]));
        let remainder = [
            (RemainderTissue::Adrenals, &["Adrenals"][..]),
            (
                RemainderTissue::ExtrathoracicRegion,
                &["ET1-wall", "ET2-wall"][..],
            ),
            (RemainderTissue::GallBladder, &["GB-wall"][..]),
            (RemainderTissue::Heart, &["Ht-wall"][..]),
            (RemainderTissue::Kidneys, &["Kidneys"][..]),
            (
                RemainderTissue::LymphaticNodes,
                &["LN-ET", "LN-Th", "LN-Sys"][..],
            ),
            (RemainderTissue::Muscle, &["Muscle"][..]),
            (RemainderTissue::OralMucosa, &["O-mucosa"][..]),
            (RemainderTissue::Pancreas, &["Pancreas"][..]),
            (RemainderTissue::Prostate, &["Prostate"][..]),
            (RemainderTissue::SmallIntestine, &["SI-wall"][..]),
            (RemainderTissue::Spleen, &["Spleen"][..]),
            (RemainderTissue::Thymus, &["Thymus"][..]),
            (RemainderTissue::UterusCervix, &["Uterus"][..]),
        ]
        .into_iter()
        .map(|(t, n)| (t, names(n)))
        .collect();
        TissueMapping { tissues, remainder }
    }
}

/// Dose of one target region of a phantom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetDose {
    /// Absorbed dose per unit administered activity, mGy/MBq.
    pub dose_mgy_per_mbq: f64,
    /// Its standard uncertainty, mGy/MBq.
    pub uncertainty_mgy_per_mbq: f64,
    /// Mass of the target region in the phantom, kg (weights the mean over a tissue's
    /// targets).
    pub mass_kg: f64,
}

/// How to treat remainder tissues the phantom lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemainderPolicy {
    /// A missing remainder tissue is an error (ICRP 103 as written).
    Strict,
    /// Average over the remainder tissues present; the missing ones are reported.
    AverageAvailable,
}

/// Equivalent dose of one weighted tissue for both sexes.
#[derive(Debug, Clone, PartialEq)]
pub struct TissueDose {
    /// The tissue.
    pub tissue: Tissue,
    /// Its weighting factor.
    pub weight: f64,
    /// Equivalent dose in the male phantom, mSv/MBq.
    pub male_msv_per_mbq: f64,
    /// Equivalent dose in the female phantom, mSv/MBq.
    pub female_msv_per_mbq: f64,
}

/// The sex-averaged effective dose.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveDose {
    /// Effective dose per unit administered activity, mSv/MBq.
    pub effective_msv_per_mbq: f64,
    /// Its standard uncertainty, mSv/MBq.
    pub uncertainty_msv_per_mbq: f64,
    /// Equivalent doses of the weighted tissues.
    pub tissues: Vec<TissueDose>,
    /// Remainder tissues that were missing, per sex (only with
    /// [`RemainderPolicy::AverageAvailable`]).
    pub missing_remainder: Vec<(RemainderTissue, Sex)>,
}

/// Linear combination `Σ c_i D_i` over (sex, target) with its value.
type Coefficients = HashMap<(Sex, String), f64>;

fn sex_name(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "male",
        Sex::Female => "female",
    }
}

/// Mass-weighted mean of the targets present; adds `factor × mass share` to `coef`.
/// `None` if none of the targets is in the table.
fn tissue_mean(
    what: &str,
    sex: Sex,
    targets: &[String],
    doses: &HashMap<String, TargetDose>,
    factor: f64,
    coef: &mut Coefficients,
) -> Result<Option<f64>> {
    let present: Vec<(&String, &TargetDose)> = targets
        .iter()
        .filter_map(|t| doses.get(t).map(|d| (t, d)))
        .collect();
    if present.is_empty() {
        return Ok(None);
    }
    let ctx = || format!("effective dose, {what} ({})", sex_name(sex));
    for (t, d) in &present {
        if !(d.dose_mgy_per_mbq.is_finite()
            && d.uncertainty_mgy_per_mbq.is_finite()
            && d.uncertainty_mgy_per_mbq >= 0.0)
        {
            return Err(input_error(
                ctx(),
                format!("dose of target '{t}' is not finite"),
            ));
        }
        if !(d.mass_kg.is_finite() && d.mass_kg >= 0.0) {
            return Err(input_error(
                ctx(),
                format!(
                    "mass {} kg of target '{t}' is negative or not finite",
                    d.mass_kg
                ),
            ));
        }
    }
    let total: f64 = present.iter().map(|(_, d)| d.mass_kg).sum();
    if present.len() > 1 && total <= 0.0 {
        return Err(input_error(
            ctx(),
            "the targets to be mass-averaged have no mass",
        ));
    }
    let mut mean = 0.0;
    for (t, d) in present.iter() {
        let share = if present.len() == 1 {
            1.0
        } else {
            d.mass_kg / total
        };
        mean += share * d.dose_mgy_per_mbq;
        *coef.entry((sex, (*t).clone())).or_insert(0.0) += factor * share;
    }
    Ok(Some(mean))
}

/// Sex-averaged effective dose (mSv/MBq) from the target doses of a male and a female
/// phantom (maps from target region name to dose), with `mapping` and `policy`.
pub fn effective_dose(
    male: &HashMap<String, TargetDose>,
    female: &HashMap<String, TargetDose>,
    mapping: &TissueMapping,
    policy: RemainderPolicy,
) -> Result<EffectiveDose> {
    let mut coef: Coefficients = HashMap::new();
    let mut tissues = Vec::new();
    let mut missing_remainder = Vec::new();
    let mut e = 0.0;
    for (tissue, w) in ICRP103_TISSUE_WEIGHTS {
        let mut h = [0.0; 2];
        for (k, (sex, doses)) in [(Sex::Male, male), (Sex::Female, female)]
            .into_iter()
            .enumerate()
        {
            let factor = 0.5 * w;
            h[k] = if tissue == Tissue::Remainder {
                // First collect the remainder tissues present, then weight each by 1/n.
                let mut present = Vec::new();
                for r in RemainderTissue::ALL
                    .into_iter()
                    .filter(|r| r.applies_to(sex))
                {
                    let targets = mapping.remainder.get(&r).map(Vec::as_slice).unwrap_or(&[]);
                    let mut probe = Coefficients::new();
                    match tissue_mean(
                        &format!("remainder tissue {r:?}"),
                        sex,
                        targets,
                        doses,
                        1.0,
                        &mut probe,
                    )? {
                        Some(v) => present.push((v, probe)),
                        None => match policy {
                            RemainderPolicy::Strict => {
                                return Err(input_error(
                                    format!(
                                        "effective dose, remainder tissue {r:?} ({})",
                                        sex_name(sex)
                                    ),
                                    format!("no dose for any of its target regions {targets:?}"),
                                ))
                            }
                            RemainderPolicy::AverageAvailable => missing_remainder.push((r, sex)),
                        },
                    }
                }
                if present.is_empty() {
                    return Err(input_error(
                        format!("effective dose, remainder ({})", sex_name(sex)),
                        "no remainder tissue has a dose",
                    ));
                }
                let n = present.len() as f64;
                let mut mean = 0.0;
                for (v, probe) in present {
                    mean += v / n;
                    for (key, c) in probe {
                        *coef.entry(key).or_insert(0.0) += factor * c / n;
                    }
                }
                mean
            } else {
                let targets = mapping
                    .tissues
                    .get(&(tissue, sex))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                tissue_mean(
                    &format!("{tissue:?}"),
                    sex,
                    targets,
                    doses,
                    factor,
                    &mut coef,
                )?
                .ok_or_else(|| {
                    input_error(
                        format!("effective dose, {tissue:?} ({})", sex_name(sex)),
                        format!("no dose for any of its target regions {targets:?}"),
                    )
                })?
            };
        }
        e += w * 0.5 * (h[0] + h[1]);
        tissues.push(TissueDose {
            tissue,
            weight: w,
            male_msv_per_mbq: h[0],
            female_msv_per_mbq: h[1],
        });
    }
    let mut var = 0.0;
    for ((sex, target), c) in &coef {
        let d = if *sex == Sex::Male { male } else { female };
        if let Some(td) = d.get(target) {
            var += (c * td.uncertainty_mgy_per_mbq).powi(2);
        }
    }
    Ok(EffectiveDose {
        effective_msv_per_mbq: e,
        uncertainty_msv_per_mbq: var.sqrt(),
        tissues,
        missing_remainder,
    })
}
