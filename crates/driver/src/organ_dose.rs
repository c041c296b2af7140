//! `pedisim organ-dose`: organ absorbed doses per unit administered activity and the
//! effective dose, from S matrices (`pedisim smatrix`) and time-integrated activities
//! (a biokinetic model of the radiopharmaceutical library, or measured organ activities),
//! with no new simulation. The mathematics is in `pedisim-dosimetry`; this module reads
//! the specification, the S-matrix files, and writes HDF5 and CSV.
//!
//! Specification (TOML, documented in `docs/config.md`):
//!
//! ```toml
//! [smatrix]
//! male = "child5m_tc99m.h5"      # at least one of male / female
//! female = "child5f_tc99m.h5"
//!
//! [biokinetics]                  # either a model ...
//! radiopharmaceutical = "Tc-99m-DMSA"
//! library = "my_models.toml"     # optional: models added to the built-in library
//! until_h = 24.0                 # optional: integrate to this time (default: infinity)
//!
//! [measured]                     # ... or measured organ activities
//! administered_mbq = 100.0
//! times_h = [1.0, 4.0, 24.0, 48.0]
//! tail = "fit"                   # "fit" (mono-exponential over the last 2 points) or "physical"
//! [[measured.organ]]
//! region = "Kidneys"
//! activity_mbq = [20.0, 28.0, 25.0, 19.0]
//!
//! [output]
//! path = "doses.h5"              # and doses.csv
//! administered_mbq = 100.0       # optional: absolute doses in mGy as well
//! ```

use crate::DriverError;
use pedisim_dosimetry::effective::{self, RemainderPolicy, TargetDose, TissueMapping};
use pedisim_dosimetry::measured::{self, IntegrationOptions, TailModel};
use pedisim_dosimetry::mird::{self, OrganDose, RemainderMasses, SMatrix};
use pedisim_dosimetry::{Library, SourceTia};
use pedisim_io::h5::{self, AttrValue, Column, ColumnValues, TableFile, TableGroup};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Layout version of organ-dose files (`docs/formats.md` section 10).
pub const ORGAN_DOSE_FORMAT_VERSION: &str = "1.0";

/// The `[smatrix]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SMatrixFiles {
    /// S matrix of the male phantom.
    pub male: Option<PathBuf>,
    /// S matrix of the female phantom.
    pub female: Option<PathBuf>,
}

/// The `[biokinetics]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Radiopharmaceutical name or alias.
    pub radiopharmaceutical: String,
    /// A library file in the same format whose entries are added to the built-in ones.
    pub library: Option<PathBuf>,
    /// Integrate to this time \[h\] (default: to infinity).
    pub until_h: Option<f64>,
}

/// One organ of `[measured]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasuredOrgan {
    /// ICRP 155 source-region name (as in the S matrix).
    pub region: String,
    /// Activity in the organ at each time point \[MBq\].
    pub activity_mbq: Vec<f64>,
}

/// The `[measured]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasuredSpec {
    /// Administered activity \[MBq\].
    pub administered_mbq: f64,
    /// Time points \[h after administration\], strictly increasing.
    pub times_h: Vec<f64>,
    /// `"fit"` or `"physical"`.
    #[serde(default = "default_tail")]
    pub tail: String,
    /// The organs.
    pub organ: Vec<MeasuredOrgan>,
}

fn default_tail() -> String {
    "fit".into()
}

/// The `[output]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// HDF5 output; the CSV goes beside it with extension `.csv`.
    pub path: PathBuf,
    /// Administered activity \[MBq\] for absolute doses (optional).
    pub administered_mbq: Option<f64>,
}

/// An organ-dose specification file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganDoseSpec {
    /// S-matrix files.
    pub smatrix: SMatrixFiles,
    /// A biokinetic model.
    pub biokinetics: Option<ModelSpec>,
    /// Measured organ activities.
    pub measured: Option<MeasuredSpec>,
    /// Output.
    pub output: OutputSpec,
}

/// One S-matrix file as read.
#[derive(Clone, Debug)]
pub struct SMatrixFile {
    /// The matrix.
    pub matrix: SMatrix,
    /// Target masses \[kg\] by name.
    pub target_mass_kg: HashMap<String, f64>,
    /// Source masses \[kg\] by name.
    pub source_mass_kg: HashMap<String, f64>,
    /// Its nuclide.
    pub nuclide: String,
}

