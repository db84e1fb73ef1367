//! Two copies of one leader restored from the same checkpoint behind one address, and a
//! hub that is their only peer: the schedule several regression tests share (silent
//! displaced copies, notices, acknowledgements naming a newer incarnation). Only how
//! the network routes the hub's messages to the two copies differs between them.

use crate::{inc, new_leader_with, SaveExt};
use crdt_core::{GCounter, ReplicaId};
use crdt_sync::{Config, Leader, SyncError};

/// The message kind of a `ProbeReply` (crdt-sync's header byte 4).
pub const PROBE_REPLY: u8 = 6;

/// What a router sees of the hub's next message and the copies.
pub struct Route<'a> {
    /// The message's bytes.
    pub payload: &'a [u8],
    /// The two copies (A restored first, B at round 10).
    pub copies: &'a [Leader<GCounter>; 2],
}

impl Route<'_> {
    /// Whether the message is a probe reply or a displacement notice.
    #[must_use]
    pub fn is_probe_reply(&self) -> bool {
        crate::peek::kind(self.payload) == Some(PROBE_REPLY)
    }

    /// The copy that is probing, if one is.
    #[must_use]
    pub fn probing(&self) -> Option<usize> {
        self.copies
            .iter()
            .position(|c| c.can_write() == Err(SyncError::Restoring))
    }

    /// The copy with the newest incarnation.
    #[must_use]
    pub fn newest(&self) -> usize {
        usize::from(self.copies[1].incarnation() > self.copies[0].incarnation())
    }
}

/// The outcome of [`run`]: the hub's and the copies' counter values, and whether a
/// copy reported the shared id.
#[derive(Debug)]
pub struct Outcome {
    /// The hub's counter.
    pub hub: u64,
    /// Each copy's counter.
    pub copies: [u64; 2],
    /// Whether either copy reported the shared id.
    pub detected: bool,
}

impl Outcome {
    /// `Err` if no copy reported the shared id and the copies do not both hold the
    /// hub's state.
    ///
    /// # Errors
    /// That message.
    pub fn healed(&self) -> Result<(), String> {
        if self.detected || self.copies.iter().all(|v| *v == self.hub) {
            Ok(())
        } else {
            Err(format!(
                "no copy reported the shared id and the copies hold {:?}, the hub {}",
                self.copies, self.hub
            ))
        }
    }
}

/// Runs `rounds` rounds with periodic digests off: copy A (restored first) writes 10 at
/// round 5, copy B starts at round 10 and writes 20 at round 20; the copies' messages
/// all reach the hub, and `route` picks the copy each of the hub's messages reaches
/// (always A before B starts).
///
/// # Panics
/// If a copy never got to write.
pub fn run(rounds: usize, mut route: impl FnMut(&Route<'_>) -> usize) -> Outcome {
    let (one, two) = (ReplicaId::new(1), ReplicaId::new(2));
    let config = Config {
        digest_interval_ticks: 0,
        ..Config::DEFAULT
    };
    let mut hub = new_leader_with(two, GCounter::new(), config.clone());
    hub.add_peer(one).expect("add peer");
    let mut orig = new_leader_with(one, GCounter::new(), config.clone());
    orig.add_peer(two).expect("add peer");
    let snap = orig.save();
    drop(orig);
    let mut copies = [
        Leader::<GCounter>::restore_with_nonce(&snap, config.clone(), 11).expect("restore"),
        Leader::<GCounter>::restore_with_nonce(&snap, config, 12).expect("restore"),
    ];
    let mut started = [true, false];
    let mut written = [false, false];
    for round in 0..rounds {
        if round == 10 {
            started[1] = true; // B comes up once A settled
        }
        for (i, c) in copies.iter_mut().enumerate() {
            if !started[i] {
                continue;
            }
            if c.can_write() == Err(SyncError::CheckpointRequired) {
                let _ = c.save();
            }
            if !written[i] && round >= [5, 20][i] && c.can_write().is_ok() {
                c.apply(inc(10 * (i as u64 + 1))).expect("write");
                written[i] = true;
            }
            while let Some(t) = c.poll_transmit() {
                let _ = hub.receive(one, &t.payload);
            }
        }
        while let Some(t) = hub.poll_transmit() {
            let to = if started[1] {
                route(&Route {
                    payload: &t.payload,
                    copies: &copies,
                })
            } else {
                0
            };
            let _ = copies[to].receive(two, &t.payload);
        }
        for (i, c) in copies.iter_mut().enumerate() {
            if started[i] {
                c.tick();
            }
        }
        hub.tick();
    }
    assert_eq!(written, [true, true], "both copies wrote");
    Outcome {
        hub: hub.state().value(),
        copies: [copies[0].state().value(), copies[1].state().value()],
        detected: copies.iter().any(Leader::has_id_conflict),
    }
}
