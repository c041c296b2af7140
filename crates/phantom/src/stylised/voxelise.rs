//! Voxelisation of a stylised body with sub-voxel sampling, and organ mass reports.
//!
//! Each voxel is crossed by `k x k` lines parallel to the x axis, one in each cell of a
//! `k x k` sub-grid in y and z (stratified sampling: the line's place in its sub-cell
//! changes from row to row, see [`jitter`], so that surfaces parallel to the rows of lines
//! are not sampled at one phase everywhere). Along each line the part inside each region is
//! computed exactly (intersections of the line with the quadric surfaces; tori by
//! bisection), with precedence resolved (the last region in the body's order owns a
//! point). The voxel's volume fraction in each region is the mean over its lines of the
//! length inside the region, so the partial volumes are exact along x and sampled `k x k`
//! in y and z. Labels follow from the fractions by [`Assignment`]: the majority vote, or
//! (the default of [`VoxeliseOptions::cubic`]) a mass-conserving assignment that gives each
//! region as many voxels as its partial volume holds, so that thin layers (skin, cortical
//! bone, walls) keep their masses at coarse voxels.

use super::body::StylisedBody;
use super::geometry::{intersect_intervals, subtract_intervals, Aabb};
use super::StylisedError;
use crate::{LabelEntry, Phantom};
use pedisim_core::GridGeometry;
use rayon::prelude::*;

/// Label of the voxels outside the body.
pub const BACKGROUND_LABEL: u32 = 0;

/// How voxels get their labels from the partial volumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignment {
    /// Each voxel takes the region with the largest fraction of it (outside counts as a
    /// region; ties go to the later region). Thin layers (skin, cortical shells, walls) gain
    /// or lose whole voxels.
    Majority,
    /// Mass conserving: each region gets as many voxels as its partial volume holds
    /// (`round(V / v_voxel)`, rounded per group of regions with the same `reference` list so
    /// that, e.g., both kidneys together are rounded once; outside gets the rest of the
    /// grid); voxels wholly inside one region keep it, and the regions, in reverse
    /// precedence order (the small organs, walls and bones that lie inside others first,
    /// outside the body last), take the free voxels with their largest fractions. A mixed
    /// voxel left over by that pass (its candidates had filled their counts elsewhere) is
    /// given one of its candidates and voxels move along the cheapest chain of regions
    /// (each voxel to another region it overlaps, losing the least fraction) to a region
    /// still short, so that every count is met exactly wherever the partial volumes allow
    /// it (only then does a voxel no region needs go to its largest fraction).
    MassConserving,
}

/// How to voxelise.
#[derive(Clone, Debug, PartialEq)]
pub struct VoxeliseOptions {
    /// Voxel edge lengths along x, y, z \[mm\].
    pub voxel_mm: [f64; 3],
    /// Sub-sampling `k`: `k x k` lines per voxel (in y and z); 1 to 64.
    pub subsamples: usize,
    /// Material of label 0, outside the body (e.g. `"air"` or `"vacuum"`).
    pub background: String,
    /// How labels are assigned from the partial volumes.
    pub assignment: Assignment,
}

impl VoxeliseOptions {
    /// Cubic voxels of `voxel_mm`, `k = 4` (16 lines per voxel), air outside, mass-conserving
    /// assignment.
    pub fn cubic(voxel_mm: f64) -> Self {
        Self {
            voxel_mm: [voxel_mm; 3],
            subsamples: 4,
            background: "air".into(),
            assignment: Assignment::MassConserving,
        }
    }
}

/// A voxelised stylised body.
#[derive(Clone, Debug)]
pub struct Voxelised {
    /// The phantom: label 0 outside the body, each region's label inside (the table holds
    /// every region of the body and label 0, each with its resolved density).
    pub phantom: Phantom,
    /// Fraction of each voxel's volume held by the region it is labelled with (x fastest).
    pub fill_fraction: Vec<f32>,
    /// Volume \[cm^3\] of each label's region inside the grid from the partial volumes, in
    /// the order of the phantom's label table.
    pub partial_volume_cm3: Vec<(u32, f64)>,
}

/// Regions whose bounding boxes meet a line, in precedence order.
struct Candidates<'a> {
    body: &'a StylisedBody,
    boxes: Vec<Option<Aabb>>,
}

impl<'a> Candidates<'a> {
    fn new(body: &'a StylisedBody) -> Self {
        Self {
            body,
            boxes: body
                .regions
                .iter()
                .map(|r| r.solid.bounding_box())
                .collect(),
        }
    }

