//! Region vocabulary: ICRP Publication 133/155 source-region names.

/// The 79 source regions of the ICRP reference computational phantoms as named in ICRP
/// Publication 133 (2016), Annex, and used for the paediatric specific absorbed fractions
/// of ICRP Publication 155 (2020); the same order as the project's reference-mass table
/// (`icrp155_source_region_masses_kg.csv`, ICRP 89 masses tabulated for ICRP 155).
///
/// These are also the names the phantom code gives its voxel regions (a region's
/// `reference` list), and the target names used by [`crate::effective`].
pub const ICRP155_SOURCE_REGIONS: [&str; 79] = [
    "O-cavity",
    "O-mucosa",
    "Teeth-S",
    "Teeth-V",
    "Tongue",
    "Tonsils",
    "Oesophag-s",
    "Oesophag-f",
    "Oesophag-w",
    "St-cont",
    "St-mucosa",
    "St-wall",
    "SI-cont",
    "SI-mucosa",
    "SI-wall",
    "SI-villi",
    "RC-cont",
    "RC-mucosa",
    "RC-wall",
    "LC-cont",
    "LC-mucosa",
    "LC-wall",
    "RS-cont",
    "RS-mucosa",
    "RS-wall",
    "ET1-sur",
    "ET2-sur",
    "ET2-bnd",
    "ET2-seq",
    "LN-ET",
    "Bronchi",
    "Bronchi-b",
    "Bronchi-q",
    "Brchiole",
    "Brchiole-b",
    "Brchiole-q",
    "ALV",
    "LN-Th",
    "Lungs",
    "Adrenals",
    "Blood",
    "C-bone-S",
    "C-bone-V",
    "T-bone-S",
    "T-bone-V",
    "C-marrow",
    "T-marrow",
    "R-marrow",
    "Y-marrow",
    "Brain",
    "Breast",
    "Eye-lens",
    "GB-wall",
    "GB-cont",
    "Ht-wall",
    "Kidneys",
    "Liver",
    "LN-Sys",
    "Ovaries",
    "Pancreas",
    "P-gland",
    "Prostate",
    "S-glands",
    "Skin",
    "Spleen",
    "Testes",
    "Thymus",
    "Thyroid",
    "Ureters",
    "UB-wall",
    "UB-cont",
    "Uterus",
    "Adipose",
    "Cartilage",
    "Muscle",
    "ET1-wall",
    "ET2-wall",
    "Lung-Tis",
    "RT-air",
];

/// "Other organs and tissues": the whole body minus the source regions named explicitly
/// in a biokinetic model (ICRP Publication 53/128 usage).
pub const OTHER: &str = "Other";

/// An S-matrix source column for activity distributed uniformly (by mass) over the whole
/// body; used by the remainder correction of [`crate::mird`].
pub const TOTAL_BODY: &str = "Total-body";

/// Urinary bladder contents, the source region of the bladder voiding model.
pub const URINARY_BLADDER_CONTENTS: &str = "UB-cont";

/// Whether `name` is an ICRP 155 source-region name or [`OTHER`].
pub fn is_source_region(name: &str) -> bool {
    name == OTHER || ICRP155_SOURCE_REGIONS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_has_the_names_the_models_use() {
        for n in [
            "Liver", "Kidneys", "UB-cont", "Brain", "Ht-wall", "Lungs", "R-marrow", "T-bone-S",
            "C-bone-S", "Blood", "Spleen", "Thyroid", "St-cont", "SI-cont", "RC-cont", "Other",
        ] {
            assert!(is_source_region(n), "{n}");
        }
        assert!(!is_source_region("liver"));
        assert!(!is_source_region(TOTAL_BODY));
    }
}
