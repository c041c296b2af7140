//! Parameters of the agent-based model, their defaults and their validation.

use thiserror::Error;

/// How a cell that a radiation fraction kills lethally (probability `1 - S(d)`) dies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RadiationDeath {
    /// Mitotic catastrophe: the cell keeps living, consuming oxygen and cycling, and dies
    /// (enters apoptosis) at its next division attempt instead of dividing. This is the
    /// dominant mode of death of irradiated solid-tumour cells (Eriksson and Stigbrand,
    /// Tumor Biol. 31, 363-372, 2010; Joiner and van der Kogel, *Basic Clinical
    /// Radiobiology*, 5th ed., ch. 4): a lethally damaged hypoxic, non-cycling cell stays
    /// alive until it cycles again. Default.
    MitoticCatastrophe,
    /// Immediate apoptosis: the killed cell enters the apoptotic state at the fraction.
    Apoptosis,
}

/// How the oxygen field is advanced at each diffusion step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OxygenScheme {
    /// Quasi-steady: one cycle of Douglas ADI iteration towards the exact discrete steady
    /// state ([`super::OxygenField::adi_cycle`]) per diffusion step. Oxygen relaxes in
    /// ~0.1 min (1/uptake) while cells change over hours, so the field is quasi-steady; the
    /// iteration has no splitting error and damps every error mode by about half per
    /// cycle. Default.
    QuasiSteady,
    /// BioFVM's time-dependent backward-Euler LOD step of `dt_diffusion_min`
    /// ([`super::OxygenField::step`]); its quasi-steady field carries a splitting error
    /// first order in the step (several mmHg in strongly consuming tissue at 0.01 min,
    /// see `tests/agents_oxygen.rs`).
    Lod,
}