    /// Region indices whose boxes reach the slab `z0 <= z <= z1`.
    fn in_range(&self, z0_mm: f64, z1_mm: f64) -> Vec<usize> {
        (0..self.boxes.len())
            .filter(|&i| {
                self.boxes[i]
                    .map(|b| z1_mm >= b.min_mm[2] && z0_mm <= b.max_mm[2])
                    .unwrap_or(true)
            })
            .collect()
    }

    /// Calls `f(region index, x0, x1)` for the pieces of the line `(y, z)`, `x` in
    /// `[x_lo, x_hi]`, owned by each region (precedence resolved).
    fn paint_row(
        &self,
        slab: &[usize],
        y_mm: f64,
        z_mm: f64,
        x_lo: f64,
        x_hi: f64,
        mut f: impl FnMut(usize, f64, f64),
    ) {
        let mut free = vec![(x_lo, x_hi)];
        for &i in slab.iter().rev() {
            if let Some(b) = &self.boxes[i] {
                if !b.meets_x_line(y_mm, z_mm) {
                    continue;
                }
            }
            let set = self.body.regions[i]
                .solid
                .x_intervals(y_mm, z_mm, x_lo, x_hi);
            if set.is_empty() {
                continue;
            }
            let own = intersect_intervals(&set, &free);
            if own.is_empty() {
                continue;
            }
            free = subtract_intervals(&free, &own);
            for (a, b) in own {
                f(i, a, b);
            }
            if free.is_empty() {
                break;
            }
        }
    }
}

/// Position in `[0, 1)` of a sampling line within its cell, for row `j` of the lines along
/// one axis (`axis` 0: the offset in y of the lines of z row `j`; 1: the offset in z of the
/// lines of y row `j`): additive recurrences with the golden-ratio and plastic-number
/// conjugates, starting at the centre. Every cell holds one line (stratified sampling) but
/// its place in the cell changes from row to row, so that a surface parallel to the lines'
/// rows (the front of the trunk, an axial tube, the top of a dome) is not sampled at the
/// same phase in every row: on a lattice of cell centres such a surface biases the volume
/// of a thin layer by a systematic part of a cell, here the errors average out.
pub fn jitter(j: usize, axis: usize) -> f64 {
    const ALPHA: [f64; 2] = [0.618_033_988_749_894_9, 0.754_877_666_246_692_7];
    (0.5 + j as f64 * ALPHA[axis & 1]).fract()
}

fn bad(key: &str, value: String, expected: &str) -> StylisedError {
    StylisedError::BadParameter {
        key: key.into(),
        value,
        expected: expected.into(),
    }
}

