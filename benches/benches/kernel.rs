//! Photon histories per second on one core (criterion reports "elements/s" = histories/s).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pedisim_transport::kernel::{Control, Settings, Simulation};
use pedisim_transport::tally::EnergyTally;

const HISTORIES: u64 = 20_000;

fn bench(c: &mut Criterion) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut g = c.benchmark_group("photon_140keV_point_source_1_core");
    g.throughput(Throughput::Elements(HISTORIES));
    g.sample_size(20);
    for (name, case) in [
        ("water_cube_30cm_2mm", pedisim_benches::water_cube()),
        ("bone_lung_slabs_30cm_2mm", pedisim_benches::bone_lung()),
    ] {
        let sim = Simulation::new(&case.model, &case.tables, &case.source, Settings::default());
        let tally = EnergyTally::new(case.model.grid.len());
        let control = Control::default();
        let mut batch = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                batch += 1;
                pool.install(|| {
                    sim.run_batch_part(1, batch, HISTORIES, 0..HISTORIES, &tally, &control)
                        .unwrap()
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
