//! Issue 15, item 6: `buffer_bytes_max` bounds the delta buffer's **memory**. A leader
//! with one silent peer keeps every delta for it until the limit; the buffer counts
//! each delta's in-memory size ([`DeltaCrdt::heap_bytes`] plus its slot), so the heap
//! a silent peer costs stays within a small multiple of the limit, whatever the
//! deltas' type. It used to count encoded bytes, which are 8 to 20 times smaller than
//! a small delta's memory: with a 4 MiB limit a silent peer held 67 MB (G-Counter) and
//! 106 MB (OR-Set).
//!
//! Measured with the counting allocator (bytes, not time: deterministic): the peak heap
//! of a run with a silent peer minus that of the same run without it is what the
//! silent peer costs. `cargo test -p tests --test buffer_memory -- --nocapture`
//! prints the figures.

use alloc_counter::{measure, so_far, CountingAlloc};
use crdt_core::{DeltaCrdt, GCounter, GCounterOp, OrSet, OrSetOp, ReplicaId};
use crdt_sync::{Config, Leader};
use tests::new_leader_with;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// The buffer limit of these runs.
const LIMIT: usize = 1 << 20;
/// The message kind byte of a repair.
const KIND_REPAIR: u8 = 4;

fn rid(n: u64) -> ReplicaId {
    ReplicaId::new(n)
}

/// What one run measured.
#[derive(Debug, Default)]
struct Run {
    /// The most heap live at once while writing.
    peak: u64,
    /// The heap live after the writes, then after the silent peer was removed and the
    /// buffer collected.
    live_before_removal: u64,
    live_after_removal: u64,
    /// The writer's buffer figures after the writes, and the largest seen.
    overflows: u64,
    buffered_max: u64,
    deltas_buffered_after_removal: u64,
    buffered_after_removal: u64,
    /// Repairs the writer sent to the healthy peer.
    repairs_to_healthy: u64,
    /// Whether the healthy peer (and, brought back, the silent one) ended with the
    /// writer's state.
    healthy_converged: bool,
    silent_converged: bool,
}

/// Delivers everything between the writer (1) and the healthy peer (2) until quiet;
/// what the writer sends the silent peer (3) is lost. Returns the repairs sent to 2.
fn exchange<C: DeltaCrdt>(writer: &mut Leader<C>, healthy: &mut Leader<C>) -> u64 {
    let mut repairs = 0;
    for _ in 0..50 {
        let mut moved = false;
        while let Some(t) = writer.poll_transmit() {
            if t.to == rid(2) {
                repairs += u64::from(tests::peek::kind(&t.payload) == Some(KIND_REPAIR));
                let _ = healthy.receive(rid(1), &t.payload);
                moved = true;
            }
        }
        while let Some(t) = healthy.poll_transmit() {
            let _ = writer.receive(rid(2), &t.payload);
            moved = true;
        }
        if !moved {
            break;
        }
    }
    repairs
}

/// Delivers everything among the three leaders for `rounds` rounds of ticks.
fn settle<C: DeltaCrdt>(leaders: &mut [Leader<C>; 3], rounds: usize) {
    for _ in 0..rounds {
        for l in leaders.iter_mut() {
            l.tick();
        }
        for _ in 0..50 {
            let mut out = Vec::new();
            for (i, l) in leaders.iter_mut().enumerate() {
                while let Some(t) = l.poll_transmit() {
                    out.push((rid(i as u64 + 1), t));
                }
            }
            if out.is_empty() {
                break;
            }
            for (from, t) in out {
                let to = usize::try_from(t.to.get() - 1).unwrap_or(0);
                let _ = leaders[to].receive(from, &t.payload);
            }
        }
    }
}