/// Voxelises `body` on a grid that covers its bounding box, centred on it, in the body's
/// world frame (mm). `nominal_density(material)` gives a material's nominal density
/// \[g/cm^3\] (`None` for an unknown material, an error).
pub fn voxelise(
    body: &StylisedBody,
    opts: &VoxeliseOptions,
    nominal_density: impl Fn(&str) -> Option<f64>,
) -> Result<Voxelised, StylisedError> {
    for a in 0..3 {
        let v = opts.voxel_mm[a];
        if !(v.is_finite() && v > 0.0) {
            return Err(bad(
                &format!("voxel_mm[{a}]"),
                v.to_string(),
                "expected a positive voxel size in mm",
            ));
        }
    }
    let k = opts.subsamples;
    if !(1..=64).contains(&k) {
        return Err(bad(
            "subsamples",
            k.to_string(),
            "expected 1 to 64 sub-samples per voxel edge",
        ));
    }
    if body.regions.is_empty() {
        return Err(bad(
            "regions",
            "0".into(),
            "expected a body with at least one region",
        ));
    }
    let bb = body.bounding_box();
    let mut dims = [0usize; 3];
    let mut origin = [0.0; 3];
    for a in 0..3 {
        let ext = bb.max_mm[a] - bb.min_mm[a];
        let n = (ext / opts.voxel_mm[a]).ceil().max(1.0);
        if n > 1e5 {
            return Err(bad(
                &format!("voxel_mm[{a}]"),
                opts.voxel_mm[a].to_string(),
                &format!(
                    "expected at most 100000 voxels along an axis (the body spans {ext:.1} mm)"
                ),
            ));
        }
        dims[a] = n as usize;
        let centre = 0.5 * (bb.max_mm[a] + bb.min_mm[a]);
        origin[a] = centre - 0.5 * (dims[a] as f64 - 1.0) * opts.voxel_mm[a];
    }
    let total = dims[0] as f64 * dims[1] as f64 * dims[2] as f64;
    if total > 2e9 {
        return Err(bad(
            "voxel_mm",
            format!("{:?}", opts.voxel_mm),
            &format!("the grid {dims:?} would have {total:.3e} voxels: expected at most 2e9"),
        ));
    }
    let grid = GridGeometry::new(dims, opts.voxel_mm, origin, [1.0; 3])?;

    // Label table with resolved densities.
    let mut table = Vec::with_capacity(body.regions.len() + 1);
    let bg_density = nominal_density(&opts.background).ok_or_else(|| {
        StylisedError::Phantom(crate::PhantomError::UnknownMaterial {
            label: BACKGROUND_LABEL,
            name: "outside".into(),
            material: opts.background.clone(),
        })
    })?;
    table.push(LabelEntry {
        value: BACKGROUND_LABEL,
        name: "outside".into(),
        material: opts.background.clone(),
        density_g_cm3: Some(bg_density),
    });
    for r in &body.regions {
        let rho = match r.density_g_cm3 {
            Some(d) => d,
            None => nominal_density(&r.material).ok_or_else(|| {
                StylisedError::Phantom(crate::PhantomError::UnknownMaterial {
                    label: r.label,
                    name: r.name.clone(),
                    material: r.material.clone(),
                })
            })?,
        };
        table.push(LabelEntry {
            value: r.label,
            name: r.name.clone(),
            material: r.material.clone(),
            density_g_cm3: Some(rho),
        });
    }

    let [nx, ny, _] = dims;
    let [dx, dy, dz] = opts.voxel_mm;
    let x_lo = origin[0] - 0.5 * dx;
    let x_hi = x_lo + nx as f64 * dx;
    let cand = Candidates::new(body);
    let n_regions = body.regions.len();
    let mut labels = vec![BACKGROUND_LABEL; grid.len()];
    let mut fill = vec![0f32; grid.len()];
    let conserve = opts.assignment == Assignment::MassConserving;
    let w_line = 1.0 / (k * k) as f64;
    // One z slice of voxels: its labels and fill fractions are written in place; returns
    // its partial volumes per region, outside, and the mixed voxels' candidates (voxel
    // index, slot, fraction).
    type Slice = (Vec<f64>, f64, Vec<(u64, u32, f32)>);
    let slice = |iz: usize, labels: &mut [u32], fill: &mut [f32]| -> Slice {
        let mut region_volume = vec![0.0f64; n_regions];
        let mut outside_volume = 0.0f64;
        let mut mixed = Vec::new();
        // Per voxel of the slice: (region index, fraction) pairs.
        let mut acc: Vec<Vec<(u32, f64)>> = vec![Vec::new(); nx * ny];
        let z_base = origin[2] + (iz as f64 - 0.5) * dz;
        let slab = cand.in_range(z_base, z_base + dz);
        if !slab.is_empty() {
            for sz in 0..k {
                // Stratified sampling: one line per sub-cell, at a position in the sub-cell
                // that varies from row to row (see `jitter`).
                let u = jitter(iz * k + sz, 0);
                for iy in 0..ny {
                    let y_base = origin[1] + (iy as f64 - 0.5) * dy;
                    for sy in 0..k {
                        let y = y_base + (sy as f64 + u) / k as f64 * dy;
                        let z = z_base + (sz as f64 + jitter(iy * k + sy, 1)) / k as f64 * dz;
                        cand.paint_row(&slab, y, z, x_lo, x_hi, |ri, a, b| {
                            let i0 = (((a - x_lo) / dx).floor().max(0.0) as usize).min(nx - 1);
                            let i1 = (((b - x_lo) / dx).floor().max(0.0) as usize).min(nx - 1);
                            for ix in i0..=i1 {
                                let v0 = x_lo + ix as f64 * dx;
                                let len = b.min(v0 + dx) - a.max(v0);
                                if len <= 0.0 {
                                    continue;
                                }
                                let w = len / dx * w_line;
                                let cell = &mut acc[iy * nx + ix];
                                match cell.iter_mut().find(|e| e.0 == ri as u32) {
                                    Some(e) => e.1 += w,
                                    None => cell.push((ri as u32, w)),
                                }
                            }
                        });
                    }
                }
            }
        }
        for iy in 0..ny {
            for ix in 0..nx {
                let j = iy * nx + ix;
                let cell = &acc[j];
                let inside: f64 = cell.iter().map(|e| e.1).sum();
                let mut best_label = BACKGROUND_LABEL;
                let outside = (1.0 - inside).max(0.0);
                let mut best = outside;
                outside_volume += best;
                for &(ri, f) in cell {
                    region_volume[ri as usize] += f;
                    let label = body.regions[ri as usize].label;
                    if f > best || (f == best && label > best_label) {
                        best = f;
                        best_label = label;
                    }
                }
                labels[j] = best_label;
                fill[j] = best.min(1.0) as f32;
                if conserve && best < PURE {
                    let i = grid.index(ix, iy, iz) as u64;
                    // Candidates: slot 0 is outside, slot ri + 1 region ri.
                    if outside > 0.0 {
                        mixed.push((i, 0, outside as f32));
                    }
                    for &(ri, f) in cell {
                        mixed.push((i, ri + 1, f as f32));
                    }
                    labels[j] = UNASSIGNED;
                }
            }
        }
        (region_volume, outside_volume, mixed)
    };
    // Slices in parallel, summed in slice order (results independent of the threads).
    let slices: Vec<Slice> = labels
        .par_chunks_mut(nx * ny)
        .zip(fill.par_chunks_mut(nx * ny))
        .enumerate()
        .map(|(iz, (l, f))| slice(iz, l, f))
        .collect();
    let mut region_volume = vec![0.0f64; n_regions];
    let mut outside_volume = 0.0f64;
    let mut mixed: Vec<(u64, u32, f32)> =
        Vec::with_capacity(slices.iter().map(|s| s.2.len()).sum());
    for (rv, ov, mx) in slices {
        for (a, b) in region_volume.iter_mut().zip(rv) {
            *a += b;
        }
        outside_volume += ov;
        mixed.extend(mx);
    }
    let vcm3 = grid.voxel_volume_cm3();
    if conserve {
        assign_mass_conserving(
            body,
            &mut labels,
            &mut fill,
            mixed,
            outside_volume,
            &region_volume,
        );
    }
    let mut partial: Vec<(u32, f64)> = vec![(BACKGROUND_LABEL, outside_volume * vcm3)];
    partial.extend(
        body.regions
            .iter()
            .zip(&region_volume)
            .map(|(r, v)| (r.label, v * vcm3)),
    );
    partial.sort_by_key(|e| e.0);
    let phantom = Phantom::from_labels(grid, labels, table, None, &nominal_density)?;
    Ok(Voxelised {
        phantom,
        fill_fraction: fill,
        partial_volume_cm3: partial,
    })
}