/// Error of an invalid parameter set or initial condition.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AgentError {
    /// A parameter has a value outside its admissible range.
    #[error("agent parameter `{name}` = {value}: expected {expected}")]
    InvalidParameter {
        /// The field name in [`AgentParams`].
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// An initial cell lies outside the domain box or has a non-positive volume.
    #[error("initial cell {index}: {reason}")]
    InvalidCell {
        /// Index of the cell in the list given.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Parameters of the agent-based model (PhysiCell-like).
///
/// Units: lengths in micrometres (`_um`), time in minutes (`_min`), oxygen partial pressure
/// in mmHg. Defaults (the [`Default`] impl) follow PhysiCell 1.x and BioFVM unless stated:
/// Ghaffarizadeh et al., *PhysiCell*, PLoS Comput. Biol. 14(2): e1005991 (2018) and its
/// default cell definition (`PhysiCell_settings.xml`, `PhysiCell_standard_models.cpp`);
/// Ghaffarizadeh, Friedman and Macklin, *BioFVM*, Bioinformatics 32(8): 1256 (2016) for
/// the oxygen field (diffusion 1e5 um^2/min, decay 0.1 /min, uptake 10 /min, far field
/// 38 mmHg = 5 % O2).
#[derive(Clone, Debug)]
pub struct AgentParams {
    /// Edge of the cubic domain box \[0, L\]^3 in which cells live and oxygen is solved
    /// \[um\]. Default 1000.
    pub domain_edge_um: f64,
    /// Requested edge of an oxygen voxel \[um\]; the grid has `ceil(L / h)` voxels per axis
    /// and the actual voxel edge is `L / n`. Default 20 (BioFVM's typical 20 um: about
    /// one cell diameter, so that each voxel holds ~1 cell and the sink is resolved).
    pub oxygen_voxel_um: f64,

    /// Interval of the oxygen updates \[min\]: with [`OxygenScheme::QuasiSteady`] one ADI
    /// cycle, with [`OxygenScheme::Lod`] one time step of this length. Default 6, the
    /// phenotype step: oxygen is read only by the phenotype (and the outputs), and with the
    /// default intervals it is updated right before each phenotype step. Oxygen relaxes in
    /// ~0.1 min while the sinks change by well under 1 % per phenotype step (divisions,
    /// deaths, motion below a micrometre), and each cycle halves the distance to the
    /// steady state, so one cycle per phenotype step tracks it: measured in
    /// `tests/agents_oxygen.rs`, the field the phenotype reads deviates from the exact
    /// steady state of the current cells by at most 0.64 mmHg, at 6 min as at 1 min (the
    /// previous default), in a growing hypoxic spheroid, and the spheroid grows the same
    /// within its seed-to-seed spread (`oxygen_interval_comparison`). Six times fewer
    /// oxygen solves than at 1 min. With [`OxygenScheme::Lod`] choose a small step
    /// (PhysiCell: 0.01 min). Must be an integer multiple or an integer fraction of
    /// `dt_mechanics_min`.
    pub dt_diffusion_min: f64,
    /// Time step of the mechanics (overdamped motion, forward Euler) \[min\]. Default 0.5
    /// (PhysiCell: 0.1 with Adams-Bashforth 2). Forward Euler is stable for `dt k < 2` with
    /// `k` the largest relaxation rate of the repulsion; the stiffest common configuration
    /// is a pair of newborn daughters (overlap `1 - d/R` = 0.74, relative rate
    /// `4 c_rep (1 - d/R) / R` = 2.2 /min), hence `dt < 0.9 min`; compressed tissue (mean
    /// overlap 0.06) is ten times softer. Measured (`tests/agents_perf.rs`,
    /// `mechanics_step_comparison`): steps of 0.1, 0.3, 0.6 and 1.2 min give the same
    /// hypoxic spheroid after 2000 min within its stochastic spread (640, 634, 627, 628
    /// live cells; radius 83.9, 83.9, 83.5, 82.4 um).
    pub dt_mechanics_min: f64,
    /// Time step of the phenotype (cycle, death, volume) \[min\]; an integer multiple of
    /// `dt_mechanics_min`. Default 6 (PhysiCell).
    pub dt_phenotype_min: f64,
    /// Interval between observer calls of [`super::AgentModel::run_until`] \[min\]; an
    /// integer multiple of `dt_mechanics_min`. Default 60.
    pub output_interval_min: f64,

    /// Number of cells of the initial spheroid built by [`super::AgentModel::new`].
    /// Default 100.
    pub initial_cells: usize,
    /// Target (and initial) volume of a live cell \[um^3\]. Default 2494 (PhysiCell's
    /// default cell, radius 8.41 um).
    pub cell_volume_um3: f64,
    /// Relaxation rate of a live cell's volume towards its target after division
    /// \[1/min\]. Default 0.0045 (PhysiCell cytoplasmic biomass change rate 0.27 /h).
    pub volume_growth_rate_per_min: f64,

    /// Division rate of the "live" cycle at or above `o2_proliferation_saturation_mmhg`
    /// \[1/min\]. Default 0.00072 (PhysiCell live cycle, 0.0432 /h).
    pub cycle_rate_per_min: f64,
    /// Oxygen below which cells do not divide \[mmHg\]; the division rate rises linearly
    /// from 0 here to its maximum at `o2_proliferation_saturation_mmhg`. Default 5
    /// (PhysiCell `o2_proliferation_threshold`).
    pub o2_proliferation_threshold_mmhg: f64,
    /// Oxygen at and above which cells divide at `cycle_rate_per_min` \[mmHg\]. Default 38,
    /// the far-field value: PhysiCell states its rate at a 160 mmHg reference, we state it
    /// at tissue oxygenation so that the rim of a spheroid divides at the given rate.
    pub o2_proliferation_saturation_mmhg: f64,
    /// Oxygen below which a live cell counts as hypoxic in [`super::TrajectoryRow`]
    /// \[mmHg\]. Default 15 (PhysiCell `o2_hypoxic_threshold`, half-maximal HIF-1a).
    pub o2_hypoxic_threshold_mmhg: f64,

    /// Background apoptosis rate of live cells \[1/min\]. Default 5.31667e-5 (PhysiCell).
    pub apoptosis_rate_per_min: f64,
    /// Time an apoptotic cell shrinks before it is removed \[min\]. Default 516
    /// (PhysiCell apoptosis phase duration, 8.6 h).
    pub apoptosis_duration_min: f64,
    /// Volume loss rate of an apoptotic cell \[1/min\]. Default 1/60 (PhysiCell apoptotic
    /// cytoplasmic biomass change rate).
    pub apoptotic_shrink_rate_per_min: f64,

    /// Oxygen below which necrosis starts \[mmHg\]. Default 5 (PhysiCell
    /// `o2_necrosis_threshold`).
    pub o2_necrosis_threshold_mmhg: f64,
    /// Oxygen at and below which the necrosis rate is maximal \[mmHg\]; the rate rises
    /// linearly between the threshold and this value. Default 2.5 (PhysiCell
    /// `o2_necrosis_max`).
    pub o2_necrosis_max_mmhg: f64,
    /// Maximal necrosis rate \[1/min\]. Default 1/360 (PhysiCell's oxygen-based necrosis,
    /// a mean time to necrosis of 6 h in anoxia).
    pub necrosis_max_rate_per_min: f64,
    /// Swelling rate of a necrotic cell (osmotic fluid uptake) \[1/min\]: the volume grows as
    /// `exp(rate t)` until it ruptures. Default 0.05 (PhysiCell unlysed necrotic fluid
    /// change rate, 3 /h).
    pub necrotic_swelling_rate_per_min: f64,
    /// Volume at rupture relative to the volume at the onset of necrosis; at rupture the
    /// cell lyses and is removed. Default 2 (PhysiCell `relative_rupture_volume`).
    pub relative_rupture_volume: f64,

    /// Cell-cell repulsion strength \[um/min\]: the speed of two fully overlapping cells (drag
    /// coefficient 1). Default 10 (PhysiCell).
    pub repulsion_um_per_min: f64,
    /// Cell-cell adhesion strength between live cells \[um/min\]. Default 0.4 (PhysiCell).
    pub adhesion_um_per_min: f64,
    /// Adhesion range relative to the sum of the two radii. Default 1.25 (PhysiCell).
    pub relative_adhesion_distance: f64,

    /// Oxygen diffusion coefficient \[um^2/min\]. Default 1e5 (BioFVM/PhysiCell).
    pub oxygen_diffusion_um2_per_min: f64,
    /// First-order oxygen decay rate in the whole domain \[1/min\]. Default 0.1 (PhysiCell;
    /// stands for consumption by the surrounding tissue, penetration sqrt(D/decay) = 1 mm).
    pub oxygen_decay_per_min: f64,
    /// Oxygen uptake rate of a live cell \[1/min\]: a cell of volume V in a voxel of volume
    /// V_vox removes oxygen at `uptake * V / V_vox * p`. Default 10 (PhysiCell).
    pub oxygen_uptake_per_min: f64,
    /// Oxygen partial pressure held on the domain boundary (Dirichlet) and initially
    /// everywhere \[mmHg\]. Default 38 (5 % O2, PhysiCell).
    pub oxygen_far_field_mmhg: f64,

    /// Oxygen scheme. Default [`OxygenScheme::QuasiSteady`].
    pub oxygen_scheme: OxygenScheme,
    /// Death mode of cells killed by a radiation fraction. Default
    /// [`RadiationDeath::MitoticCatastrophe`].
    pub radiation_death: RadiationDeath,
}

impl Default for AgentParams {
    fn default() -> Self {
        Self {
            domain_edge_um: 1000.0,
            oxygen_voxel_um: 20.0,
            dt_diffusion_min: 6.0,
            dt_mechanics_min: 0.5,
            dt_phenotype_min: 6.0,
            output_interval_min: 60.0,
            initial_cells: 100,
            cell_volume_um3: 2494.0,
            volume_growth_rate_per_min: 0.0045,
            cycle_rate_per_min: 0.00072,
            o2_proliferation_threshold_mmhg: 5.0,
            o2_proliferation_saturation_mmhg: 38.0,
            o2_hypoxic_threshold_mmhg: 15.0,
            apoptosis_rate_per_min: 5.31667e-5,
            apoptosis_duration_min: 516.0,
            apoptotic_shrink_rate_per_min: 1.0 / 60.0,
            o2_necrosis_threshold_mmhg: 5.0,
            o2_necrosis_max_mmhg: 2.5,
            necrosis_max_rate_per_min: 1.0 / 360.0,
            necrotic_swelling_rate_per_min: 0.05,
            relative_rupture_volume: 2.0,
            repulsion_um_per_min: 10.0,
            adhesion_um_per_min: 0.4,
            relative_adhesion_distance: 1.25,
            oxygen_diffusion_um2_per_min: 1.0e5,
            oxygen_decay_per_min: 0.1,
            oxygen_uptake_per_min: 10.0,
            oxygen_far_field_mmhg: 38.0,
            oxygen_scheme: OxygenScheme::QuasiSteady,
            radiation_death: RadiationDeath::MitoticCatastrophe,
        }
    }
}

/// `ratio = a / b` as a positive integer when it is one within a relative 1e-9.
pub(crate) fn integer_ratio(a: f64, b: f64) -> Option<u64> {
    let r = a / b;
    let n = r.round();
    if n >= 1.0 && (r - n).abs() <= 1e-9 * n {
        Some(n as u64)
    } else {
        None
    }
}

impl AgentParams {
    /// Checks every parameter; the error names the first offending one and what was
    /// expected.
    pub fn validate(&self) -> Result<(), AgentError> {
        fn bad(name: &'static str, value: f64, expected: &'static str) -> AgentError {
            AgentError::InvalidParameter {
                name,
                value,
                expected,
            }
        }
        let positive = [
            ("domain_edge_um", self.domain_edge_um),
            ("oxygen_voxel_um", self.oxygen_voxel_um),
            ("dt_diffusion_min", self.dt_diffusion_min),
            ("dt_mechanics_min", self.dt_mechanics_min),
            ("dt_phenotype_min", self.dt_phenotype_min),
            ("output_interval_min", self.output_interval_min),
            ("cell_volume_um3", self.cell_volume_um3),
            ("apoptosis_duration_min", self.apoptosis_duration_min),
            (
                "oxygen_diffusion_um2_per_min",
                self.oxygen_diffusion_um2_per_min,
            ),
            (
                "relative_adhesion_distance",
                self.relative_adhesion_distance,
            ),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(bad(name, v, "a finite value > 0"));
            }
        }
        let non_negative = [
            (
                "volume_growth_rate_per_min",
                self.volume_growth_rate_per_min,
            ),
            ("cycle_rate_per_min", self.cycle_rate_per_min),
            ("apoptosis_rate_per_min", self.apoptosis_rate_per_min),
            (
                "apoptotic_shrink_rate_per_min",
                self.apoptotic_shrink_rate_per_min,
            ),
            ("necrosis_max_rate_per_min", self.necrosis_max_rate_per_min),
            (
                "necrotic_swelling_rate_per_min",
                self.necrotic_swelling_rate_per_min,
            ),
            ("repulsion_um_per_min", self.repulsion_um_per_min),
            ("adhesion_um_per_min", self.adhesion_um_per_min),
            ("oxygen_decay_per_min", self.oxygen_decay_per_min),
            ("oxygen_uptake_per_min", self.oxygen_uptake_per_min),
            ("oxygen_far_field_mmhg", self.oxygen_far_field_mmhg),
            (
                "o2_proliferation_threshold_mmhg",
                self.o2_proliferation_threshold_mmhg,
            ),
            ("o2_hypoxic_threshold_mmhg", self.o2_hypoxic_threshold_mmhg),
            ("o2_necrosis_max_mmhg", self.o2_necrosis_max_mmhg),
        ];
        for (name, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(name, v, "a finite value >= 0"));
            }
        }
        if self.oxygen_voxel_um > self.domain_edge_um / 3.0 {
            return Err(bad(
                "oxygen_voxel_um",
                self.oxygen_voxel_um,
                "at most domain_edge_um / 3 (at least one interior voxel per axis)",
            ));
        }
        if self.dt_mechanics_min > self.dt_phenotype_min {
            return Err(bad(
                "dt_mechanics_min",
                self.dt_mechanics_min,
                "at most dt_phenotype_min",
            ));
        }
        if integer_ratio(self.dt_phenotype_min, self.dt_mechanics_min).is_none() {
            return Err(bad(
                "dt_phenotype_min",
                self.dt_phenotype_min,
                "an integer multiple of dt_mechanics_min",
            ));
        }
        if integer_ratio(self.output_interval_min, self.dt_mechanics_min).is_none() {
            return Err(bad(
                "output_interval_min",
                self.output_interval_min,
                "an integer multiple of dt_mechanics_min",
            ));
        }
        if integer_ratio(self.dt_diffusion_min, self.dt_mechanics_min).is_none()
            && integer_ratio(self.dt_mechanics_min, self.dt_diffusion_min).is_none()
        {
            return Err(bad(
                "dt_diffusion_min",
                self.dt_diffusion_min,
                "an integer multiple or an integer fraction of dt_mechanics_min",
            ));
        }
        if !(self.o2_proliferation_saturation_mmhg.is_finite()
            && self.o2_proliferation_saturation_mmhg > self.o2_proliferation_threshold_mmhg)
        {
            return Err(bad(
                "o2_proliferation_saturation_mmhg",
                self.o2_proliferation_saturation_mmhg,
                "a finite value > o2_proliferation_threshold_mmhg",
            ));
        }
        if !(self.o2_necrosis_threshold_mmhg.is_finite()
            && self.o2_necrosis_threshold_mmhg > self.o2_necrosis_max_mmhg)
        {
            return Err(bad(
                "o2_necrosis_threshold_mmhg",
                self.o2_necrosis_threshold_mmhg,
                "a finite value > o2_necrosis_max_mmhg",
            ));
        }
        if !(self.relative_rupture_volume.is_finite() && self.relative_rupture_volume > 1.0) {
            return Err(bad(
                "relative_rupture_volume",
                self.relative_rupture_volume,
                "a finite value > 1",
            ));
        }
        if self.relative_adhesion_distance < 1.0 {
            return Err(bad(
                "relative_adhesion_distance",
                self.relative_adhesion_distance,
                "a value >= 1 (adhesion reaches at least to contact)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        AgentParams::default().validate().unwrap();
    }

    #[test]
    fn errors_name_the_parameter() {
        let check = |p: AgentParams, needle: &str| {
            let e = p.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        };
        let d = AgentParams::default;
        check(
            AgentParams {
                cycle_rate_per_min: -1.0,
                ..d()
            },
            "`cycle_rate_per_min` = -1: expected a finite value >= 0",
        );
        check(
            AgentParams {
                dt_mechanics_min: 0.0,
                ..d()
            },
            "`dt_mechanics_min` = 0: expected a finite value > 0",
        );
        check(
            AgentParams {
                dt_mechanics_min: 12.0,
                ..d()
            },
            "at most dt_phenotype_min",
        );
        check(
            AgentParams {
                dt_phenotype_min: 6.05,
                ..d()
            },
            "`dt_phenotype_min` = 6.05: expected an integer multiple of dt_mechanics_min",
        );
        check(
            AgentParams {
                dt_diffusion_min: 0.7,
                ..d()
            },
            "dt_diffusion_min",
        );
        check(
            AgentParams {
                o2_necrosis_max_mmhg: 6.0,
                ..d()
            },
            "o2_necrosis_threshold_mmhg",
        );
        check(
            AgentParams {
                oxygen_voxel_um: f64::NAN,
                ..d()
            },
            "oxygen_voxel_um",
        );
    }
}