/// Writer 1 and healthy peer 2 (and, if `silent`, peer 3, which stops answering after
/// the greetings) with the buffer limited to [`LIMIT`]: `writes` writes at 1, each
/// followed by a tick and a full exchange with 2.
fn run<C: DeltaCrdt>(silent: bool, writes: usize, op: impl Fn(usize) -> C::Op) -> Run {
    let config = Config {
        buffer_bytes_max: LIMIT,
        ..Config::DEFAULT
    };
    let mut out = Run::default();
    let ((), stats) = measure(|| {
        let mut leaders = [1, 2, 3].map(|i| new_leader_with(rid(i), C::default(), config.clone()));
        let [writer, healthy, quiet] = &mut leaders;
        writer.add_peer(rid(2)).expect("peer");
        healthy.add_peer(rid(1)).expect("peer");
        if silent {
            writer.add_peer(rid(3)).expect("peer");
            quiet.add_peer(rid(1)).expect("peer");
        }
        settle(&mut leaders, 5);
        let [writer, healthy, _] = &mut leaders;
        for i in 0..writes {
            let _ = writer.apply(op(i)).expect("write");
            writer.tick();
            healthy.tick();
            out.repairs_to_healthy += exchange(writer, healthy);
            out.buffered_max = out.buffered_max.max(writer.metrics().buffered_bytes);
        }
        out.peak = so_far().peak;
        out.overflows = writer.metrics().buffer_overflows;
        out.healthy_converged = writer.state() == healthy.state();
        out.live_before_removal = so_far().live;
        // The silent peer leaves: the buffer is collected up to the healthy peer's
        // acknowledgement, and its memory returned.
        writer.remove_peer(rid(3));
        for _ in 0..3 {
            writer.tick();
            healthy.tick();
            out.repairs_to_healthy += exchange(writer, healthy);
        }
        let m = writer.metrics();
        out.deltas_buffered_after_removal = m.deltas_buffered;
        out.buffered_after_removal = m.buffered_bytes;
        out.live_after_removal = so_far().live;
        // Brought back, it is repaired and converges.
        if silent {
            writer.add_peer(rid(3)).expect("peer");
            settle(&mut leaders, 20);
            out.silent_converged = leaders[0].state() == leaders[2].state();
        }
    });
    assert!(
        stats.allocations > 0,
        "the counting allocator counted nothing"
    );
    out
}

/// Runs the scenario with and without a silent peer and prints the figures.
fn measured<C: DeltaCrdt>(
    what: &'static str,
    writes: usize,
    op: impl Fn(usize) -> C::Op + Copy,
) -> (&'static str, Run, Run) {
    let base = run::<C>(false, writes, op);
    let silent = run::<C>(true, writes, op);
    let extra = silent.peak.saturating_sub(base.peak);
    let limit = LIMIT as u64;
    println!(
        "{what}, {writes} writes, limit {limit} B: peak {} B without a silent peer, {} B with one \
         (+{extra} B = {:.2} x the limit); largest buffer {} B; {} overflows; live {} B before \
         the silent peer was removed, {} B after; the state {} B",
        base.peak,
        silent.peak,
        extra as f64 / limit as f64,
        silent.buffered_max,
        silent.overflows,
        silent.live_before_removal,
        silent.live_after_removal,
        base.live_before_removal / 2,
    );
    (what, base, silent)
}

fn check((what, base, silent): (&str, Run, Run)) {
    let extra = silent.peak.saturating_sub(base.peak);
    let limit = LIMIT as u64;
    assert!(
        base.healthy_converged && silent.healthy_converged,
        "{what}: converged"
    );
    assert!(
        silent.silent_converged,
        "{what}: the silent peer, back, converged"
    );
    assert!(
        silent.overflows > 0,
        "{what}: the silent peer's backlog overflowed"
    );
    assert!(
        silent.buffered_max <= limit,
        "{what}: the buffer counted {} B, over its limit",
        silent.buffered_max
    );
    // The buffer holds at most the limit; its queue's spare slots and a retransmission
    // to the silent peer (the join of what it lacks, at most the state, and its
    // encoding) come on top. The state's own size: the baseline's two leaders hold it
    // twice.
    let state = base.live_before_removal / 2;
    assert!(
        extra <= 2 * limit + state,
        "{what}: a silent peer cost {extra} B of heap, over twice the {limit} B limit \
         plus the state's {state} B"
    );
    // The silent peer never held collection back for the healthy one, which needed no
    // repair: it kept getting intervals while the oldest deltas were dropped.
    assert_eq!(
        silent.repairs_to_healthy, 0,
        "{what}: the healthy peer was repaired"
    );
    // Removed, the silent peer holds nothing back: the buffer is empty and its memory
    // (at least half the limit before) is returned.
    assert_eq!(silent.deltas_buffered_after_removal, 0, "{what}: collected");
    assert_eq!(silent.buffered_after_removal, 0, "{what}: collected");
    assert!(
        silent.live_after_removal + limit / 2 <= silent.live_before_removal,
        "{what}: {} B live after the silent peer was removed, {} B before",
        silent.live_after_removal,
        silent.live_before_removal
    );
}

#[test]
fn a_silent_peer_keeps_buffer_memory_under_the_limit() {
    let counter = measured::<GCounter>("G-Counter", 40_000, |_| GCounterOp::Increment(1));
    let set = measured::<OrSet<String>>("OR-Set", 20_000, |i| {
        OrSetOp::Insert(format!("element-{i:06}"))
    });
    check(counter);
    check(set);
}