/// Fraction above which a voxel counts as wholly in one region.
const PURE: f64 = 1.0 - 1e-9;
/// Label of a voxel not yet assigned.
const UNASSIGNED: u32 = u32::MAX;

/// The mass-conserving assignment (see [`Assignment::MassConserving`]): `labels` holds the
/// pure voxels' labels and [`UNASSIGNED`] for the mixed ones, whose candidates are `mixed`
/// (slot 0 outside, slot `i + 1` region `i`); volumes in voxel units.
///
/// 1. Target counts: each group of regions with the same reference list gets
///    `round(V / v)` voxels, shared among its regions by largest remainders; outside gets
///    the rest of the grid, so that the targets add up to the number of voxels.
/// 2. Greedy pass: regions in reverse precedence order take the free mixed voxels with
///    their largest fractions, up to their targets.
/// 3. Repair: a mixed voxel left over (its candidate regions had filled their targets
///    elsewhere) takes one of its candidates, and voxels move along the cheapest chain of
///    regions (each move from a region to another candidate of the same voxel, cost the
///    fraction lost) to a region still short of its target. The counts then equal the
///    targets wherever the candidates allow it, instead of the leftover voxels inflating
///    the regions around them.
fn assign_mass_conserving(
    body: &StylisedBody,
    labels: &mut [u32],
    fill: &mut [f32],
    mut mixed: Vec<(u64, u32, f32)>,
    outside_voxels: f64,
    region_voxels: &[f64],
) {
    let n = body.regions.len();
    let slot_label = |slot: u32| -> u32 {
        if slot == 0 {
            BACKGROUND_LABEL
        } else {
            body.regions[slot as usize - 1].label
        }
    };
    // Target counts: rounded per group of regions with the same reference list.
    let vol: Vec<f64> = std::iter::once(outside_voxels)
        .chain(region_voxels.iter().copied())
        .collect();
    let mut target = vec![0i64; n + 1];
    let mut done = vec![false; n + 1];
    for s in 0..=n {
        if done[s] {
            continue;
        }
        let members: Vec<usize> = if s == 0 || body.regions[s - 1].reference.is_empty() {
            vec![s]
        } else {
            let refs = &body.regions[s - 1].reference;
            (1..=n)
                .filter(|&t| &body.regions[t - 1].reference == refs)
                .collect()
        };
        let total: f64 = members.iter().map(|&m| vol[m]).sum();
        let g = total.round() as i64;
        let mut floors: Vec<(usize, f64)> = members.iter().map(|&m| (m, vol[m])).collect();
        let mut sum = 0i64;
        for &(m, v) in &floors {
            target[m] = v.floor() as i64;
            sum += target[m];
        }
        floors.sort_by(|a, b| {
            (b.1 - b.1.floor())
                .total_cmp(&(a.1 - a.1.floor()))
                .then(a.0.cmp(&b.0))
        });
        for &(m, _) in floors.iter().take((g - sum).max(0) as usize) {
            target[m] += 1;
        }
        for &m in &members {
            done[m] = true;
        }
    }
    // Outside takes what the regions leave of the grid.
    let inside: i64 = target[1..].iter().sum();
    target[0] = (labels.len() as i64 - inside).max(0);
    // What the pure voxels already give.
    let mut slot_of_label = std::collections::HashMap::new();
    slot_of_label.insert(BACKGROUND_LABEL, 0usize);
    for (i, r) in body.regions.iter().enumerate() {
        slot_of_label.insert(r.label, i + 1);
    }
    let mut need = target;
    for &l in labels.iter() {
        if l != UNASSIGNED {
            if let Some(&s) = slot_of_label.get(&l) {
                need[s] -= 1;
            }
        }
    }
    // Mixed voxels, compacted: voxel `c` has the candidates `cand[start[c]..start[c + 1]]`.
    mixed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut voxel: Vec<u64> = Vec::new();
    let mut start: Vec<usize> = Vec::new();
    for (j, e) in mixed.iter().enumerate() {
        if voxel.last() != Some(&e.0) {
            voxel.push(e.0);
            start.push(j);
        }
    }
    start.push(mixed.len());
    let cand: Vec<(u32, f32)> = mixed.iter().map(|e| (e.1, e.2)).collect();
    let mut owner_of: Vec<usize> = Vec::with_capacity(mixed.len());
    for c in 0..voxel.len() {
        owner_of.extend(std::iter::repeat_n(c, start[c + 1] - start[c]));
    }
    drop(mixed);
    const FREE: u32 = u32::MAX;
    let mut slot_now = vec![FREE; voxel.len()];

    // Greedy pass: regions in reverse precedence order (small organs, walls and bones,
    // which come late in a body, before the regions they lie in; outside last), each
    // taking the voxels with its largest fractions among those still free.
    let mut order: Vec<usize> = (0..cand.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        let rank = |slot: u32| slot as u64;
        rank(cand[b].0)
            .cmp(&rank(cand[a].0))
            .then(cand[b].1.total_cmp(&cand[a].1))
            .then(owner_of[a].cmp(&owner_of[b]))
    });
    for &j in &order {
        let c = owner_of[j];
        let slot = cand[j].0 as usize;
        if slot_now[c] == FREE && need[slot] > 0 {
            slot_now[c] = slot as u32;
            need[slot] -= 1;
        }
    }
    drop(order);

    // Repair along the cheapest chains of moves.
    let left: Vec<usize> = (0..voxel.len()).filter(|&c| slot_now[c] == FREE).collect();
    if !left.is_empty() && need.iter().any(|&d| d > 0) {
        repair_counts(&cand, &start, &mut slot_now, &mut need, &left);
    }

    // Voxels no region still needed (or could reach): their largest fraction.
    for c in 0..voxel.len() {
        let cs = &cand[start[c]..start[c + 1]];
        let (slot, f) = if slot_now[c] == FREE {
            cs.iter()
                .copied()
                .fold((0u32, -1.0f32), |b, e| if e.1 > b.1 { e } else { b })
        } else {
            let s = slot_now[c];
            (s, cs.iter().find(|e| e.0 == s).map(|e| e.1).unwrap_or(0.0))
        };
        let v = voxel[c] as usize;
        labels[v] = slot_label(slot);
        fill[v] = f;
    }
}

