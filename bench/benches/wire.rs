//! Criterion bench of the wire experiment's CPU side: one whole run (15 leaders on
//! the mesh, 100 add-only OR-Set updates each, until converged) per protocol. The
//! bytes are deterministic and reported by the `wire` binary, not here. In
//! `cargo test`'s smoke run, 5 updates each.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use crdt_bench::criterion_support::benchmarking;
use crdt_bench::wire::classic::Classic;
use crdt_bench::wire::experiment::{run, LEADERS, MESH_SEED, UPDATE_ROUNDS, WORKLOAD_SEED};
use crdt_bench::wire::leaders::{Leaders, UntilQuiet};
use crdt_bench::wire::op_based::OpBased;
use crdt_bench::wire::state_based::StateBased;
use crdt_bench::wire::topology::Topology;
use crdt_bench::wire::workload::{Kind, Script};
use crdt_bench::wire::Protocol;
use crdt_core::OrSet;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use std::time::Duration;

type Set = OrSet<u64>;

fn one<P: Protocol<Set>>(c: &mut Criterion, label: &str) {
    let rounds = if benchmarking() { UPDATE_ROUNDS } else { 5 };
    let topology = Topology::mesh(LEADERS, MESH_SEED);
    let script = Script::new(Kind::AddOnlySet, LEADERS, rounds, WORKLOAD_SEED);
    let mut g = c.benchmark_group("wire-mesh-gset");
    g.sample_size(10);
    g.sampling_mode(SamplingMode::Flat);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(15));
    g.bench_function(label, |b| {
        b.iter(|| run::<Set, P>(&topology, &script).total_bytes)
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    one::<StateBased<Set>>(c, "state-based");
    one::<Classic<Set>>(c, "classic-delta");
    one::<Leaders<Set, UntilQuiet>>(c, "crdt-sync");
    one::<OpBased<Set>>(c, "op-based");
}

criterion_group!(wire, benches);
criterion_main!(wire);
