//! Tests of the age and sex family (`stylised::ages`): bodies voxelised at 2 mm against the
//! ICRP 89 reference masses (every mass group and the total body mass within 3 %), the
//! region vocabulary, and the errors for out-of-range ages and implausible measures.
//!
//! `cargo test -p pedisim-phantom --test stylised_ages -- --ignored --nocapture` runs the
//! full sweep (newborn, 1, 5, 10, 15 y and adult, both sexes) and prints the table of
//! `docs/phantoms.md`.

use pedisim_phantom::stylised::{
    self, mass_report, paediatric_body_fit, regions_by_reference, voxelise, BodySpec, Sex,
    StylisedBody, StylisedError, VoxeliseOptions,
};

/// Nominal densities from data/materials.toml (read here, not through pedisim-physics).
fn nominal_density(material: &str) -> Option<f64> {
    static TEXT: &str = include_str!("../../../data/materials.toml");
    static TABLE: std::sync::OnceLock<toml::Table> = std::sync::OnceLock::new();
    let t = TABLE.get_or_init(|| toml::from_str(TEXT).expect("data/materials.toml parses"));
    t.get("material")?
        .get(material)?
        .get("density_g_cm3")?
        .as_float()
}

/// One row of the comparison: (references, target kg, fit kg, voxel kg at 2 mm).
type Row = (String, f64, f64, f64);

/// Builds the body, voxelises it at 2 mm and returns the rows plus the total body mass
/// (target, voxelised), in kg.
fn body_at_2mm(age_y: f64, sex: Sex) -> (Vec<Row>, f64, f64) {
    let (body, fit) = paediatric_body_fit(&BodySpec::reference(age_y, sex)).expect("fit");
    let v = voxelise(&body, &VoxeliseOptions::cubic(2.0), nominal_density).expect("voxelise");
    let report = mass_report(&v, &body);
    let voxel_kg = |labels: &[u32]| -> f64 {
        report
            .iter()
            .filter(|m| labels.contains(&m.label))
            .map(|m| m.voxel_mass_kg)
            .sum()
    };
    let rows = fit
        .groups
        .iter()
        .map(|g| {
            (
                g.references.join(" + "),
                g.target_kg,
                g.fitted_kg,
                voxel_kg(&g.labels),
            )
        })
        .collect();
    let total: f64 = report
        .iter()
        .filter(|m| m.label != 0)
        .map(|m| m.voxel_mass_kg)
        .sum();
    (rows, fit.body_mass_target_kg, total)
}

/// Prints the comparison and returns the groups (and total) more than 3 % off.
fn deviations(age_y: f64, sex: Sex) -> Vec<String> {
    let (rows, target, total) = body_at_2mm(age_y, sex);
    println!("\n### {sex}, {age_y} y (2 mm voxels)\n");
    println!(
        "| reference regions | reference (g) | fitted (g) | voxels (g) | voxels vs reference |"
    );
    println!("|---|---:|---:|---:|---:|");
    let mut bad = Vec::new();
    for (name, t, f, v) in &rows {
        let d = v / t - 1.0;
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:+.2} % |",
            t * 1e3,
            f * 1e3,
            v * 1e3,
            100.0 * d
        );
        if d.abs() > 0.03 {
            bad.push(format!(
                "{name}: {:.3} g vs {:.3} g ({:+.2} %)",
                v * 1e3,
                t * 1e3,
                100.0 * d
            ));
        }
    }
    let d = total / target - 1.0;
    println!(
        "| **total body** | {:.1} | | {:.1} | {:+.2} % |",
        target * 1e3,
        total * 1e3,
        100.0 * d
    );
    if d.abs() > 0.03 {
        bad.push(format!("total body: {total:.3} kg vs {target:.3} kg"));
    }
    bad.iter()
        .map(|b| format!("{sex} {age_y} y: {b}"))
        .collect()
}

/// Asserts every group and the total within 3 % of the reference at 2 mm.
fn check(age_y: f64, sex: Sex) {
    let bad = deviations(age_y, sex);
    assert!(bad.is_empty(), "at 2 mm: {bad:#?}");
}

#[test]
fn five_year_old_girl_masses_at_2mm() {
    check(5.0, Sex::Female);
}

#[test]
fn fifteen_year_old_boy_masses_at_2mm() {
    check(15.0, Sex::Male);
}

/// Ages 1, 5, 10, 15 y and adult, both sexes, checked; the newborn is printed but not
/// checked: at 2 mm its thinnest layers (skin about 1 mm, colon walls, a 2 g oesophagus,
/// 0.08 g of breast) are a few voxels thick and miss 3 % (docs/phantoms.md).
#[test]
#[ignore = "full sweep, about 20 s per body: run with --ignored"]
fn all_ages_and_sexes_masses_at_2mm() {
    let mut bad = Vec::new();
    for age in [0.0, 1.0, 5.0, 10.0, 15.0, 30.0] {
        for sex in [Sex::Female, Sex::Male] {
            let d = deviations(age, sex);
            if age > 0.0 {
                bad.extend(d);
            }
        }
    }
    assert!(bad.is_empty(), "at 2 mm: {bad:#?}");
}