/// The repair step of [`assign_mass_conserving`]: each voxel of `left` (unassigned) is
/// given a candidate slot, and one voxel per link moves along the cheapest chain of slots
/// to a slot with `need > 0` (Dijkstra on the slots; a link `a -> b` moves the voxel of
/// slot `a` with candidate `b` that loses the least fraction). `cand[start[c]..start[c +
/// 1]]` are voxel `c`'s `(slot, fraction)` candidates, `slot_now[c]` its slot (`u32::MAX`
/// free).
fn repair_counts(
    cand: &[(u32, f32)],
    start: &[usize],
    slot_now: &mut [u32],
    need: &mut [i64],
    left: &[usize],
) {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, HashMap};
    const FREE: u32 = u32::MAX;
    let ns = need.len();
    let frac = |c: usize, s: u32| -> f32 {
        cand[start[c]..start[c + 1]]
            .iter()
            .find(|e| e.0 == s)
            .map(|e| e.1)
            .unwrap_or(0.0)
    };
    // Moves a -> b: heap of (fraction lost, voxel), smallest first; stale entries (the
    // voxel no longer in a) are dropped when met.
    type Moves = BinaryHeap<Reverse<(u32, u32)>>;
    let mut moves: HashMap<(u32, u32), Moves> = HashMap::new();
    let push = |moves: &mut HashMap<(u32, u32), Moves>, c: usize, a: u32| {
        let fa = frac(c, a);
        for &(b, fb) in &cand[start[c]..start[c + 1]] {
            if b != a {
                let loss = (fa - fb).max(0.0);
                moves
                    .entry((a, b))
                    .or_default()
                    .push(Reverse((loss.to_bits(), c as u32)));
            }
        }
    };
    for c in 0..slot_now.len() {
        if slot_now[c] != FREE {
            push(&mut moves, c, slot_now[c]);
        }
    }
    let mut order = left.to_vec();
    // Voxels with a clear majority first.
    order.sort_by(|&a, &b| {
        let m = |c: usize| {
            cand[start[c]..start[c + 1]]
                .iter()
                .map(|e| e.1)
                .fold(0.0f32, f32::max)
        };
        m(b).total_cmp(&m(a)).then(a.cmp(&b))
    });
    let mut best = vec![vec![None::<(f32, u32)>; ns]; ns];
    for &u in &order {
        if !need.iter().any(|&d| d > 0) {
            break;
        }
        // Cheapest move per link (stale entries dropped).
        for row in best.iter_mut() {
            row.iter_mut().for_each(|e| *e = None);
        }
        for (&(a, b), heap) in moves.iter_mut() {
            while let Some(&Reverse((loss, c))) = heap.peek() {
                if slot_now[c as usize] == a {
                    best[a as usize][b as usize] = Some((f32::from_bits(loss), c));
                    break;
                }
                heap.pop();
            }
        }
        // Dijkstra from u's candidates (cost: 1 minus the fraction u brings).
        let mut dist = vec![f32::INFINITY; ns];
        let mut pred: Vec<Option<(usize, u32)>> = vec![None; ns];
        for &(s, f) in &cand[start[u]..start[u + 1]] {
            let d = 1.0 - f;
            if d < dist[s as usize] {
                dist[s as usize] = d;
            }
        }
        let mut settled = vec![false; ns];
        let mut goal = None;
        loop {
            let mut a = usize::MAX;
            for s in 0..ns {
                if !settled[s] && dist[s].is_finite() && (a == usize::MAX || dist[s] < dist[a]) {
                    a = s;
                }
            }
            if a == usize::MAX {
                break;
            }
            settled[a] = true;
            if need[a] > 0 {
                goal = Some(a);
                break;
            }
            for b in 0..ns {
                if let Some((loss, c)) = best[a][b] {
                    let d = dist[a] + loss;
                    if !settled[b] && d < dist[b] {
                        dist[b] = d;
                        pred[b] = Some((a, c));
                    }
                }
            }
        }
        let Some(goal) = goal else {
            continue;
        };
        // Apply the chain: the last link first (each voxel leaves its slot for the next).
        let mut s = goal;
        while let Some((a, c)) = pred[s] {
            slot_now[c as usize] = s as u32;
            push(&mut moves, c as usize, s as u32);
            s = a;
        }
        slot_now[u] = s as u32;
        push(&mut moves, u, s as u32);
        need[goal] -= 1;
    }
}

