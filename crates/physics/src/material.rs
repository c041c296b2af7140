//! Materials: elemental mass fractions, nominal density and mean excitation energy.
//!
//! The built-in materials come from `data/materials.toml` (ICRU Report 44 and ICRP
//! Publication 110 tissues, with their sources); a run's configuration may add more with
//! [`MaterialDb::add`]. The name `vacuum` is reserved: it has no elements and no
//! interactions.

use crate::elements::z_of_symbol;
use crate::error::{data_err, PhysicsError};
use serde::Deserialize;
use std::collections::BTreeMap;

const FILE: &str = "materials.toml";
static MATERIALS_TEXT: &str = include_str!("../../../data/materials.toml");

/// The reserved name of the material with no matter in it.
pub const VACUUM: &str = "vacuum";

/// A material: a mixture of elements by mass fraction.
#[derive(Clone, Debug, PartialEq)]
pub struct Material {
    /// Name, e.g. `"soft_tissue"`.
    pub name: String,
    /// Nominal mass density [g/cm^3] (a phantom may override it per voxel).
    pub density_g_cm3: f64,
    /// Mean excitation energy I \[eV\], for electron stopping powers (None if not given).
    pub mean_excitation_ev: Option<f64>,
    /// Elements as `(Z, mass fraction)`, fractions normalised to sum to 1, sorted by Z.
    pub elements: Vec<(u32, f64)>,
    /// Where the composition comes from.
    pub source: String,
}

impl Material {
    /// The vacuum: no elements, zero density.
    pub fn vacuum() -> Self {
        Material {
            name: VACUUM.into(),
            density_g_cm3: 0.0,
            mean_excitation_ev: None,
            elements: Vec::new(),
            source: "no matter".into(),
        }
    }

    /// True for the vacuum.
    pub fn is_vacuum(&self) -> bool {
        self.elements.is_empty()
    }
}

/// A material definition as written in TOML (`data/materials.toml` or a run config).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialSpec {
    /// Free-text description.
    #[serde(default)]
    pub description: Option<String>,
    /// Nominal density [g/cm^3], > 0.
    pub density_g_cm3: f64,
    /// Mean excitation energy \[eV\] (optional for photon-only runs).
    #[serde(default)]
    pub mean_excitation_ev: Option<f64>,
    /// Bibliographic source of the composition.
    #[serde(default)]
    pub source: Option<String>,
    /// Mass fractions by chemical symbol, e.g. `{ H = 0.111894, O = 0.888106 }`.
    pub composition: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaterialsFile {
    material: BTreeMap<String, MaterialSpec>,
}

/// A named collection of materials.
#[derive(Clone, Debug, Default)]
pub struct MaterialDb {
    materials: BTreeMap<String, Material>,
}

impl MaterialDb {
    /// The built-in materials of `data/materials.toml`, plus `vacuum`.
    pub fn builtin() -> Result<Self, PhysicsError> {
        let file: MaterialsFile =
            toml::from_str(MATERIALS_TEXT).map_err(|e| data_err(FILE, e.to_string()))?;
        let mut db = MaterialDb::default();
        db.materials.insert(VACUUM.into(), Material::vacuum());
        for (name, spec) in file.material {
            db.add(&name, &spec)?;
        }
        Ok(db)
    }

