//! Benchmark cases shared by the criterion benches (`cargo bench -p pedisim-benches`).
//!
//! The cases are those of `docs/performance.md`: a 140.5 keV photon point source at the
//! centre of a 30 cm water cube with 2 mm voxels, and the same in a 30 cm phantom of soft
//! tissue, cortical bone and lung layers (`configs/bone_lung_slabs_140kev.toml`).

use pedisim_core::Vec3;
use pedisim_growth::continuum::{ContinuumModel, ContinuumParams, DiffusionScheme};
use pedisim_phantom::builtin::{box_phantom, slab_phantom, Slab};
use pedisim_phantom::Phantom;
use pedisim_physics::material::{Material, MaterialDb};
use pedisim_physics::photon::PhotonTables;
use pedisim_transport::model::VoxelModel;
use pedisim_transport::source::{Source, Spatial, Spectrum};

/// Everything a benchmark needs to build a `Simulation`.
pub struct Case {
    /// The voxel model.
    pub model: VoxelModel,
    /// Photon tables of its materials.
    pub tables: PhotonTables,
    /// A 140.5 keV isotropic point source at the centre.
    pub source: Source,
}

fn build(p: Phantom) -> Case {
    let db = MaterialDb::builtin().expect("built-in materials");
    let mats: Vec<Material> = p
        .materials
        .iter()
        .map(|m| db.get(m).expect("known").clone())
        .collect();
    let tables = PhotonTables::new(&mats).expect("tables");
    let model = VoxelModel::new(&p).expect("model");
    let centre = Vec3::from_array(p.grid.extent_mm()) * 0.5;
    let source = Source::new(
        Spatial::Point {
            position_mm: centre,
        },
        Spectrum::Mono { energy_mev: 0.1405 },
    );
    Case {
        model,
        tables,
        source,
    }
}

fn nominal(m: &str) -> Option<f64> {
    MaterialDb::builtin()
        .ok()?
        .get(m)
        .ok()
        .map(|m| m.density_g_cm3)
}

/// 30 cm water cube, 2 mm voxels.
pub fn water_cube() -> Case {
    build(box_phantom("water", [300.0; 3], [2.0; 3], nominal).expect("phantom"))
}

/// 30 cm phantom of soft tissue, bone and lung layers, 2 mm voxels.
pub fn bone_lung() -> Case {
    let s = |m: &str, t: f64| Slab {
        material: m.into(),
        thickness_mm: t,
        name: m.into(),
    };
    let slabs = [
        s("soft_tissue", 60.0),
        s("cortical_bone", 20.0),
        s("lung", 120.0),
        s("cortical_bone", 20.0),
        s("soft_tissue", 80.0),
    ];
    build(slab_phantom(&slabs, [300.0, 300.0], [2.0; 3], nominal).expect("phantom"))
}

/// 30 cm water cube with cubic voxels of `voxel_mm` (e.g. 10 mm: a grid that fits in
/// cache, to separate memory latency from computation when profiling).
pub fn water_cube_voxel_mm(voxel_mm: f64) -> Case {
    build(box_phantom("water", [300.0; 3], [voxel_mm; 3], nominal).expect("phantom"))
}

/// Edge of the cubic grid of [`continuum_case`] (voxels): 128^3 x 8 bytes = 16.8 MB per field, far beyond the
/// caches.
pub const CONTINUUM_EDGE: usize = 128;
const N: usize = CONTINUUM_EDGE;

/// The continuum benchmark case: a 128^3 grid of 1 mm voxels, grey (0.13 mm^2/day) and
/// white (0.65) matter in halves along z, a tumour of half the carrying capacity over the
/// central third of each axis, rho 0.012 /day, Crank-Nicolson steps of one day.
pub fn continuum_case() -> ContinuumModel {
    let n = N * N * N;
    // Two tissues (grey 0.13, white 0.65 mm^2/day) in halves along z, 1 mm voxels, and a
    // tumour over the central third so that every operator works on real numbers.
    let d: Vec<f64> = (0..n)
        .map(|i| if i / (N * N) < N / 2 { 0.13 } else { 0.65 })
        .collect();
    let params = ContinuumParams {
        rho_per_day: 0.012,
        carrying_capacity_cells_per_mm3: 1.0e5,
        dt_day: 1.0,
        scheme: DiffusionScheme::CrankNicolson,
    };
    let mut m = ContinuumModel::new([N; 3], [1.0; 3], &d, params).unwrap();
    let c = (0..n)
        .map(|i| {
            let (x, y, z) = (i % N, (i / N) % N, i / (N * N));
            let inside = |v: usize| (N / 3..2 * N / 3).contains(&v);
            if inside(x) && inside(y) && inside(z) {
                5.0e4
            } else {
                0.0
            }
        })
        .collect();
    m.set_density(c).unwrap();
    m
}