/// Volume \[cm^3\] of each region of `body` after precedence is resolved, integrated on
/// lines parallel to x, one in each cell of a `step_mm x step_mm` grid in y and z (placed
/// by [`jitter`]; exact along each line). Returned as `(label, volume)` in the body's
/// order. Independent of any voxel grid.
pub fn region_volumes_cm3(
    body: &StylisedBody,
    step_mm: f64,
) -> Result<Vec<(u32, f64)>, StylisedError> {
    if !(step_mm.is_finite() && step_mm > 0.0) {
        return Err(bad(
            "step_mm",
            step_mm.to_string(),
            "expected a positive step in mm",
        ));
    }
    let bb = body.bounding_box();
    let n = [1, 2].map(|a| ((bb.max_mm[a] - bb.min_mm[a]) / step_mm).ceil().max(1.0));
    if n[0] * n[1] > 1e9 {
        return Err(bad(
            "step_mm",
            step_mm.to_string(),
            "expected a step giving at most 1e9 lines",
        ));
    }
    let cand = Candidates::new(body);
    let mut vol = vec![0.0f64; body.regions.len()];
    let (x_lo, x_hi) = (bb.min_mm[0] - 1.0, bb.max_mm[0] + 1.0);
    for iz in 0..n[1] as usize {
        let z0 = bb.min_mm[2] + iz as f64 * step_mm;
        let slab = cand.in_range(z0, z0 + step_mm);
        let u = jitter(iz, 0);
        for iy in 0..n[0] as usize {
            let y = bb.min_mm[1] + (iy as f64 + u) * step_mm;
            let z = z0 + jitter(iy, 1) * step_mm;
            cand.paint_row(&slab, y, z, x_lo, x_hi, |ri, a, b| vol[ri] += b - a);
        }
    }
    // mm^2 * mm = mm^3; 1 cm^3 = 1000 mm^3.
    let line_cm3_per_mm = step_mm * step_mm * 1e-3;
    Ok(body
        .regions
        .iter()
        .zip(vol)
        .map(|(r, v)| (r.label, v * line_cm3_per_mm))
        .collect())
}