/// The result of `pedisim organ-dose`.
#[derive(Clone, Debug)]
pub struct OrganDoseResult {
    /// Time-integrated activity coefficients used \[h\].
    pub tia: Vec<SourceTia>,
    /// Where they come from (model name and sources, or "measured").
    pub tia_origin: String,
    /// Organ doses per sex (`"male"`, `"female"`) \[mGy/MBq\].
    pub doses: Vec<(String, Vec<OrganDose>, HashMap<String, f64>)>,
    /// The effective dose, when computed.
    pub effective: Option<effective::EffectiveDose>,
    /// How the effective dose was formed.
    pub effective_method: String,
    /// The nuclide.
    pub nuclide: String,
}

fn err(file: &Path, message: impl Into<String>) -> DriverError {
    DriverError::Config {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

fn resolve(spec_path: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        spec_path
            .parent()
            .map(|d| d.join(p))
            .unwrap_or_else(|| p.to_path_buf())
    }
}

/// Reads an S-matrix file written by `pedisim smatrix`.
pub fn read_smatrix(path: &Path) -> Result<SMatrixFile, DriverError> {
    let format = h5::read_attr_string(path, "/", "format_name")?;
    if format != "pedisim-smatrix" {
        return Err(err(
            path,
            format!("format_name '{format}': expected a pedisim S-matrix file (pedisim smatrix)"),
        ));
    }
    let targets = h5::read_string_dataset(path, "/targets/name")?;
    let sources = h5::read_string_dataset(path, "/sources/name")?;
    let (tm, _) = h5::read_f64_dataset(path, "/targets/mass_kg")?;
    let (sm, _) = h5::read_f64_dataset(path, "/sources/mass_kg")?;
    let (s, shape) = h5::read_matrix(path, "/s_gy_per_decay")?;
    let (rel, _) = h5::read_matrix(path, "/relative_uncertainty")?;
    if shape != [targets.len(), sources.len()] {
        return Err(err(
            path,
            format!(
                "/s_gy_per_decay has shape {shape:?}: expected [{}, {}]",
                targets.len(),
                sources.len()
            ),
        ));
    }
    // NaN uncertainties mark S values of 0 (nothing deposited): no uncertainty to carry.
    let rel: Vec<f64> = rel
        .into_iter()
        .map(|r| if r.is_finite() { r } else { 0.0 })
        .collect();
    let matrix = SMatrix::new(targets.clone(), sources.clone(), s, rel)
        .map_err(|e| err(path, e.to_string()))?;
    Ok(SMatrixFile {
        matrix,
        target_mass_kg: targets.into_iter().zip(tm).collect(),
        source_mass_kg: sources.into_iter().zip(sm).collect(),
        nuclide: h5::read_attr_string(path, "/", "nuclide")?,
    })
}

/// Time-integrated activity coefficients from the specification.
fn time_integrated_activity(
    spec: &OrganDoseSpec,
    spec_path: &Path,
    nuclide: &str,
) -> Result<(Vec<SourceTia>, String), DriverError> {
    match (&spec.biokinetics, &spec.measured) {
        (Some(m), None) => {
            let mut lib = Library::builtin().map_err(|e| err(spec_path, e.to_string()))?;
            if let Some(f) = &m.library {
                let p = resolve(spec_path, f);
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| err(&p, format!("cannot read the file: {e}")))?;
                let user = Library::from_toml_str(&text, &p.display().to_string())
                    .map_err(|e| err(&p, e.to_string()))?;
                lib.extend(user).map_err(|e| err(&p, e.to_string()))?;
            }
            let rp = lib
                .get(&m.radiopharmaceutical)
                .map_err(|e| err(spec_path, format!("[biokinetics] radiopharmaceutical: {e}")))?;
            if !rp.nuclide.eq_ignore_ascii_case(nuclide) {
                return Err(err(
                    spec_path,
                    format!(
                        "[biokinetics] radiopharmaceutical '{}' is labelled with {}, but the S \
                         matrices are for {nuclide}",
                        rp.name, rp.nuclide
                    ),
                ));
            }
            let tia = rp
                .time_integrated_activity(m.until_h)
                .map_err(|e| err(spec_path, format!("[biokinetics] {e}")))?;
            Ok((tia, format!("biokinetic model of {}", rp.name)))
        }
        (None, Some(ms)) => {
            let table = pedisim_physics::nuclide::nuclide_table()?;
            let half_life_h = table
                .get(nuclide)
                .map(|d| d.half_life_s / 3600.0)
                .ok_or_else(|| err(spec_path, format!("nuclide {nuclide} has no half-life")))?;
            if !(ms.administered_mbq.is_finite() && ms.administered_mbq > 0.0) {
                return Err(err(
                    spec_path,
                    format!(
                        "[measured] administered_mbq = {}: expected a positive activity",
                        ms.administered_mbq
                    ),
                ));
            }
            let tail = match ms.tail.as_str() {
                "fit" => TailModel::FittedMonoExponential { points: 2 },
                "physical" => TailModel::PhysicalDecay,
                other => {
                    return Err(err(
                        spec_path,
                        format!("[measured] tail = '{other}': expected 'fit' or 'physical'"),
                    ))
                }
            };
            let opts = IntegrationOptions {
                tail,
                ..IntegrationOptions::default()
            };
            let mut tia = Vec::new();
            for o in &ms.organ {
                let r = measured::integrate_time_activity(
                    &o.region,
                    &ms.times_h,
                    &o.activity_mbq,
                    half_life_h,
                    &opts,
                )
                .map_err(|e| err(spec_path, format!("[measured] {e}")))?;
                tia.push(SourceTia {
                    region: o.region.clone(),
                    tia_h: r.tia_mbq_h / ms.administered_mbq,
                    uncertainty_h: 0.0,
                });
            }
            Ok((tia, "measured organ activities".into()))
        }
        _ => Err(err(
            spec_path,
            "expected exactly one of [biokinetics] (a model) and [measured] (organ activities)",
        )),
    }
}

