//! Durable state for a restart.

use crate::message::PROTOCOL_VERSION;
use crate::peer::Peer;
use crate::{writer_id, Config, Incarnation, Leader, SyncError};
use crdt_core::codec::{
    read_preamble, read_type_tag, DecodeError, Invalid, Limit, Reader, WireFormat, Writer,
};
use crdt_core::{DeltaCrdt, ReplicaId, VersionVector};

/// The magic bytes of a snapshot.
pub const SNAPSHOT_MAGIC: [u8; 2] = [0xD1, 0x55];

impl<C: DeltaCrdt> Leader<C> {
    /// The leader's durable state: id, incarnation, causal token, peers and the
    /// replicated state (not the delta buffer: after a restore, peers are repaired from
    /// summaries instead). Store it durably; after [`Leader::restore`], call this and
    /// store the result **before writing**, so the new incarnation is never reused.
    pub fn snapshot(&mut self) -> Vec<u8> {
        self.needs_snapshot = false;
        let mut w = Writer::new();
        w.raw(&SNAPSHOT_MAGIC);
        w.u8(PROTOCOL_VERSION);
        w.u8(C::TYPE_TAG);
        w.replica(self.id);
        w.varint(self.incarnation.to_u64());
        let _ = self.token.encode_body(&mut w);
        w.len(self.peers.len());
        for id in self.peers.keys() {
            w.replica(*id);
        }
        let _ = self.state.encode_body(&mut w);
        crate::message::seal(w.into_bytes())
    }

    /// Restarts a leader from a snapshot with the default [`Config`], drawing the new
    /// incarnation's nonce from the operating system.
    ///
    /// The restored leader becomes a new [`Incarnation`] writing under a fresh id
    /// ([`writer_id`]), so it never issues a dot that a replica may hold from before the
    /// crash. To pick it, it first **probes** every peer for the newest incarnation of
    /// it that peer has seen, and takes the next counter above all of them, with a
    /// random nonce: however stale the snapshot and however often the same snapshot is
    /// restored, no incarnation is used twice — not even when a copy that crashed still
    /// has messages in flight that no peer has seen yet (the two pick different nonces;
    /// when those messages arrive, peers tell this copy, which takes a newer incarnation
    /// again: [`DISPLACEMENTS_MAX`](crate::DISPLACEMENTS_MAX)). Until every peer has
    /// answered it takes nothing in and writes are refused with
    /// [`SyncError::Restoring`] (a peer gone for good must be removed with
    /// [`Leader::remove_peer`]); then it asks every peer for a repair (getting back what
    /// it lost) and for its summary (to repair the peer in turn), and writes wait for
    /// [`Leader::snapshot`] to record the new incarnation
    /// ([`SyncError::SnapshotRequired`]).
    ///
    /// Not available on `wasm32-unknown-unknown`: pass entropy from JavaScript
    /// (`crypto.getRandomValues`) to [`Leader::restore_with_nonce`].
    ///
    /// # Errors
    /// [`SyncError::Corrupt`] if the snapshot's checksum does not match,
    /// [`SyncError::Decode`] for bytes that are not a valid snapshot of this type,
    /// [`SyncError::NoEntropy`] if the operating system gave no random bytes.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn restore(bytes: &[u8]) -> Result<Leader<C>, SyncError> {
        Self::restore_with_config(bytes, Config::default())
    }

    /// [`Leader::restore`] with explicit limits (`config.decode` bounds the snapshot,
    /// without `message_bytes_max`).
    ///
    /// # Errors
    /// As [`Leader::restore`].
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn restore_with_config(bytes: &[u8], config: Config) -> Result<Leader<C>, SyncError> {
        let nonce = getrandom::u64().map_err(|_| SyncError::NoEntropy)?;
        Self::restore_with_nonce(bytes, config, nonce)
    }

    /// [`Leader::restore`] with the caller's entropy: `nonce` seeds the nonces of every
    /// incarnation this copy takes. It must be unpredictable and never reused —
    /// 64 random bits from a cryptographic or seeded generator. Deterministic
    /// simulations pass their seeded RNG's output; two restores given the same
    /// `nonce` (and snapshot) may write under the same id.
    ///
    /// # Errors
    /// [`SyncError::Corrupt`] if the snapshot's checksum does not match,
    /// [`SyncError::Decode`] for bytes that are not a valid snapshot of this type.
    pub fn restore_with_nonce(
        bytes: &[u8],
        config: Config,
        nonce: u64,
    ) -> Result<Leader<C>, SyncError> {
        let bytes = crate::message::unseal(bytes).ok_or(SyncError::Corrupt)?;
        let mut r = Reader::new(bytes, &config.decode)?;
        read_preamble(&mut r, SNAPSHOT_MAGIC, PROTOCOL_VERSION)?;
        read_type_tag(&mut r, C::TYPE_TAG)?;
        let id = r.replica()?;
        let old_inc = Incarnation::from_u64(r.varint()?);
        let token = VersionVector::decode_body(&mut r)?;
        let n = r.len(Limit::Replicas, 1)?;
        if n > config.peers_max {
            return Err(SyncError::TooManyPeers {
                max: config.peers_max,
            });
        }
        let mut peers = std::collections::BTreeMap::new();
        let mut prev: Option<ReplicaId> = None;
        for _ in 0..n {
            let p = r.replica()?;
            if prev.is_some_and(|q| q >= p) || p == id {
                return Err(DecodeError::Invalid(Invalid::Unsorted("snapshot peers")).into());
            }
            prev = Some(p);
            peers.insert(p, Peer::new());
        }
        let state = C::decode_body(&mut r)?;
        r.finish()?;
        let mut leader = Leader::with_config(id, C::default(), config);
        // Provisional until the probe: the snapshot's incarnation (not written under).
        leader.incarnation = old_inc;
        leader.writer = writer_id(id, old_inc);
        leader.nonce_seed = Some(nonce);
        leader.state = state;
        leader.token = token;
        leader.peers = peers;
        leader.begin_probe();
        Ok(leader)
    }
}