    /// Adds (or replaces) a material from its specification, validating it: a positive
    /// density, known element symbols, non-negative fractions summing to 1 within 1 %
    /// (then renormalised), a positive mean excitation energy if given.
    pub fn add(&mut self, name: &str, spec: &MaterialSpec) -> Result<(), PhysicsError> {
        let bad = |message: String| PhysicsError::BadMaterial {
            name: name.to_string(),
            message,
        };
        if name == VACUUM {
            return Err(bad("'vacuum' is reserved and cannot be redefined".into()));
        }
        if !(spec.density_g_cm3.is_finite() && spec.density_g_cm3 > 0.0) {
            return Err(bad(format!(
                "density_g_cm3 = {}: expected a positive number",
                spec.density_g_cm3
            )));
        }
        if let Some(i) = spec.mean_excitation_ev {
            if !(i.is_finite() && i > 0.0) {
                return Err(bad(format!(
                    "mean_excitation_ev = {i}: expected a positive number of eV"
                )));
            }
        }
        if spec.composition.is_empty() {
            return Err(bad(
                "composition is empty: expected mass fractions by element symbol".into(),
            ));
        }
        let mut elements = Vec::new();
        for (sym, &w) in &spec.composition {
            let z = z_of_symbol(sym).map_err(|_| {
                bad(format!(
                    "composition: '{sym}' is not a chemical symbol (Z = 1..100)"
                ))
            })?;
            if !(w.is_finite() && w >= 0.0) {
                return Err(bad(format!(
                    "composition.{sym} = {w}: expected a mass fraction >= 0"
                )));
            }
            if w > 0.0 {
                elements.push((z, w));
            }
        }
        let total: f64 = elements.iter().map(|e| e.1).sum();
        if (total - 1.0).abs() > 0.01 {
            return Err(bad(format!(
                "mass fractions sum to {total}: expected 1 (within 1 %)"
            )));
        }
        for e in &mut elements {
            e.1 /= total;
        }
        elements.sort_by_key(|e| e.0);
        self.materials.insert(
            name.to_string(),
            Material {
                name: name.to_string(),
                density_g_cm3: spec.density_g_cm3,
                mean_excitation_ev: spec.mean_excitation_ev,
                elements,
                source: spec.source.clone().unwrap_or_else(|| "user-defined".into()),
            },
        );
        Ok(())
    }

    /// The material called `name`.
    pub fn get(&self, name: &str) -> Result<&Material, PhysicsError> {
        self.materials
            .get(name)
            .ok_or_else(|| PhysicsError::UnknownMaterial {
                name: name.to_string(),
                known: self.names().join(", "),
            })
    }

    /// All material names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.materials.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tissues_exist_and_are_normalised() {
        let db = MaterialDb::builtin().unwrap();
        for name in [
            "air",
            "water",
            "soft_tissue",
            "lung",
            "cortical_bone",
            "spongiosa",
            "red_marrow",
            "adipose",
            "muscle",
            "brain",
            "blood",
            "skin",
            "thyroid",
            "kidney",
            "liver",
            "vacuum",
        ] {
            let m = db.get(name).unwrap();
            if !m.is_vacuum() {
                let s: f64 = m.elements.iter().map(|e| e.1).sum();
                assert!((s - 1.0).abs() < 1e-12, "{name}");
                assert!(m.density_g_cm3 > 0.0);
            }
        }
        let e = db.get("unobtainium").unwrap_err().to_string();
        assert!(
            e.contains("unobtainium") && e.contains("soft_tissue"),
            "{e}"
        );
    }

    #[test]
    fn bad_definitions_are_rejected_with_the_key() {
        let mut db = MaterialDb::builtin().unwrap();
        let spec = |d: f64, comp: &[(&str, f64)]| MaterialSpec {
            description: None,
            density_g_cm3: d,
            mean_excitation_ev: None,
            source: None,
            composition: comp.iter().map(|(s, w)| (s.to_string(), *w)).collect(),
        };
        let e = db
            .add("x", &spec(-1.0, &[("H", 1.0)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("density_g_cm3"), "{e}");
        let e = db
            .add("x", &spec(1.0, &[("Qq", 1.0)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Qq"), "{e}");
        let e = db
            .add("x", &spec(1.0, &[("H", 0.5)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("sum"), "{e}");
        db.add("x", &spec(1.0, &[("H", 0.1), ("O", 0.9)])).unwrap();
        assert_eq!(db.get("x").unwrap().elements.len(), 2);
    }
}