/// Computes organ and effective doses from a specification file.
pub fn compute(spec_path: &Path) -> Result<(OrganDoseSpec, OrganDoseResult), DriverError> {
    let spec: OrganDoseSpec = crate::config::load_toml(spec_path)?;
    let mut files = Vec::new();
    for (sex, p) in [
        ("male", &spec.smatrix.male),
        ("female", &spec.smatrix.female),
    ] {
        if let Some(p) = p {
            let p = resolve(spec_path, p);
            files.push((sex, read_smatrix(&p)?, p));
        }
    }
    if files.is_empty() {
        return Err(err(
            spec_path,
            "[smatrix]: expected the S matrix of a male or a female phantom (or both)",
        ));
    }
    let nuclide = files[0].1.nuclide.clone();
    if let Some((_, f, p)) = files.iter().find(|(_, f, _)| f.nuclide != nuclide) {
        return Err(err(
            p,
            format!(
                "S matrix for {}, the other for {nuclide}: expected one nuclide",
                f.nuclide
            ),
        ));
    }
    let (tia, tia_origin) = time_integrated_activity(&spec, spec_path, &nuclide)?;
    let mut doses = Vec::new();
    let mut per_sex: Vec<HashMap<String, TargetDose>> = Vec::new();
    for (sex, f, p) in &files {
        let total_body_kg = f
            .source_mass_kg
            .get(crate::smatrix::TOTAL_BODY)
            .copied()
            .unwrap_or(0.0);
        let mut sources_kg = HashMap::new();
        for a in &tia {
            if let Some(m) = f.source_mass_kg.get(&a.region) {
                sources_kg.insert(a.region.clone(), *m);
            }
        }
        let masses = RemainderMasses {
            total_body_kg,
            sources_kg,
        };
        let d = mird::organ_doses(&f.matrix, &tia, Some(&masses))
            .map_err(|e| err(p, format!("organ doses ({sex} phantom): {e}")))?;
        per_sex.push(
            d.iter()
                .map(|o| {
                    (
                        o.target.clone(),
                        TargetDose {
                            dose_mgy_per_mbq: o.dose_mgy_per_mbq,
                            uncertainty_mgy_per_mbq: o.uncertainty_mgy_per_mbq,
                            mass_kg: f.target_mass_kg.get(&o.target).copied().unwrap_or(0.0),
                        },
                    )
                })
                .collect(),
        );
        doses.push((sex.to_string(), d, f.target_mass_kg.clone()));
    }
    let mapping = TissueMapping::icrp155_regions();
    let (male, female, method) = if per_sex.len() == 2 {
        (
            &per_sex[0],
            &per_sex[1],
            "ICRP 103: sex-averaged equivalent doses of the male and female phantoms".to_string(),
        )
    } else {
        // One phantom for both sexes: its own gonads stand for the other sex's.
        let mut both = per_sex[0].clone();
        for (have, missing) in [("Ovaries", "Testes"), ("Testes", "Ovaries")] {
            if let Some(d) = both.get(have).copied() {
                both.entry(missing.to_string()).or_insert(d);
            }
        }
        per_sex.push(both);
        (
            &per_sex[1],
            &per_sex[1],
            format!(
                "one phantom ({}) used for both sexes, its gonads for both: an approximation \
                 of the ICRP 103 effective dose",
                files[0].0
            ),
        )
    };
    let (effective, effective_method) = match effective::effective_dose(
        male,
        female,
        &mapping,
        RemainderPolicy::AverageAvailable,
    ) {
        Ok(e) => (Some(e), method),
        Err(e) => (None, format!("not computed: {e}")),
    };
    Ok((
        spec,
        OrganDoseResult {
            tia,
            tia_origin,
            doses,
            effective_method,
            effective,
            nuclide,
        },
    ))
}

