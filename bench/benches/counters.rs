//! Criterion benches of the G-Counter and PN-Counter: ours, `crdts` and `ahash` maps,
//! 8, 64 and 1024 replicas. The same workloads as the table binary.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use crdt_bench::counter::{CounterContender, PlainG, PlainPn, REPLICAS};
use crdt_bench::measurement as m;
use crdt_core::{GCounter, PnCounter};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;

fn contender<C: CounterContender>(c: &mut Criterion, kind: &str) {
    let mut g = c.benchmark_group(format!("{kind}/{}", C::NAME));
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(1));
    for r in REPLICAS {
        let mut counter = C::with_replicas(r, 1);
        g.bench_function(BenchmarkId::new("increment", r), |b| {
            b.iter_custom(m::increment_rep(&mut counter, r / 2 + 1));
        });
        let (left, right) = (C::with_replicas(r, 1), C::with_replicas(r, 2));
        g.bench_function(BenchmarkId::new("merge", r), |b| {
            b.iter_custom(m::merge_counter_rep(&left, &right));
        });
        g.bench_function(BenchmarkId::new("value", r), |b| {
            b.iter_custom(m::value_rep(&left));
        });
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    contender::<GCounter>(c, "gcounter");
    contender::<crdts::GCounter<u64>>(c, "gcounter");
    contender::<PlainG>(c, "gcounter");
    contender::<PnCounter>(c, "pncounter");
    contender::<crdts::PNCounter<u64>>(c, "pncounter");
    contender::<PlainPn>(c, "pncounter");
}

criterion_group!(counters, benches);
criterion_main!(counters);
