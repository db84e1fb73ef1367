//! Criterion benches of the OR-Set operations: ours, `crdts` and `ahash`, `u64` and
//! 13-byte `String` elements, 1e4, 1e5 and 1e6 elements (1e3 in `cargo test`'s smoke
//! run). The same workloads as the table binary (`crdt_bench::measurement`).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use crdt_bench::criterion_support::{measurement_time, set_sizes};
use crdt_bench::element::Element;
use crdt_bench::measurement as m;
use crdt_bench::orset::{
    CrdtsOps, CrdtsStateMerge, DeltaPath, Ours, OursDelta, OursMergeDelta, Plain, PlainDelta,
    SetContender, Theirs,
};
use crdt_bench::rng::SplitMix64;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use std::time::Duration;

fn config<'c>(
    c: &'c mut Criterion,
    group: &str,
    n: u64,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(300));
    // Full-state merges at 1e6 take about a second each in crdts.
    g.measurement_time(measurement_time(Duration::from_nanos(n * 400)));
    g.sampling_mode(SamplingMode::Flat);
    g
}

fn contender<E: Element, S: SetContender<E>>(c: &mut Criterion, n: u64) {
    let name = format!("orset-{}/{}", E::NAME, S::NAME);
    let mut g = config(c, &name, n);
    let mut rng = SplitMix64::new(n);
    let mut set = S::build(n);
    g.bench_function(BenchmarkId::new("insert", n), |b| {
        b.iter_custom(m::insert_rep::<E, S>(&mut set, &mut rng));
    });
    g.bench_function(BenchmarkId::new("remove", n), |b| {
        b.iter_custom(m::remove_rep::<E, S>(&mut set, n, &mut rng));
    });
    let fresh = S::build(n);
    g.bench_function(BenchmarkId::new("encode", n), |b| {
        b.iter_custom(m::encode_rep::<E, S>(&fresh));
    });
    let bytes = fresh.encode();
    drop(fresh);
    g.bench_function(BenchmarkId::new("decode", n), |b| {
        b.iter_custom(m::decode_rep::<E, S>(&bytes));
    });
    drop(set);
    let (left, right) = S::overlapping_pair(n);
    g.bench_function(BenchmarkId::new("merge-full-state", n), |b| {
        b.iter_custom(m::merge_state_rep::<E, S>(&left, &right));
    });
    g.finish();
}

fn delta<E: Element, P: DeltaPath<E>>(c: &mut Criterion, label: &str, n: u64) {
    let mut g = config(c, &format!("orset-{}/merge-10-element-delta", E::NAME), n);
    let mut rng = SplitMix64::new(n ^ 0xD);
    let mut state = P::State::build(n);
    g.bench_function(BenchmarkId::new(label, n), |b| {
        b.iter_custom(m::merge_delta_rep::<E, P>(&mut state, &mut rng));
    });
    g.finish();
}

fn element<E: Element>(c: &mut Criterion) {
    for n in set_sizes() {
        contender::<E, Ours<E>>(c, n);
        contender::<E, Theirs<E>>(c, n);
        contender::<E, Plain<E>>(c, n);
        delta::<E, OursDelta>(c, "ours-merge", n);
        delta::<E, OursMergeDelta>(c, "ours-merge_delta", n);
        delta::<E, CrdtsStateMerge>(c, "crdts-state-merge", n);
        delta::<E, CrdtsOps>(c, "crdts-op-apply", n);
        delta::<E, PlainDelta>(c, "ahash-insert", n);
    }
}

fn benches(c: &mut Criterion) {
    element::<u64>(c);
    element::<String>(c);
}

criterion_group!(orset, benches);
criterion_main!(orset);