/// Writes the result to HDF5 (`docs/formats.md` section 10) and CSV.
pub fn write(
    spec: &OrganDoseSpec,
    spec_path: &Path,
    r: &OrganDoseResult,
    command_line: &str,
) -> Result<(PathBuf, PathBuf), DriverError> {
    let h5_path = resolve(spec_path, &spec.output.path);
    let csv_path = h5_path.with_extension("csv");
    let mut root: Vec<(String, AttrValue)> = vec![
        (
            "pedisim_version".into(),
            AttrValue::Str(pedisim_core::PEDISIM_VERSION.into()),
        ),
        ("command_line".into(), AttrValue::Str(command_line.into())),
        (
            "specification_toml".into(),
            AttrValue::Str(std::fs::read_to_string(spec_path).unwrap_or_default()),
        ),
        ("nuclide".into(), AttrValue::Str(r.nuclide.clone())),
        (
            "time_integrated_activity_origin".into(),
            AttrValue::Str(r.tia_origin.clone()),
        ),
        (
            "effective_dose_method".into(),
            AttrValue::Str(r.effective_method.clone()),
        ),
    ];
    if let Some(e) = &r.effective {
        root.push((
            "effective_dose_msv_per_mbq".into(),
            AttrValue::F64(e.effective_msv_per_mbq),
        ));
        root.push((
            "effective_dose_uncertainty_msv_per_mbq".into(),
            AttrValue::F64(e.uncertainty_msv_per_mbq),
        ));
        let missing: Vec<String> = e
            .missing_remainder
            .iter()
            .map(|(t, s)| format!("{t:?} ({s:?})"))
            .collect();
        root.push((
            "missing_remainder_tissues".into(),
            AttrValue::Str(missing.join(", ")),
        ));
    }
    if let Some(a) = spec.output.administered_mbq {
        root.push(("administered_mbq".into(), AttrValue::F64(a)));
    }
    let regions: Vec<String> = r.tia.iter().map(|a| a.region.clone()).collect();
    let tia_h: Vec<f64> = r.tia.iter().map(|a| a.tia_h).collect();
    let tia_unc: Vec<f64> = r.tia.iter().map(|a| a.uncertainty_h).collect();
    struct Cols {
        name: String,
        target: Vec<String>,
        dose: Vec<f64>,
        unc: Vec<f64>,
        mass: Vec<f64>,
    }
    let cols: Vec<Cols> = r
        .doses
        .iter()
        .map(|(sex, d, m)| Cols {
            name: format!("organs_{sex}"),
            target: d.iter().map(|o| o.target.clone()).collect(),
            dose: d.iter().map(|o| o.dose_mgy_per_mbq).collect(),
            unc: d.iter().map(|o| o.uncertainty_mgy_per_mbq).collect(),
            mass: d
                .iter()
                .map(|o| m.get(&o.target).copied().unwrap_or(0.0))
                .collect(),
        })
        .collect();
    let mut groups = vec![TableGroup {
        name: "sources",
        description: "time-integrated activity coefficient per source region",
        columns: vec![
            Column {
                name: "region",
                values: ColumnValues::Str(&regions),
                units: "text",
                description: "source region (ICRP 155 name or Other)",
            },
            Column {
                name: "tia_h",
                values: ColumnValues::F64(&tia_h),
                units: "h (MBq h per MBq administered)",
                description: "time-integrated activity coefficient",
            },
            Column {
                name: "uncertainty_h",
                values: ColumnValues::F64(&tia_unc),
                units: "h",
                description: "its standard uncertainty (0 for a reference model)",
            },
        ],
    }];
    for c in &cols {
        groups.push(TableGroup {
            name: &c.name,
            description: "absorbed dose per unit administered activity of each target region",
            columns: vec![
                Column {
                    name: "target",
                    values: ColumnValues::Str(&c.target),
                    units: "text",
                    description: "target region",
                },
                Column {
                    name: "dose_mgy_per_mbq",
                    values: ColumnValues::F64(&c.dose),
                    units: "mGy/MBq",
                    description: "mean absorbed dose per MBq administered",
                },
                Column {
                    name: "uncertainty_mgy_per_mbq",
                    values: ColumnValues::F64(&c.unc),
                    units: "mGy/MBq",
                    description: "standard uncertainty (S-matrix statistics and TIA)",
                },
                Column {
                    name: "mass_kg",
                    values: ColumnValues::F64(&c.mass),
                    units: "kg",
                    description: "mass of the target region in the phantom",
                },
            ],
        });
    }
    let (t_names, t_w, t_m, t_f): (Vec<String>, Vec<f64>, Vec<f64>, Vec<f64>) = match &r.effective {
        Some(e) => (
            e.tissues
                .iter()
                .map(|t| format!("{:?}", t.tissue))
                .collect(),
            e.tissues.iter().map(|t| t.weight).collect(),
            e.tissues.iter().map(|t| t.male_msv_per_mbq).collect(),
            e.tissues.iter().map(|t| t.female_msv_per_mbq).collect(),
        ),
        None => Default::default(),
    };
    if r.effective.is_some() {
        groups.push(TableGroup {
            name: "tissues",
            description: "ICRP 103 tissues: weighting factor and equivalent dose per sex",
            columns: vec![
                Column {
                    name: "tissue",
                    values: ColumnValues::Str(&t_names),
                    units: "text",
                    description: "ICRP 103 tissue",
                },
                Column {
                    name: "weight",
                    values: ColumnValues::F64(&t_w),
                    units: "1",
                    description: "tissue weighting factor w_T (ICRP 103 Table 3)",
                },
                Column {
                    name: "male_msv_per_mbq",
                    values: ColumnValues::F64(&t_m),
                    units: "mSv/MBq",
                    description: "equivalent dose, male",
                },
                Column {
                    name: "female_msv_per_mbq",
                    values: ColumnValues::F64(&t_f),
                    units: "mSv/MBq",
                    description: "equivalent dose, female",
                },
            ],
        });
    }
    let file = TableFile {
        format_name: "pedisim-organ-dose",
        format_version: ("organ_dose_format_version", ORGAN_DOSE_FORMAT_VERSION),
        root_attrs: &root,
        groups,
        matrices: vec![],
        volumes: Vec::new(),
    };
    if let Some(dir) = h5_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(&h5_path, format!("cannot create the directory: {e}")))?;
    }
    h5::write_table_file(&h5_path, &file)?;
    let mut csv = format!(
        "# pedisim {} organ doses, nuclide {}, {}\nsex,target,dose_mgy_per_mbq,uncertainty_mgy_per_mbq,mass_kg{}\n",
        pedisim_core::PEDISIM_VERSION,
        r.nuclide,
        r.tia_origin,
        if spec.output.administered_mbq.is_some() { ",dose_mgy" } else { "" }
    );
    for (sex, d, m) in &r.doses {
        for o in d {
            csv.push_str(&format!(
                "{sex},{},{:.6e},{:.3e},{:.6e}",
                o.target,
                o.dose_mgy_per_mbq,
                o.uncertainty_mgy_per_mbq,
                m.get(&o.target).copied().unwrap_or(0.0)
            ));
            if let Some(a) = spec.output.administered_mbq {
                csv.push_str(&format!(",{:.6e}", o.dose_mgy_per_mbq * a));
            }
            csv.push('\n');
        }
    }
    if let Some(e) = &r.effective {
        csv.push_str(&format!(
            "# effective dose {:.6e} +- {:.2e} mSv/MBq ({})\n",
            e.effective_msv_per_mbq, e.uncertainty_msv_per_mbq, r.effective_method
        ));
    }
    crate::write_text_atomic(&csv_path, &csv)?;
    Ok((h5_path, csv_path))
}
