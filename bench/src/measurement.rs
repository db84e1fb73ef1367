//! The timed operations, shared by the table binary ([`per_op`]) and the criterion
//! benches (`iter_custom`): each `*_rep` function returns a closure that runs `k`
//! operations and returns how long *the operations* took (thread CPU time, see
//! [`Stopwatch`]). Inputs are prepared,
//! changes undone and outputs dropped outside the timed sections, in chunks, so that
//! any `k` leaves the state at its size.

use crate::counter::CounterContender;
use crate::element::Element;
use crate::heap;
use crate::orset::{DeltaPath, SetContender, DELTA_ELEMENTS};
use crate::register::{RegisterContender, EPOCH_MS};
use crate::rng::SplitMix64;
use crate::timing::{per_op, Plan, Sample, Stopwatch};
use std::collections::BTreeSet;
use std::hint::black_box;
use std::time::Duration;

/// Runs `k` operations in chunks of at most `chunk`, summing the timed parts.
pub fn chunked(k: u64, chunk: u64, mut f: impl FnMut(u64) -> Duration) -> Duration {
    let mut left = k;
    let mut total = Duration::ZERO;
    while left > 0 {
        let c = left.min(chunk.max(1));
        total += f(c);
        left -= c;
    }
    total
}

/// Local inserts of fresh random elements into `set` (removed again afterwards).
pub fn insert_rep<'a, E: Element, S: SetContender<E>>(
    set: &'a mut S,
    rng: &'a mut SplitMix64,
) -> impl FnMut(u64) -> Duration + 'a {
    move |k| {
        chunked(k, 1024, |c| {
            let elems: Vec<E> = (0..c).map(|_| E::fresh(rng)).collect();
            let undo = elems.clone();
            let t = Stopwatch::start();
            for e in elems {
                set.insert(e);
            }
            let d = t.elapsed();
            for e in &undo {
                set.remove(e);
            }
            d
        })
    }
}

/// Local removes of distinct random present elements of `set = nth(0..n)`
/// (re-inserted afterwards).
pub fn remove_rep<'a, E: Element, S: SetContender<E>>(
    set: &'a mut S,
    n: u64,
    rng: &'a mut SplitMix64,
) -> impl FnMut(u64) -> Duration + 'a {
    move |k| {
        chunked(k, 1024.min(n / 4), |c| {
            let mut picked = BTreeSet::new();
            while (picked.len() as u64) < c {
                picked.insert(rng.below(n));
            }
            let elems: Vec<E> = picked.into_iter().map(E::nth).collect();
            let t = Stopwatch::start();
            for e in &elems {
                set.remove(e);
            }
            let d = t.elapsed();
            for e in elems {
                set.insert(e);
            }
            d
        })
    }
}

/// `k` joins of `right` into copies of `left` by `merge`, `chunk` copies at a time: the
/// pairs are copied, and the results (and whatever `merge` hands back) dropped,
/// outside the timed section.
fn merge_copies<T: Clone, O>(
    k: u64,
    chunk: u64,
    left: &T,
    right: &T,
    mut merge: impl FnMut(&mut T, T) -> O,
) -> Duration {
    chunked(k, chunk, |n| {
        let pairs: Vec<(T, T)> = (0..n).map(|_| (left.clone(), right.clone())).collect();
        let mut outs = Vec::with_capacity(pairs.len());
        let t = Stopwatch::start();
        for (mut l, r) in pairs {
            let rest = merge(&mut l, r);
            outs.push((l, rest));
        }
        let d = t.elapsed();
        drop(outs);
        d
    })
}

/// Joins of the full state `right` into copies of `left` (each pair copied untimed).
pub fn merge_state_rep<'a, E: Element, S: SetContender<E>>(
    left: &'a S,
    right: &'a S,
) -> impl FnMut(u64) -> Duration + 'a {
    let chunk = if left.len() >= 100_000 { 1 } else { 16 };
    move |k| merge_copies(k, chunk, left, right, S::merge_state)
}

/// Merges of 10-element deltas written by another replica into `state` (removed
/// again afterwards), the way `P` ships them.
pub fn merge_delta_rep<'a, E: Element, P: DeltaPath<E>>(
    state: &'a mut P::State,
    rng: &'a mut SplitMix64,
) -> impl FnMut(u64) -> Duration + 'a {
    let mut w = P::writer();
    move |k| {
        chunked(k, 256, |c| {
            let elems: Vec<Vec<E>> = (0..c)
                .map(|_| (0..DELTA_ELEMENTS).map(|_| E::fresh(rng)).collect())
                .collect();
            let deltas: Vec<P::Delta> = elems.iter().map(|e| P::write(&mut w, e)).collect();
            let mut rests = Vec::with_capacity(deltas.len());
            let t = Stopwatch::start();
            for d in deltas {
                rests.push(P::merge(state, d));
            }
            let d = t.elapsed();
            drop(rests);
            for e in &elems {
                P::undo(state, e);
            }
            d
        })
    }
}

/// Encodings of `set`.
pub fn encode_rep<'a, E: Element, S: SetContender<E>>(
    set: &'a S,
) -> impl FnMut(u64) -> Duration + 'a {
    move |k| {
        chunked(k, 16, |c| {
            let mut outs = Vec::with_capacity(c as usize);
            let t = Stopwatch::start();
            for _ in 0..c {
                outs.push(set.encode());
            }
            let d = t.elapsed();
            drop(outs);
            d
        })
    }
}

