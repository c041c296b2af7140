//! The radiopharmaceutical library: nuclide, physical half-life and biokinetic model of
//! each radiopharmaceutical, embedded from `data/radiopharmaceuticals.toml`.
//!
//! The file's format (`pedisim-radiopharmaceuticals/1`) is described in
//! `data/radiopharmaceuticals.md`; a user file in the same format can be read with
//! [`Library::from_toml_str`] and combined with the built-in one with [`Library::extend`].
//! An entry whose model could not be transcribed from a recognised source carries no
//! `model` but a `missing` note, and asking it for time-integrated activities is an error
//! ([`crate::DosimetryError::ModelUnavailable`]).

use serde::Deserialize;

use crate::biokinetics::{BiokineticModel, SourceTia};
use crate::{DosimetryError, Result};

/// The embedded library file.
pub const BUILTIN_TOML: &str = include_str!("../../../data/radiopharmaceuticals.toml");

/// The format tag the library files carry.
pub const FORMAT: &str = "pedisim-radiopharmaceuticals/1";

/// One radiopharmaceutical.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Radiopharmaceutical {
    /// Name, e.g. `"Tc-99m-DMSA"`.
    pub name: String,
    /// Other names it is found by (case-insensitive), e.g. `"99mTc-DMSA"`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Radionuclide, ICRP 107 name (e.g. `"Tc-99m"`).
    pub nuclide: String,
    /// Physical half-life in hours (used for the time integration only; the emissions come
    /// from the physics crate).
    pub physical_half_life_h: f64,
    /// Source of the half-life.
    pub half_life_source: String,
    /// Free-text description (indication, conditions of the model).
    #[serde(default)]
    pub description: String,
    /// The biokinetic model, if one could be transcribed from a recognised source.
    #[serde(default)]
    pub model: Option<BiokineticModel>,
    /// Why there is no model (required when `model` is absent): what was searched, what
    /// was found, where the numbers are published.
    #[serde(default)]
    pub missing: Option<String>,
}

impl Radiopharmaceutical {
    /// Time-integrated activity coefficients per source region in hours (MBq h per MBq
    /// administered), integrated to `until_h` (`None`: to infinity).
    pub fn time_integrated_activity(&self, until_h: Option<f64>) -> Result<Vec<SourceTia>> {
        match &self.model {
            Some(m) => m.time_integrated_activity(&self.name, self.physical_half_life_h, until_h),
            None => Err(DosimetryError::ModelUnavailable {
                radiopharmaceutical: self.name.clone(),
                reason: self
                    .missing
                    .clone()
                    .unwrap_or_else(|| "no model given".to_string()),
            }),
        }
    }

    fn matches(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let parse = |message: String| DosimetryError::Parse {
            origin: origin.to_string(),
            message: format!("radiopharmaceutical '{}': {message}", self.name),
        };
        if !(self.physical_half_life_h.is_finite() && self.physical_half_life_h > 0.0) {
            return Err(parse(format!(
                "physical_half_life_h = {} must be positive and finite",
                self.physical_half_life_h
            )));
        }
        match (&self.model, &self.missing) {
            (Some(m), _) => m.validate(&self.name),
            (None, Some(_)) => Ok(()),
            (None, None) => Err(parse("has neither a model nor a 'missing' note".into())),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LibraryFile {
    format: String,
    #[serde(default, rename = "radiopharmaceutical")]
    radiopharmaceuticals: Vec<Radiopharmaceutical>,
}

/// A set of radiopharmaceuticals.
#[derive(Debug, Clone, PartialEq)]
pub struct Library {
    entries: Vec<Radiopharmaceutical>,
}

impl Library {
    /// The library compiled into the program (`data/radiopharmaceuticals.toml`).
    pub fn builtin() -> Result<Self> {
        Self::from_toml_str(
            BUILTIN_TOML,
            "built-in library (data/radiopharmaceuticals.toml)",
        )
    }

    /// Parse and validate a library file; `origin` names it in errors. Names and aliases
    /// must be unique (case-insensitive).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let file: LibraryFile = toml::from_str(text).map_err(|e| DosimetryError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        if file.format != FORMAT {
            return Err(DosimetryError::Parse {
                origin: origin.to_string(),
                message: format!("format '{}' is not '{FORMAT}'", file.format),
            });
        }
        let mut lib = Library {
            entries: Vec::new(),
        };
        lib.extend_checked(file.radiopharmaceuticals, origin)?;
        Ok(lib)
    }

    /// Add the entries of `other` (e.g. a user file) to this library; a name or alias
    /// already present is an error.
    pub fn extend(&mut self, other: Library) -> Result<()> {
        self.extend_checked(other.entries, "added library")
    }

    fn extend_checked(&mut self, entries: Vec<Radiopharmaceutical>, origin: &str) -> Result<()> {
        for e in entries {
            e.validate(origin)?;
            for n in std::iter::once(&e.name).chain(e.aliases.iter()) {
                if self.entries.iter().any(|x| x.matches(n)) {
                    return Err(DosimetryError::Parse {
                        origin: origin.to_string(),
                        message: format!("radiopharmaceutical name '{n}' is given twice"),
                    });
                }
            }
            self.entries.push(e);
        }
        Ok(())
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[Radiopharmaceutical] {
        &self.entries
    }

    /// The entry called `name` (or with that alias), case-insensitive.
    pub fn get(&self, name: &str) -> Result<&Radiopharmaceutical> {
        self.entries
            .iter()
            .find(|e| e.matches(name))
            .ok_or_else(|| DosimetryError::UnknownRadiopharmaceutical {
                name: name.to_string(),
                known: self
                    .entries
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}