fn base(sex: Sex) -> StylisedBody {
    StylisedBody::from_toml(stylised::ages::BASE_TOML, stylised::ages::BASE_FILE, sex)
        .expect("base body parses")
}

#[test]
fn regions_by_reference_names_the_dosimetry_vocabulary() {
    let male = base(Sex::Male);
    let map = regions_by_reference(&male);
    let labels = |n: &str| -> Vec<u32> {
        map.iter()
            .find(|(m, _)| m == n)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    };
    let label_of = |name: &str| male.region(name).expect(name).label;
    assert_eq!(
        labels("Kidneys"),
        vec![label_of("kidney_left"), label_of("kidney_right")]
    );
    assert_eq!(
        labels("UB-cont"),
        vec![label_of("urinary_bladder_contents")]
    );
    assert_eq!(labels("UB-wall"), vec![label_of("urinary_bladder_wall")]);
    assert_eq!(labels("SI-wall"), labels("SI-cont"));
    assert_eq!(labels("C-bone-V").len(), 8, "eight cortical shells");
    assert_eq!(labels("R-marrow"), labels("T-bone-V"));
    for n in [
        "Liver",
        "Lungs",
        "St-wall",
        "St-cont",
        "Ht-wall",
        "Brain",
        "Thyroid",
        "Spleen",
        "Pancreas",
        "Adrenals",
        "Thymus",
        "Skin",
        "Testes",
        "Breast",
        "GB-wall",
        "GB-cont",
        "RC-wall",
        "RC-cont",
        "LC-wall",
        "LC-cont",
        "RS-wall",
        "RS-cont",
        "Oesophag-w",
        "S-glands",
        "T-marrow",
        "C-marrow",
    ] {
        assert!(!labels(n).is_empty(), "{n} missing in the male body");
    }
    assert!(labels("Ovaries").is_empty() && labels("Uterus").is_empty());
    let female = regions_by_reference(&base(Sex::Female));
    for n in ["Ovaries", "Uterus", "Breast"] {
        assert!(
            female.iter().any(|(m, _)| m == n),
            "{n} missing in the female body"
        );
    }
    assert!(!female.iter().any(|(m, _)| m == "Testes"));
    // Every name is an ICRP 155 source region with a tabulated mass, or a documented one.
    for (n, _) in &map {
        stylised::reference_mass_kg(n, 5.0, Sex::Male).unwrap_or_else(|e| panic!("{n}: {e}"));
    }
}

fn key_of(e: StylisedError) -> String {
    match e {
        StylisedError::BadParameter { key, .. } => key,
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn bad_specs_are_refused_before_any_fit() {
    let spec = |age, h: Option<f64>, w: Option<f64>| BodySpec {
        height_cm: h,
        weight_kg: w,
        ..BodySpec::reference(age, Sex::Female)
    };
    for age in [-1.0, 100.5, f64::NAN] {
        let e = paediatric_body_fit(&spec(age, None, None)).unwrap_err();
        assert!(e.to_string().contains("expected an age from 0"), "{e}");
        assert_eq!(key_of(e), "age_y");
    }
    // A 5-year-old of 160 cm, of 60 cm, of 60 kg at 110 cm, of 8 kg at 110 cm.
    for (h, w, key) in [
        (Some(160.0), None, "height_cm"),
        (Some(60.0), None, "height_cm"),
        (Some(110.0), Some(60.0), "weight_kg"),
        (Some(110.0), Some(8.0), "weight_kg"),
        (None, Some(-3.0), "weight_kg"),
    ] {
        let e = paediatric_body_fit(&spec(5.0, h, w)).unwrap_err();
        assert!(e.to_string().contains("implausible"), "{e}");
        assert_eq!(key_of(e), key);
    }
    let torso = BodySpec {
        torso_ap_cm: Some(40.0),
        ..BodySpec::reference(5.0, Sex::Male)
    };
    assert_eq!(
        key_of(paediatric_body_fit(&torso).unwrap_err()),
        "torso_ap_cm"
    );
    let e = stylised::reference_mass_kg("Liverr", 5.0, Sex::Male).unwrap_err();
    assert!(
        e.to_string().contains("not an ICRP 155 source region"),
        "{e}"
    );
}

#[test]
fn reference_values_interpolate_linearly_in_age() {
    use stylised::{reference_body_mass_kg, reference_height_cm, reference_mass_kg};
    assert_eq!(reference_height_cm(5.0, Sex::Male).unwrap(), 109.0);
    assert!((reference_height_cm(7.5, Sex::Male).unwrap() - 123.5).abs() < 1e-9);
    assert!((reference_body_mass_kg(12.5, Sex::Female).unwrap() - 42.5).abs() < 1e-9);
    assert_eq!(reference_body_mass_kg(45.0, Sex::Male).unwrap(), 73.0);
    // Liver: 0.57 kg at 5 y, 0.83 kg at 10 y.
    assert!((reference_mass_kg("Liver", 7.5, Sex::Male).unwrap() - 0.70).abs() < 1e-9);
    assert_eq!(reference_mass_kg("R-marrow", 5.0, Sex::Male).unwrap(), 0.0);
    assert!((reference_mass_kg("Ht-cont", 15.0, Sex::Female).unwrap() - 0.347).abs() < 1e-9);
}
