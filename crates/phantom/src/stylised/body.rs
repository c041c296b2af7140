//! The stylised body: regions (organs, body parts, bones) with their solids, materials and
//! densities, read from a TOML description (format `pedisim-stylised/1`, see
//! `data/phantoms/README.md`).

use super::geometry::{
    Aabb, AxisMap, Cuts, Part, Placement, Primitive, Rotation, Shape, Solid, P3,
};
use super::StylisedError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// The format tag a body description must carry.
pub const FORMAT: &str = "pedisim-stylised/1";

/// Sex of a phantom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sex::Female => "female",
            Sex::Male => "male",
        })
    }
}

/// One region of a stylised body: an organ, a body part or a bone tissue.
#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    /// Its label in voxelised phantoms: its 1-based position in the description (the same
    /// for both sexes; label 0 is outside the body).
    pub label: u32,
    /// Region name, e.g. `"liver"`.
    pub name: String,
    /// Material name (as in `data/materials.toml`).
    pub material: String,
    /// Mass density \[g/cm^3\]; `None` means the material's nominal density.
    pub density_g_cm3: Option<f64>,
    /// `Some(sex)` for a region present in one sex only.
    pub sex: Option<Sex>,
    /// Names of the reference regions (ICRP Publication 155 source regions, as in
    /// `icrp155_source_region_masses_kg.csv`) whose mass this region represents, in whole or
    /// together with other regions naming the same reference.
    pub reference: Vec<String>,
    /// The frame (a key of [`StylisedBody::frames`]) its parts are placed in.
    pub frame: String,
    /// For a region derived from others (a wall's contents, a shell): how; its solid is
    /// recomputed from its sources by [`StylisedBody::rederive`].
    pub derive: Option<Derive>,
    /// The region's solid in the world frame \[mm\].
    pub solid: Solid,
}

/// How a derived region's solid follows from other regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeriveKind {
    /// The inside of a wall: the source's solid with its surface moved inwards by the
    /// wall thickness (`core_of`: the contents of a hollow organ, the spongiosa of a bone).
    Core,
    /// The outer layer of the sources: each source's solid minus its core (`shell_of`:
    /// the skin over the trunk, head and legs).
    Shell,
}

/// A derived region's recipe.
#[derive(Clone, Debug, PartialEq)]
pub struct Derive {
    /// Core or shell.
    pub kind: DeriveKind,
    /// Names of the source regions.
    pub of: Vec<String>,
    /// Wall thickness \[mm\].
    pub wall_mm: f64,
    /// Whether cylinder and cone half lengths shrink by the wall thickness too (closed
    /// ends) or stay (open tube ends).
    pub ends: bool,
}

/// A stylised body of one sex: its regions in order of precedence (a point belongs to the
/// *last* region, in this order, whose solid holds it).
#[derive(Clone, Debug, PartialEq)]
pub struct StylisedBody {
    /// Name of the body description.
    pub name: String,
    /// The sex this body was built for.
    pub sex: Sex,
    /// Regions in order of precedence (later ones override earlier ones).
    pub regions: Vec<Region>,
    /// Named frame origins in the world frame \[mm\].
    pub frames: BTreeMap<String, P3>,
}

