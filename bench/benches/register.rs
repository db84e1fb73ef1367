//! Criterion benches of the LWW-Register: ours and `crdts`. The same workloads as the
//! table binary.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use crdt_bench::measurement as m;
use crdt_bench::register::{Marker, RegisterContender};
use crdt_core::LwwRegister;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;

fn contender<R: RegisterContender>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("lww/{}", R::NAME));
    g.sample_size(20);
    g.warm_up_time(Duration::from_millis(300));
    g.measurement_time(Duration::from_secs(1));
    let mut reg = R::fixture(3);
    g.bench_function("set", |b| b.iter_custom(m::set_register_rep(&mut reg)));
    let (left, right) = R::concurrent_pair();
    g.bench_function("merge", |b| {
        b.iter_custom(m::merge_register_rep(&left, &right));
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    contender::<LwwRegister<u64>>(c);
    contender::<crdts::LWWReg<u64, Marker>>(c);
}

criterion_group!(register, benches);
criterion_main!(register);
