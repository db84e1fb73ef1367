//! What a host lets an untrusted peer introduce ([`Leader::receive_admitted`]).
//!
//! [`Leader::receive_admitted`]: crate::Leader::receive_admitted

use crate::Incarnation;
use crdt_core::{ReplicaId, VersionVector};

/// A host's policy for the updates of one untrusted peer (a client that may only
/// write under its own writer ids). Both checks run before the message changes
/// anything; an `Err(writer)` rejects the whole message with
/// [`SyncError::NotAdmitted`](crate::SyncError::NotAdmitted) naming `writer`.
pub trait Admission<C> {
    /// Every message addressed to this leader, with the incarnation of the sender it
    /// comes from (also probes and digests, which carry no updates): a policy can
    /// learn which writer ids the sender's lives use ([`writer_id`](crate::writer_id)).
    ///
    /// # Errors
    /// The writer to name when the incarnation itself is refused.
    fn incarnation(&mut self, inc: Incarnation) -> Result<(), ReplicaId> {
        let _ = inc;
        Ok(())
    }

    /// The updates of a delta or repair: its `payload` and causal `token`, against this
    /// leader's `state` and `state_token` before the merge.
    ///
    /// # Errors
    /// The first writer whose updates are refused.
    fn admit(
        &mut self,
        inc: Incarnation,
        token: &VersionVector,
        payload: &C,
        state: &C,
        state_token: &VersionVector,
    ) -> Result<(), ReplicaId>;
}

#[cfg(test)]
mod tests {
    use super::Admission;
    use crate::{Incarnation, Leader, SyncError};
    use crdt_core::{DeltaCrdt, OrSet, OrSetOp, ReplicaId, VersionVector};

    /// Admits token growth of one writer only (`.0`), never updates of the server's
    /// writer (`.1`).
    struct Only(ReplicaId, ReplicaId, Vec<Incarnation>);

    impl Admission<OrSet<String>> for Only {
        fn incarnation(&mut self, inc: Incarnation) -> Result<(), ReplicaId> {
            self.2.push(inc);
            Ok(())
        }

        fn admit(
            &mut self,
            _: Incarnation,
            token: &VersionVector,
            payload: &OrSet<String>,
            state: &OrSet<String>,
            state_token: &VersionVector,
        ) -> Result<(), ReplicaId> {
            let server = self.1;
            if payload.progress_of(server) > state.progress_of(server) {
                return Err(server);
            }
            match token
                .iter()
                .find(|(w, c)| *w != self.0 && *c > state_token.get(*w))
            {
                Some((w, _)) => Err(w),
                None => Ok(()),
            }
        }
    }

    fn pair(server: u64, client: u64) -> (Leader<OrSet<String>>, Leader<OrSet<String>>) {
        let (s, c) = (ReplicaId::new(server), ReplicaId::new(client));
        let mut server = Leader::new(s, OrSet::new()).unwrap();
        let mut client = Leader::new(c, OrSet::new()).unwrap();
        server.add_peer(c).unwrap();
        client.add_peer(s).unwrap();
        (server, client)
    }

    #[test]
    fn admitted_updates_merge_and_refused_ones_change_nothing() {
        let (mut server, mut client) = pair(1, 7);
        client.apply(OrSetOp::Insert("own".into())).unwrap();
        let t = client.poll_transmit().unwrap();
        let mut only = Only(client.writer_id(), server.writer_id(), Vec::new());
        let changes = server
            .receive_admitted(ReplicaId::new(7), &t.payload, &mut only)
            .unwrap();
        assert!(changes.contains(&"own".to_string()));
        assert_eq!(only.2, [client.incarnation()]);
        assert!(client.incarnation().is_first_life());

        // A client whose state holds a write under the server's own id, as a forger
        // would make one: refused, and the server does not conclude that its id is
        // shared (which would make it refuse writes).
        let mut forged = OrSet::<String>::new();
        let _ = forged
            .apply(server.writer_id(), OrSetOp::Insert("forged".into()))
            .unwrap();
        let mut relay = Leader::new(ReplicaId::new(9), forged).unwrap();
        relay.add_peer(ReplicaId::new(1)).unwrap();
        server.add_peer(ReplicaId::new(9)).unwrap();
        let before = server.state().clone();
        // The relay learns of its peer late, so its state goes out as a repair after a
        // digest exchange: run a few rounds.
        let mut refused = 0;
        for _ in 0..8 {
            while let Some(t) = relay.poll_transmit() {
                let mut only = Only(relay.writer_id(), server.writer_id(), Vec::new());
                match server.receive_admitted(ReplicaId::new(9), &t.payload, &mut only) {
                    Err(SyncError::NotAdmitted { writer, .. }) => {
                        assert_eq!(writer, server.writer_id());
                        refused += 1;
                    }
                    Err(e) => panic!("{e}"),
                    Ok(changes) => assert!(changes.is_empty()),
                }
            }
            while let Some(t) = server.poll_transmit() {
                if t.to == ReplicaId::new(9) {
                    relay.receive(ReplicaId::new(1), &t.payload).unwrap();
                }
            }
            relay.tick();
            server.tick();
        }
        assert!(refused > 0);
        assert_eq!(server.state(), &before);
        assert!(!server.has_id_conflict());
        assert!(server.can_write().is_ok());
    }
}
