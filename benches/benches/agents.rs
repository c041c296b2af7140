//! Agent-based tumour model: cell-steps per second on 2 threads (criterion reports
//! "elements/s" = cell-steps/s, one cell advanced by one 0.5-min mechanics step).
//!
//! A spheroid of 2e4 cells with default parameters in a 1500 um box (oxygen grid 75^3);
//! one iteration is 12 mechanics steps = 6 simulated minutes, i.e. one phenotype step and
//! one quasi-steady oxygen update, from the same starting state each time.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pedisim_growth::agents::{AgentModel, AgentParams};

const CELLS: usize = 20_000;
const STEPS: u64 = 12;

fn bench(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let params = AgentParams {
        domain_edge_um: 1500.0,
        initial_cells: CELLS,
        ..Default::default()
    };
    let model = pool.install(|| AgentModel::new(params, 1).unwrap());
    let mut g = c.benchmark_group("agents_spheroid_2_threads");
    g.throughput(Throughput::Elements(CELLS as u64 * STEPS));
    g.sample_size(10);
    g.bench_function("2e4_cells_6_min", |b| {
        b.iter_batched(
            || model.clone(),
            |mut m| {
                pool.install(|| {
                    for _ in 0..STEPS {
                        m.step();
                    }
                });
                m
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
