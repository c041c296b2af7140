//! Plain output records of the agent-based model.

/// State of a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CellState {
    /// Alive, in the single phase of the "live" cycle (PhysiCell `live` model): it grows,
    /// consumes oxygen and divides at an oxygen-dependent rate.
    Live,
    /// Apoptotic: shrinking, no uptake, removed after the apoptosis duration.
    Apoptotic,
    /// Necrotic: swelling by osmosis, no uptake, removed (lysed) at rupture.
    Necrotic,
}

/// One row of the growth trajectory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrajectoryRow {
    /// Simulated time since the start \[min\].
    pub time_min: f64,
    /// Number of live cells (including lethally irradiated cells awaiting mitotic death).
    pub live: usize,
    /// Number of apoptotic cells.
    pub apoptotic: usize,
    /// Number of necrotic cells (swelling, not yet lysed).
    pub necrotic: usize,
    /// Cells that have entered necrosis since the start (lysed ones included).
    pub necrosis_events: u64,
    /// Tumour radius \[um\]: `sqrt(5/3) R_g`, with `R_g` the radius of gyration of all cell
    /// centres about their centroid; for a uniformly filled ball this is its radius, and it
    /// is a smooth function of the cell positions (unlike the distance of the outermost
    /// cell).
    pub radius_um: f64,
    /// Largest distance of a cell centre from the centroid \[um\].
    pub max_radius_um: f64,
    /// Fraction of live cells at an oxygen below `o2_hypoxic_threshold_mmhg` (0 when there
    /// are no live cells).
    pub hypoxic_fraction: f64,
}

/// A 2-D slice of the oxygen field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldSlice {
    /// Values \[mmHg\], `dims[0] * dims[1]`, first axis fastest (x, then y).
    pub values_mmhg: Vec<f64>,
    /// Voxels along x and y.
    pub dims: [usize; 2],
    /// Voxel edge \[um\].
    pub spacing_um: f64,
    /// Centre of the first voxel in the model frame \[um\]; the slice is the plane
    /// `z = origin_um[2]`.
    pub origin_um: [f64; 3],
}

/// The state of all cells and the oxygen slice through the domain centre at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// Simulated time \[min\].
    pub time_min: f64,
    /// Cell ids (unique, never reused).
    pub ids: Vec<u64>,
    /// Cell centres in the model frame \[um\].
    pub positions_um: Vec<[f64; 3]>,
    /// Cell radii \[um\].
    pub radii_um: Vec<f64>,
    /// Cell states.
    pub states: Vec<CellState>,
    /// Whether each cell carries lethal radiation damage (dies at its next division under
    /// [`super::RadiationDeath::MitoticCatastrophe`]).
    pub doomed: Vec<bool>,
    /// Oxygen in the z plane of voxels through the domain centre.
    pub oxygen: FieldSlice,
}

/// What one radiation fraction did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FractionOutcome {
    /// Live cells not already lethally damaged that were exposed.
    pub exposed: usize,
    /// Of these, cells lethally hit (probability `1 - S(d)`).
    pub killed: usize,
}
