//! Which updates a WebSocket client may introduce: only new dots (and causal-token
//! growth) of the writer ids it owns.
//!
//! A client registers one replica id `R`. Its leader writes under
//! `crdt_sync::writer_id(R, inc)` in each incarnation `inc`: `R` itself in the first
//! one, a derived 53-bit id after each restore. The server learns the client's
//! incarnations from the envelopes of the messages it sends on this connection (a
//! restored client's probe carries the incarnation of its checkpoint, under which its
//! not yet delivered writes were made; its later messages the new one), at most
//! [`INCARNATIONS_MAX`] per connection. The writers it owns are `R` and those derived
//! ids, minus the reserved ones (cluster leader ids and the document leader's writer).
//!
//! A delta or repair is checked against the server's state before it is merged: the
//! dots of its causal context that the server's context lacks (`difference`, O(runs
//! of the message's context)) and the entries of its causal token above the server's
//! must all belong to owned writers. A `read` client owns none.

use crdt_core::{Keyspace, ReplicaId, VersionVector};
use crdt_sync::{writer_id, Admission, Incarnation};

/// The most distinct incarnations one connection may present (an honest client
/// presents one, or two across a restore or a displacement).
pub(crate) const INCARNATIONS_MAX: usize = 16;

/// The admission of one client's message.
pub(crate) struct ClientAdmission<'a> {
    pub(crate) replica: ReplicaId,
    /// `false` for a `read` token: no new updates at all.
    pub(crate) may_write: bool,
    /// The incarnations seen on this connection (kept by the caller).
    pub(crate) incarnations: &'a mut Vec<Incarnation>,
    /// Writer ids no client may own.
    pub(crate) reserved: &'a [ReplicaId],
}

impl ClientAdmission<'_> {
    fn owns(&self, w: ReplicaId) -> bool {
        self.may_write
            && !self.reserved.contains(&w)
            && (w == self.replica
                || self
                    .incarnations
                    .iter()
                    .any(|i| writer_id(self.replica, *i) == w))
    }
}

impl Admission<Keyspace> for ClientAdmission<'_> {
    fn incarnation(&mut self, inc: Incarnation) -> Result<(), ReplicaId> {
        if !self.incarnations.contains(&inc) {
            if self.incarnations.len() >= INCARNATIONS_MAX {
                return Err(writer_id(self.replica, inc));
            }
            self.incarnations.push(inc);
        }
        Ok(())
    }

    fn admit(
        &mut self,
        _inc: Incarnation,
        token: &VersionVector,
        payload: &Keyspace,
        state: &Keyspace,
        state_token: &VersionVector,
    ) -> Result<(), ReplicaId> {
        if let Some((w, _)) = token
            .iter()
            .find(|(w, c)| *c > state_token.get(*w) && !self.owns(*w))
        {
            return Err(w);
        }
        let novel = payload.context().difference(state.context());
        let refused = novel.replicas().find(|w| !self.owns(*w));
        refused.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_core::{Crdt, DeltaCrdt, KeyspaceOp, ValueOp};

    fn write(ks: &mut Keyspace, writer: u64, key: &str) -> Keyspace {
        ks.apply(
            ReplicaId::new(writer),
            KeyspaceOp::Write {
                key: key.into(),
                op: ValueOp::OrSetInsert("v".into()),
            },
        )
        .unwrap()
    }

    fn token(entries: &[(u64, u64)]) -> VersionVector {
        let mut t = VersionVector::new();
        for (w, c) in entries {
            t.advance(ReplicaId::new(*w), *c);
        }
        t
    }

    #[test]
    fn only_new_dots_of_owned_writers_are_admitted() {
        let (client, leader) = (77, 1);
        let mut server = Keyspace::new();
        let known = write(&mut server, leader, "a");
        let server_token = token(&[(leader, 1)]);
        let mut incs = vec![Incarnation::FIRST];
        let reserved = [ReplicaId::new(leader)];
        let mut adm = ClientAdmission {
            replica: ReplicaId::new(client),
            may_write: true,
            incarnations: &mut incs,
            reserved: &reserved,
        };
        let inc = Incarnation::FIRST;
        // Its own new dot, plus a dot of the leader the server already has.
        let mut mine = Keyspace::new();
        mine.merge(&known);
        let mut d = write(&mut mine, client, "b");
        d.merge(&known);
        let t = token(&[(leader, 1), (client, 1)]);
        assert_eq!(adm.admit(inc, &t, &d, &server, &server_token), Ok(()));
        // A new dot of the leader: forged.
        let mut forged_src = server.clone();
        let forged = write(&mut forged_src, leader, "c");
        assert_eq!(
            adm.admit(inc, &token(&[]), &forged, &server, &server_token),
            Err(ReplicaId::new(leader))
        );
        // Token growth of another writer, without dots: forged too.
        assert_eq!(
            adm.admit(
                inc,
                &token(&[(5, 3)]),
                &Keyspace::empty_delta(),
                &server,
                &server_token
            ),
            Err(ReplicaId::new(5))
        );
        // A later incarnation's derived writer is owned once presented.
        let later = Incarnation::new(1, 0xabc);
        let derived = writer_id(ReplicaId::new(client), later);
        let mut src = Keyspace::new();
        let d2 = write(&mut src, derived.get(), "d");
        assert_eq!(
            adm.admit(later, &token(&[]), &d2, &server, &server_token),
            Err(derived)
        );
        adm.incarnation(later).unwrap();
        assert_eq!(
            adm.admit(later, &token(&[]), &d2, &server, &server_token),
            Ok(())
        );
        // A read client owns nothing.
        adm.may_write = false;
        assert_eq!(
            adm.admit(inc, &t, &d, &server, &server_token),
            Err(ReplicaId::new(client))
        );
    }

    #[test]
    fn incarnations_per_connection_are_bounded() {
        let mut incs = Vec::new();
        let mut adm = ClientAdmission {
            replica: ReplicaId::new(9),
            may_write: true,
            incarnations: &mut incs,
            reserved: &[],
        };
        for i in 0..INCARNATIONS_MAX as u32 {
            adm.incarnation(Incarnation::new(i, 1)).unwrap();
            adm.incarnation(Incarnation::new(i, 1)).unwrap();
        }
        assert!(adm.incarnation(Incarnation::new(99, 1)).is_err());
    }
}
