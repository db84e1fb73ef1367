//! What a run must satisfy, and how a failure is reported.
//!
//! The per-type checks against the sequential oracle live in [`super::oracle`]; this
//! module names every check, holds the cluster-wide ones (convergence, quiescence,
//! shared-id detection) and the [`Violation`] a run stops at.
//!
//! | check | what must hold | when |
//! |---|---|---|
//! | `panic` | no leader (or the simulator) panics | always (`catch_unwind` around a seed) |
//! | `write` | a write does what the API promises at its leader (insert/remove/clear effect, counter entry grows by exactly the amount, an LWW write is the writer's value with the hybrid clock's next timestamp after what it had seen); a leader with a detected id conflict refuses writes; a restored leader writes only once a snapshot recorded its new incarnation; no dot is issued twice | every write |
//! | `state` | every state a leader exposes: an OR-Set reply is never present without its post; a counter entry is exactly the running total after one of its writer's writes (no double count, no hole); an LWW value is the write with the greatest (timestamp, writer) its context has seen; invariants (`check_invariants`), no dot or writer nobody issued | after every receive and write (deep checks every few events) |
//! | `session` | the causal token is exact: a leader whose token counts `n` writes of `w` holds the first `n` writes of `w` (so `covers` gives read-your-writes) | after every receive and write |
//! | `bound` | `metrics().buffered_bytes <= buffer_bytes_max`; every payload `<= message_bytes_max`; no unsendable repair | every event |
//! | `input` | a malformed payload is rejected with an error and leaves the leader unchanged (state, token); a well-formed one is never rejected as malformed; no `Protocol` error between honest leaders | every delivery |
//! | `restart` | a restored snapshot gives a leader that probes (`Restoring`) at the snapshot's incarnation; when a probe ends (after a restore or a displacement) the incarnation is above the one before and above every incarnation of its id that a neighbour knew when the probe began (neighbours that forgot since, or stand behind a shared address, also one shared only after the probe began, excepted; not after a probe that ended by `Config::probe_timeout_ticks` with answers missing, whose incarnation only the answers at hand bound: a neighbour that saw a newer one must displace it, which `liveness` checks), and the writer id is one no other leader object ever held | every delivery, tick, snapshot, restart |
//! | `conflict` | only a leader whose writer id is shared, or whose id a twin was started under, reports a conflict (as an error or after a displacement notice); if two processes both wrote under one writer id, a conflict is detected by the end of liveness, or [`conflict_verdict`] explains why the protocol cannot see it | every receive, end |
//! | `liveness` | once faults heal and writes stop, the cluster quiesces within [`LIVENESS_ROUNDS`] tick rounds: no leader is restoring (probing, or waiting for its snapshot), states converge (identical bytes, or identical unambiguous parts when a writer id was shared), every delta buffer is empty, nothing is in flight | liveness phase |
//! | `final` | the converged state is exactly what the acknowledged writes make it: zero lost writes (unless at risk, see the oracle), zero double counts, zero resurrected removes, LWW = greatest (timestamp, writer) | end |

use crdt_core::{DeltaCrdt, ReplicaId};
use crdt_sync::Leader;

/// The liveness bound: after the heal, the cluster must be quiescent within this many
/// rounds (each: every leader ticks once, then every message is delivered until none is
/// in flight), counted from the heal or from the operator's last retirement of a
/// conflicted leader.
///
/// Why 64: a leader backs off to one retransmission every 8 ticks
/// (`BACKOFF_MAX_TICKS`), a repair needs up to three exchanges (digest asking for the
/// summary, the summary, the repair), each of which may wait for a retransmission, and
/// unsolicited digests (which reveal a shared id) come every `digest_interval_ticks`
/// (at most 16 here). 8 × 3 + 16 = 40, plus margin. The observed maximum over many
/// seeds is printed by the simulator (`max liveness rounds`): 38 in 20,000 seeds
/// (restored copies behind one address displacing each other take longest).
pub const LIVENESS_ROUNDS: u64 = 64;

/// Where and why a run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The check that failed (see the module table).
    pub check: &'static str,
    /// The event number (1-based) at which it failed.
    pub event: u64,
    /// The virtual time, ms.
    pub time: u64,
    /// What happened.
    pub detail: String,
}

impl core::fmt::Display for Violation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "[{}] at event {} (t={}ms): {}",
            self.check, self.event, self.time, self.detail
        )
    }
}

/// A leader that is still running at the end, as seen by the detection verdict.
pub struct Running<'a, C: DeltaCrdt> {
    /// Its process number.
    pub proc: usize,
    /// The leader.
    pub leader: &'a Leader<C>,
}

/// Whether a writer id that two processes both wrote under, and on which no conflict
/// was detected, is *undetectable* by the protocol — then `Ok(reason)`; `Err` if some
/// running copy under that id is behind what the cluster holds of it (it would have
/// received proof and must have detected the conflict).
///
/// The protocol detects a shared id at a leader that receives a causal token or payload
/// holding *more* of its own writer id than it made (`check_own_id`). So a conflict is
/// invisible exactly when every running copy under the id is never behind: each issued
/// at least as many updates (and, for counters, as large a total) under it as any state
/// in the cluster holds. The shared writes are ambiguous (excluded from the exact
/// checks) either way.
///
/// # Errors
/// The copy that should have noticed.
pub fn conflict_verdict<C: DeltaCrdt>(
    writer: ReplicaId,
    running: &[Running<'_, C>],
) -> Result<String, String> {
    let copies: Vec<&Running<'_, C>> = running
        .iter()
        .filter(|r| r.leader.writer_id() == writer)
        .collect();
    if copies.is_empty() {
        return Ok(format!(
            "no running leader writes under {writer} any more (its copies crashed and restarted under fresh ids), so nobody can notice"
        ));
    }
    let max_token = running
        .iter()
        .map(|r| r.leader.causal_token().get(writer))
        .max()
        .unwrap_or(0);
    let max_progress = running
        .iter()
        .map(|r| r.leader.state().progress_of(writer))
        .max()
        .unwrap_or(0);
    for c in &copies {
        let token = c.leader.causal_token().get(writer);
        let progress = c.leader.state().progress_of(writer);
        if token < max_token || progress < max_progress {
            return Err(format!(
                "process {} writes under shared id {writer} and is behind the cluster on it (token {token} < {max_token} or progress {progress} < {max_progress}), yet no conflict was detected",
                c.proc
            ));
        }
    }
    Ok(format!(
        "undetectable: every running copy under {writer} is ahead of or equal to every state on its own id (token {max_token}, progress {max_progress}), so no message ever shows it updates it did not make; the shared writes are excluded as ambiguous"
    ))
}