/// One region's masses in a voxelised body.
#[derive(Clone, Debug, PartialEq)]
pub struct RegionMass {
    /// Label value.
    pub label: u32,
    /// Region name.
    pub name: String,
    /// Material name.
    pub material: String,
    /// Density used \[g/cm^3\].
    pub density_g_cm3: f64,
    /// Mass of the voxels carrying the label \[kg\].
    pub voxel_mass_kg: f64,
    /// Mass from the sub-voxel partial volumes \[kg\] (the region's mass in the body up to
    /// the `k x k` sampling).
    pub partial_volume_mass_kg: f64,
    /// Analytic mass of the region's solid alone, before overlaps with later regions are
    /// resolved \[kg\]; `None` where there is no closed form (booleans, several parts).
    pub solid_mass_kg: Option<f64>,
}

/// Mass of each region (and of label 0, outside) of a voxelised body, in label order.
pub fn mass_report(v: &Voxelised, body: &StylisedBody) -> Vec<RegionMass> {
    let voxel = v.phantom.label_masses_kg();
    v.phantom
        .table
        .iter()
        .zip(voxel)
        .map(|(e, (_, m))| {
            let rho = e.density_g_cm3.unwrap_or(0.0);
            let pv = v
                .partial_volume_cm3
                .iter()
                .find(|p| p.0 == e.value)
                .map(|p| p.1)
                .unwrap_or(0.0);
            let solid = body
                .regions
                .iter()
                .find(|r| r.label == e.value)
                .and_then(|r| r.solid.analytic_volume_mm3())
                .map(|mm3| mm3 * 1e-3 * rho * 1e-3);
            RegionMass {
                label: e.value,
                name: e.name.clone(),
                material: e.material.clone(),
                density_g_cm3: rho,
                voxel_mass_kg: m,
                partial_volume_mass_kg: pv * rho * 1e-3,
                solid_mass_kg: solid,
            }
        })
        .collect()
}

/// Volume \[cm^3\] of region `index` of `body` after precedence is resolved (its solid
/// minus those of all later regions), integrated part by part on lines parallel to x, one
/// in each cell of a grid over each part's bounding box in y and z (placed in its cell by
/// [`jitter`]: stratified sampling), with edge lengths close to `step_mm` (at least
/// [`MIN_CELLS`] and at most [`MAX_CELLS`] cells per axis); exact along each line. A grid
/// on each part's own box integrates faces of the box exactly and suits thin or elongated
/// parts; the stratified places keep thin layers (skin, walls) free of the systematic
/// error of cell centres, which sample the surfaces that bound the box at one phase. Cheaper than [`region_volumes_cm3`]
/// for one region. An index out of range or an unbounded region gives 0.
pub fn resolved_volume_cm3(body: &StylisedBody, index: usize, step_mm: f64) -> f64 {
    let Some(r) = body.regions.get(index) else {
        return 0.0;
    };
    if !(step_mm.is_finite() && step_mm > 0.0) {
        return 0.0;
    }
    let cells = part_cells(r, step_mm);
    resolved_volume_with_cells(body, index, &cells)
}