impl StylisedBody {
    /// Parses a body description (TOML text; `source_name` names it in errors) and keeps the
    /// regions of both sexes and those of `sex`.
    pub fn from_toml(text: &str, source_name: &str, sex: Sex) -> Result<Self, StylisedError> {
        let spec: FileSpec = toml::from_str(text).map_err(|e| StylisedError::Toml {
            source_name: source_name.into(),
            message: e.to_string(),
        })?;
        let err = |key: String, message: String| StylisedError::Invalid {
            source_name: source_name.into(),
            key,
            message,
        };
        if spec.format != FORMAT {
            return Err(err(
                "format".into(),
                format!("'{}' is not supported: expected '{FORMAT}'", spec.format),
            ));
        }
        for (k, v) in &spec.frames {
            check_finite(&format!("frames.{k}"), v).map_err(|m| err(format!("frames.{k}"), m))?;
        }
        if spec.region.is_empty() {
            return Err(err(
                "region".into(),
                "no regions: expected at least one [[region]]".into(),
            ));
        }
        let mut regions = Vec::new();
        let mut seen = BTreeMap::new();
        for (i, r) in spec.region.iter().enumerate() {
            let key = format!("region[{i}] ('{}')", r.name);
            if r.name.trim().is_empty() {
                return Err(err(format!("region[{i}].name"), "empty name".into()));
            }
            if let Some(j) = seen.insert(r.name.clone(), i) {
                return Err(err(
                    format!("{key}.name"),
                    format!("the name is already used by region[{j}]"),
                ));
            }
            if r.material.trim().is_empty() {
                return Err(err(format!("{key}.material"), "empty material name".into()));
            }
            if let Some(d) = r.density_g_cm3 {
                if !(d.is_finite() && d > 0.0) {
                    return Err(err(
                        format!("{key}.density_g_cm3"),
                        format!("{d} is invalid: expected a positive density in g/cm3"),
                    ));
                }
            }
            let region_sex = match r.sex.as_deref() {
                None => None,
                Some("female") => Some(Sex::Female),
                Some("male") => Some(Sex::Male),
                Some(s) => {
                    return Err(err(
                        format!("{key}.sex"),
                        format!(
                            "'{s}' is invalid: expected 'female' or 'male' (or no key for both)"
                        ),
                    ))
                }
            };
            let origin_cm = *spec.frames.get(&r.frame).ok_or_else(|| {
                err(
                    format!("{key}.frame"),
                    format!(
                        "unknown frame '{}' (frames: {})",
                        r.frame,
                        spec.frames.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            let derive = derive_spec(r, &key, &spec.region[..i]).map_err(|(k, m)| err(k, m))?;
            if r.part.is_empty() && derive.is_none() {
                return Err(err(
                    format!("{key}.part"),
                    "no parts: expected at least one [[region.part]] (or core_of/shell_of)".into(),
                ));
            }
            let frame = Placement {
                centre_mm: origin_cm.map(|c| c * 10.0),
                rotation: Rotation::IDENTITY,
            };
            let mut parts = Vec::new();
            for (j, p) in r.part.iter().enumerate() {
                let pkey = format!("{key}.part[{j}]");
                let base = p.primitive(&frame, &pkey).map_err(|(k, m)| err(k, m))?;
                let mut part = Part {
                    base,
                    subtract: Vec::new(),
                    intersect: Vec::new(),
                };
                for (what, list, out) in [
                    ("subtract", &p.subtract, &mut part.subtract),
                    ("intersect", &p.intersect, &mut part.intersect),
                ] {
                    for (k, s) in list.iter().enumerate() {
                        let skey = format!("{pkey}.{what}[{k}]");
                        if !(s.subtract.is_empty() && s.intersect.is_empty()) {
                            return Err(err(
                                skey,
                                "nested booleans are not supported: write the combination as \
                                 separate parts"
                                    .into(),
                            ));
                        }
                        out.push(
                            s.primitive(&base.placement, &skey)
                                .map_err(|(k, m)| err(k, m))?,
                        );
                    }
                }
                if part.bounding_box().is_none() {
                    return Err(err(
                        pkey,
                        "the part is unbounded: a half_space needs a bounded solid to \
                         intersect with"
                            .into(),
                    ));
                }
                parts.push(part);
            }
            if region_sex.is_none() || region_sex == Some(sex) {
                regions.push(Region {
                    label: (i + 1) as u32,
                    name: r.name.clone(),
                    material: r.material.clone(),
                    density_g_cm3: r.density_g_cm3,
                    sex: region_sex,
                    reference: r.reference.clone(),
                    frame: r.frame.clone(),
                    derive,
                    solid: Solid { parts },
                });
            }
        }
        let mut body = StylisedBody {
            name: spec.name,
            sex,
            regions,
            frames: spec
                .frames
                .iter()
                .map(|(k, v)| (k.clone(), v.map(|c| c * 10.0)))
                .collect(),
        };
        body.rederive().map_err(|(k, m)| err(k, m))?;
        Ok(body)
    }

    /// Recomputes the solids of the derived regions (`core_of`, `shell_of`) from their
    /// sources, after the sources changed. The error names the region and what failed
    /// (a wall thicker than its source).
    pub fn rederive(&mut self) -> Result<(), (String, String)> {
        for i in 0..self.regions.len() {
            let Some(d) = self.regions[i].derive.clone() else {
                continue;
            };
            let mut parts = Vec::new();
            for src in &d.of {
                // Sources of the other sex are not in this body; they add nothing.
                let Some(s) = self.regions[..i].iter().find(|r| &r.name == src) else {
                    continue;
                };
                for p in &s.solid.parts {
                    match d.kind {
                        DeriveKind::Core => {
                            if let Some(c) = p.core(d.wall_mm, d.ends) {
                                parts.push(c);
                            }
                        }
                        DeriveKind::Shell => {
                            let mut q = p.clone();
                            if let Some(c) = p.base.offset(d.wall_mm, d.ends) {
                                q.subtract.push(c);
                            }
                            parts.push(q);
                        }
                    }
                }
            }
            if parts.is_empty() {
                return Err((
                    format!("region '{}'.wall_cm", self.regions[i].name),
                    format!(
                        "{} cm leaves nothing of its sources ({}): expected a thinner wall",
                        d.wall_mm / 10.0,
                        d.of.join(", ")
                    ),
                ));
            }
            self.regions[i].solid = Solid { parts };
        }
        Ok(())
    }

    /// Applies `map` to the solids of the regions with indices in `which` (derived regions
    /// are left to [`StylisedBody::rederive`]).
    pub fn map_regions(&mut self, which: &[usize], map: &AxisMap) {
        for &i in which {
            if self.regions[i].derive.is_none() {
                self.regions[i].solid = self.regions[i].solid.mapped(map);
            }
        }
    }

    /// The region owning a world point \[mm\] (the last one in precedence order whose solid
    /// holds it), or `None` outside the body.
    pub fn region_at(&self, p_mm: P3) -> Option<&Region> {
        self.regions.iter().rev().find(|r| r.solid.contains(p_mm))
    }

    /// The region called `name`.
    pub fn region(&self, name: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.name == name)
    }

    /// Bounding box of the whole body \[mm\].
    pub fn bounding_box(&self) -> Aabb {
        let mut it = self.regions.iter().filter_map(|r| r.solid.bounding_box());
        let first = it.next().unwrap_or(Aabb {
            min_mm: [0.0; 3],
            max_mm: [0.0; 3],
        });
        it.fold(first, |a, b| a.union(&b))
    }
}

fn check_finite(_key: &str, v: &[f64]) -> Result<(), String> {
    if v.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(format!("{v:?} is invalid: expected finite numbers"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    format: String,
    name: String,
    #[allow(dead_code)]
    #[serde(default)]
    description: Option<String>,
    frames: BTreeMap<String, [f64; 3]>,
    region: Vec<RegionSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionSpec {
    name: String,
    material: String,
    #[serde(default)]
    density_g_cm3: Option<f64>,
    frame: String,
    #[serde(default)]
    sex: Option<String>,
    #[serde(default)]
    reference: Vec<String>,
    #[allow(dead_code)]
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    part: Vec<SolidSpec>,
    #[serde(default)]
    core_of: Option<String>,
    #[serde(default)]
    shell_of: Option<Vec<String>>,
    #[serde(default)]
    wall_cm: Option<f64>,
    #[serde(default)]
    wall_ends: Option<bool>,
}

/// The derivation keys of a region (`core_of`, `shell_of`, `wall_cm`, `wall_ends`),
/// checked against the regions before it.
fn derive_spec(
    r: &RegionSpec,
    key: &str,
    earlier: &[RegionSpec],
) -> Result<Option<Derive>, KeyErr> {
    let (kind, of) = match (&r.core_of, &r.shell_of) {
        (None, None) => {
            for (name, set) in [
                ("wall_cm", r.wall_cm.is_some()),
                ("wall_ends", r.wall_ends.is_some()),
            ] {
                if set {
                    return Err((
                        format!("{key}.{name}"),
                        "only for a derived region: expected core_of or shell_of with it".into(),
                    ));
                }
            }
            return Ok(None);
        }
        (Some(_), Some(_)) => {
            return Err((
                format!("{key}.shell_of"),
                "core_of and shell_of exclude each other".into(),
            ))
        }
        (Some(c), None) => (DeriveKind::Core, vec![c.clone()]),
        (None, Some(v)) => (DeriveKind::Shell, v.clone()),
    };
    let what = if kind == DeriveKind::Core {
        "core_of"
    } else {
        "shell_of"
    };
    if !r.part.is_empty() {
        return Err((
            format!("{key}.part"),
            format!("a region with {what} takes its solid from its sources: expected no parts"),
        ));
    }
    if of.is_empty() {
        return Err((
            format!("{key}.{what}"),
            "empty: expected region names".into(),
        ));
    }
    for name in &of {
        match earlier.iter().find(|e| &e.name == name) {
            None => {
                return Err((
                    format!("{key}.{what}"),
                    format!("'{name}' is not a region before this one"),
                ))
            }
            Some(e) if e.core_of.is_some() || e.shell_of.is_some() => {
                return Err((
                    format!("{key}.{what}"),
                    format!("'{name}' is itself derived: expected a region with parts"),
                ))
            }
            Some(_) => {}
        }
    }
    let wall = positive(&format!("{key}.wall_cm"), r.wall_cm)?;
    Ok(Some(Derive {
        kind,
        of,
        wall_mm: wall * 10.0,
        ends: r.wall_ends.unwrap_or(false),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SolidSpec {
    solid: String,
    #[serde(default)]
    centre_cm: Option<[f64; 3]>,
    #[serde(default)]
    rotation_deg: Option<[f64; 3]>,
    #[serde(default)]
    semi_axes_cm: Option<Vec<f64>>,
    #[serde(default)]
    half_length_cm: Option<f64>,
    #[serde(default)]
    top_scale: Option<f64>,
    #[serde(default)]
    half_sizes_cm: Option<[f64; 3]>,
    #[serde(default)]
    major_radius_cm: Option<f64>,
    #[serde(default)]
    minor_radius_cm: Option<f64>,
    #[serde(default)]
    normal: Option<[f64; 3]>,
    #[serde(default)]
    z_min_cm: Option<f64>,
    #[serde(default)]
    z_max_cm: Option<f64>,
    #[serde(default)]
    phi_start_deg: Option<f64>,
    #[serde(default)]
    phi_span_deg: Option<f64>,
    #[allow(dead_code)]
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    subtract: Vec<SolidSpec>,
    #[serde(default)]
    intersect: Vec<SolidSpec>,
}

type KeyErr = (String, String);

fn positive(key: &str, v: Option<f64>) -> Result<f64, KeyErr> {
    let v = v.ok_or_else(|| {
        (
            key.to_string(),
            "missing: expected a positive length".into(),
        )
    })?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err((
            key.to_string(),
            format!("{v} is invalid: expected a positive finite number"),
        ))
    }
}

impl SolidSpec {
    /// The names of the shape keys that are set.
    fn set_keys(&self) -> Vec<&'static str> {
        let mut k = Vec::new();
        let mut f = |set: bool, name: &'static str| {
            if set {
                k.push(name)
            }
        };
        f(self.semi_axes_cm.is_some(), "semi_axes_cm");
        f(self.half_length_cm.is_some(), "half_length_cm");
        f(self.top_scale.is_some(), "top_scale");
        f(self.half_sizes_cm.is_some(), "half_sizes_cm");
        f(self.major_radius_cm.is_some(), "major_radius_cm");
        f(self.minor_radius_cm.is_some(), "minor_radius_cm");
        f(self.normal.is_some(), "normal");
        k
    }

    /// The primitive, placed in `parent` (its local frame holds `centre_cm` and
    /// `rotation_deg`).
    fn primitive(&self, parent: &Placement, key: &str) -> Result<Primitive, KeyErr> {
        let k = |name: &str| format!("{key}.{name}");
        let allowed: &[&str] = match self.solid.as_str() {
            "ellipsoid" => &["semi_axes_cm"],
            "elliptic_cylinder" => &["semi_axes_cm", "half_length_cm"],
            "elliptic_cone" => &["semi_axes_cm", "half_length_cm", "top_scale"],
            "torus" => &["major_radius_cm", "minor_radius_cm"],
            "box" => &["half_sizes_cm"],
            "half_space" => &["normal"],
            other => {
                return Err((
                    k("solid"),
                    format!(
                        "unknown solid '{other}': expected ellipsoid, elliptic_cylinder, \
                         elliptic_cone, torus, box or half_space"
                    ),
                ))
            }
        };
        if let Some(extra) = self.set_keys().into_iter().find(|s| !allowed.contains(s)) {
            return Err((
                k(extra),
                format!(
                    "not a parameter of a {}: expected {}",
                    self.solid,
                    allowed.join(", ")
                ),
            ));
        }
        let semi = |n: usize| -> Result<Vec<f64>, KeyErr> {
            let v = self.semi_axes_cm.as_ref().ok_or_else(|| {
                (
                    k("semi_axes_cm"),
                    format!("missing: expected {n} positive semi-axes in cm"),
                )
            })?;
            if v.len() != n {
                return Err((
                    k("semi_axes_cm"),
                    format!("has {} values: expected {n}", v.len()),
                ));
            }
            for (i, &x) in v.iter().enumerate() {
                positive(&format!("{key}.semi_axes_cm[{i}]"), Some(x))?;
            }
            Ok(v.iter().map(|x| x * 10.0).collect())
        };
        let shape = match self.solid.as_str() {
            "ellipsoid" => {
                let s = semi(3)?;
                Shape::Ellipsoid {
                    semi_axes_mm: [s[0], s[1], s[2]],
                }
            }
            "elliptic_cylinder" => {
                let s = semi(2)?;
                Shape::EllipticCylinder {
                    semi_axes_mm: [s[0], s[1]],
                    half_length_mm: positive(&k("half_length_cm"), self.half_length_cm)? * 10.0,
                }
            }
            "elliptic_cone" => {
                let s = semi(2)?;
                Shape::EllipticCone {
                    base_semi_axes_mm: [s[0], s[1]],
                    top_scale: positive(&k("top_scale"), self.top_scale)?,
                    half_length_mm: positive(&k("half_length_cm"), self.half_length_cm)? * 10.0,
                }
            }
            "torus" => {
                let r0 = positive(&k("major_radius_cm"), self.major_radius_cm)?;
                let r = positive(&k("minor_radius_cm"), self.minor_radius_cm)?;
                if r > r0 {
                    return Err((
                        k("minor_radius_cm"),
                        format!("{r} is larger than major_radius_cm = {r0}: expected a ring torus"),
                    ));
                }
                Shape::Torus {
                    major_radius_mm: r0 * 10.0,
                    minor_radius_mm: r * 10.0,
                }
            }
            "box" => {
                let h = self.half_sizes_cm.ok_or_else(|| {
                    (
                        k("half_sizes_cm"),
                        "missing: expected three positive half sizes in cm".to_string(),
                    )
                })?;
                for (i, &x) in h.iter().enumerate() {
                    positive(&format!("{key}.half_sizes_cm[{i}]"), Some(x))?;
                }
                Shape::Box {
                    half_sizes_mm: h.map(|x| x * 10.0),
                }
            }
            _ => {
                // half_space
                let n = self.normal.ok_or_else(|| {
                    (
                        k("normal"),
                        "missing: expected the outward normal [nx, ny, nz]".to_string(),
                    )
                })?;
                let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                if !(len.is_finite() && len > 0.0) {
                    return Err((
                        k("normal"),
                        format!("{n:?} is invalid: expected a finite non-zero vector"),
                    ));
                }
                Shape::HalfSpace {
                    normal: n.map(|x| x / len),
                }
            }
        };
        let centre = self.centre_cm.unwrap_or([0.0; 3]);
        check_finite("", &centre).map_err(|m| (k("centre_cm"), m))?;
        let rot = self.rotation_deg.unwrap_or([0.0; 3]);
        check_finite("", &rot).map_err(|m| (k("rotation_deg"), m))?;
        let mut cuts = Cuts::default();
        for (name, v, slot) in [
            ("z_min_cm", self.z_min_cm, &mut cuts.z_min_mm),
            ("z_max_cm", self.z_max_cm, &mut cuts.z_max_mm),
        ] {
            if let Some(v) = v {
                if !v.is_finite() {
                    return Err((k(name), format!("{v} is invalid: expected a finite number")));
                }
                *slot = Some(v * 10.0);
            }
        }
        if let (Some(a), Some(b)) = (cuts.z_min_mm, cuts.z_max_mm) {
            if a >= b {
                return Err((
                    k("z_max_cm"),
                    format!(
                        "{} is not above z_min_cm = {}: expected z_min_cm < z_max_cm",
                        b / 10.0,
                        a / 10.0
                    ),
                ));
            }
        }
        match (self.phi_start_deg, self.phi_span_deg) {
            (None, None) => {}
            (start, Some(span)) => {
                let start = start.unwrap_or(0.0);
                if !start.is_finite() {
                    return Err((
                        k("phi_start_deg"),
                        format!("{start} is invalid: expected a finite angle"),
                    ));
                }
                if !(span.is_finite() && span > 0.0 && span <= 360.0) {
                    return Err((
                        k("phi_span_deg"),
                        format!("{span} is invalid: expected an angle in (0, 360] degrees"),
                    ));
                }
                if span < 360.0 {
                    cuts.phi_rad = Some((start.to_radians(), span.to_radians()));
                }
            }
            (Some(_), None) => {
                return Err((
                    k("phi_span_deg"),
                    "missing: phi_start_deg needs phi_span_deg".into(),
                ))
            }
        }
        let local = Placement {
            centre_mm: centre.map(|c| c * 10.0),
            rotation: Rotation::from_xyz_deg(rot),
        };
        Ok(Primitive {
            shape,
            cuts,
            placement: parent.compose(&local),
        })
    }
}