/// Decodings of `bytes` (an encoded `S`).
pub fn decode_rep<E: Element, S: SetContender<E>>(
    bytes: &[u8],
) -> impl FnMut(u64) -> Duration + '_ {
    move |k| {
        chunked(k, 16, |c| {
            let mut outs: Vec<S> = Vec::with_capacity(c as usize);
            let t = Stopwatch::start();
            for _ in 0..c {
                outs.push(S::decode(bytes));
            }
            let d = t.elapsed();
            drop(outs);
            d
        })
    }
}

/// Counter increments on behalf of `replica`.
pub fn increment_rep<C: CounterContender>(
    c: &mut C,
    replica: u64,
) -> impl FnMut(u64) -> Duration + '_ {
    move |k| {
        let t = Stopwatch::start();
        for _ in 0..k {
            c.increment(replica);
        }
        t.elapsed()
    }
}

/// Joins of the full counter `right` into copies of `left`.
pub fn merge_counter_rep<'a, C: CounterContender>(
    left: &'a C,
    right: &'a C,
) -> impl FnMut(u64) -> Duration + 'a {
    move |k| merge_copies(k, 256, left, right, C::merge_state)
}

/// Reads of the counter's value.
pub fn value_rep<C: CounterContender>(c: &C) -> impl FnMut(u64) -> Duration + '_ {
    move |k| {
        let t = Stopwatch::start();
        for _ in 0..k {
            let v = c.value();
            black_box(&v);
        }
        t.elapsed()
    }
}

/// Register writes by replica 1, each one millisecond after the previous.
pub fn set_register_rep<R: RegisterContender>(reg: &mut R) -> impl FnMut(u64) -> Duration + '_ {
    let mut now = EPOCH_MS + 1_000;
    move |k| {
        let t = Stopwatch::start();
        for i in 0..k {
            now += 1;
            reg.set(1, i, now);
        }
        t.elapsed()
    }
}

/// Joins of the register `right` into copies of `left`.
pub fn merge_register_rep<'a, R: RegisterContender>(
    left: &'a R,
    right: &'a R,
) -> impl FnMut(u64) -> Duration + 'a {
    move |k| merge_copies(k, 256, left, right, R::merge_state)
}

/// [`insert_rep`], timed by [`per_op`].
pub fn insert<E: Element, S: SetContender<E>>(
    plan: Plan,
    set: &mut S,
    rng: &mut SplitMix64,
) -> Sample {
    per_op(plan, insert_rep::<E, S>(set, rng))
}

/// [`remove_rep`], timed by [`per_op`].
pub fn remove<E: Element, S: SetContender<E>>(
    plan: Plan,
    set: &mut S,
    n: u64,
    rng: &mut SplitMix64,
) -> Sample {
    per_op(plan, remove_rep::<E, S>(set, n, rng))
}

/// [`merge_state_rep`], timed by [`per_op`].
pub fn merge_state<E: Element, S: SetContender<E>>(plan: Plan, left: &S, right: &S) -> Sample {
    per_op(plan.max_batch(64), merge_state_rep::<E, S>(left, right))
}

/// [`merge_delta_rep`], timed by [`per_op`].
pub fn merge_delta<E: Element, P: DeltaPath<E>>(
    plan: Plan,
    state: &mut P::State,
    rng: &mut SplitMix64,
) -> Sample {
    per_op(
        plan.max_batch(plan.max_batch.min(1024)),
        merge_delta_rep::<E, P>(state, rng),
    )
}

/// [`encode_rep`], timed by [`per_op`].
pub fn encode<E: Element, S: SetContender<E>>(plan: Plan, set: &S) -> Sample {
    per_op(plan.max_batch(64), encode_rep::<E, S>(set))
}

/// [`decode_rep`], timed by [`per_op`].
pub fn decode<E: Element, S: SetContender<E>>(plan: Plan, bytes: &[u8]) -> Sample {
    per_op(plan.max_batch(64), decode_rep::<E, S>(bytes))
}

/// [`increment_rep`], timed by [`per_op`].
pub fn increment<C: CounterContender>(plan: Plan, c: &mut C, replica: u64) -> Sample {
    per_op(plan, increment_rep(c, replica))
}

/// [`merge_counter_rep`], timed by [`per_op`].
pub fn merge_counter<C: CounterContender>(plan: Plan, left: &C, right: &C) -> Sample {
    per_op(plan, merge_counter_rep(left, right))
}

/// [`value_rep`], timed by [`per_op`].
pub fn value<C: CounterContender>(plan: Plan, c: &C) -> Sample {
    per_op(plan, value_rep(c))
}

/// [`set_register_rep`], timed by [`per_op`].
pub fn set_register<R: RegisterContender>(plan: Plan, reg: &mut R) -> Sample {
    per_op(plan, set_register_rep(reg))
}

/// [`merge_register_rep`], timed by [`per_op`].
pub fn merge_register<R: RegisterContender>(plan: Plan, left: &R, right: &R) -> Sample {
    per_op(plan, merge_register_rep(left, right))
}

/// Allocation calls per local insert, the returned delta included (1,000 fresh
/// elements; removed afterwards).
pub fn allocations_per_insert<E: Element, S: SetContender<E>>(
    set: &mut S,
    rng: &mut SplitMix64,
) -> f64 {
    const K: usize = 1000;
    let elems: Vec<E> = (0..K).map(|_| E::fresh(rng)).collect();
    let undo = elems.clone();
    let (calls, _) = heap::allocations(|| {
        for e in elems {
            set.insert(e);
        }
    });
    for e in &undo {
        set.remove(e);
    }
    calls as f64 / K as f64
}