/// Fewest cells per axis of a part's grid in [`resolved_volume_cm3`].
pub const MIN_CELLS: usize = 24;
/// Most cells per axis of a part's grid in [`resolved_volume_cm3`].
pub const MAX_CELLS: usize = 300;

/// Cells `[ny, nz]` of each part's grid for edge lengths close to `step_mm`.
pub fn part_cells(r: &super::body::Region, step_mm: f64) -> Vec<[usize; 2]> {
    r.solid
        .parts
        .iter()
        .map(|p| match p.bounding_box() {
            Some(b) => [1, 2].map(|a| {
                (((b.max_mm[a] - b.min_mm[a]) / step_mm).ceil() as usize)
                    .clamp(MIN_CELLS, MAX_CELLS)
            }),
            None => [0, 0],
        })
        .collect()
}

/// [`resolved_volume_cm3`] with the cell counts of each part's grid given (a fit keeps
/// them fixed so that the integral changes smoothly with the geometry).
pub fn resolved_volume_with_cells(body: &StylisedBody, index: usize, cells: &[[usize; 2]]) -> f64 {
    let Some(r) = body.regions.get(index) else {
        return 0.0;
    };
    let Some(rb) = r.solid.bounding_box() else {
        return 0.0;
    };
    let later: Vec<(usize, Aabb)> = body.regions[index + 1..]
        .iter()
        .enumerate()
        .filter_map(|(j, o)| {
            let ob = o.solid.bounding_box()?;
            let meet = (0..3).all(|a| ob.min_mm[a] <= rb.max_mm[a] && ob.max_mm[a] >= rb.min_mm[a]);
            meet.then_some((index + 1 + j, ob))
        })
        .collect();
    let mut total = 0.0;
    for (pi, part) in r.solid.parts.iter().enumerate() {
        let Some(b) = part.bounding_box() else {
            continue;
        };
        let [ny, nz] = cells.get(pi).copied().unwrap_or([MIN_CELLS; 2]);
        if ny == 0 || nz == 0 {
            continue;
        }
        let dy = (b.max_mm[1] - b.min_mm[1]) / ny as f64;
        let dz = (b.max_mm[2] - b.min_mm[2]) / nz as f64;
        let (x_lo, x_hi) = (b.min_mm[0] - 1.0, b.max_mm[0] + 1.0);
        let earlier: Vec<(&super::geometry::Part, Aabb)> = r.solid.parts[..pi]
            .iter()
            .filter_map(|q| Some((q, q.bounding_box()?)))
            .collect();
        let mut v = 0.0;
        for iz in 0..nz {
            let u = jitter(iz, 0);
            for iy in 0..ny {
                // One line per cell, placed by `jitter` (stratified sampling).
                let y = b.min_mm[1] + (iy as f64 + u) * dy;
                let z = b.min_mm[2] + (iz as f64 + jitter(iy, 1)) * dz;
                let mut set = part.x_intervals(y, z, x_lo, x_hi);
                // Parts of the same region counted once.
                for (q, qb) in &earlier {
                    if set.is_empty() {
                        break;
                    }
                    if qb.meets_x_line(y, z) {
                        let o = q.x_intervals(y, z, x_lo, x_hi);
                        if !o.is_empty() {
                            set = subtract_intervals(&set, &o);
                        }
                    }
                }
                for (j, ob) in &later {
                    if set.is_empty() {
                        break;
                    }
                    if !ob.meets_x_line(y, z) {
                        continue;
                    }
                    // Only where the later region's x range meets what is left.
                    if !set
                        .iter()
                        .any(|&(a, c)| ob.max_mm[0] >= a && ob.min_mm[0] <= c)
                    {
                        continue;
                    }
                    let s0 = set[0].0.max(ob.min_mm[0]);
                    let s1 = set[set.len() - 1].1.min(ob.max_mm[0]);
                    let o = body.regions[*j].solid.x_intervals(y, z, s0, s1);
                    if !o.is_empty() {
                        set = subtract_intervals(&set, &o);
                    }
                }
                v += set.iter().map(|(a, c)| c - a).sum::<f64>();
            }
        }
        total += v * dy * dz;
    }
    total * 1e-3
}
