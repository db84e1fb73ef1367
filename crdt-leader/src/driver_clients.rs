//! The driver's side of WebSocket clients: each connected client is a peer of its
//! document's leader, added when its connection is accepted and removed when it
//! closes.
//!
//! **Disconnect**: the client is removed from the leader at once
//! (`Leader::remove_peer`): its acknowledgements stop holding back the delta buffer
//! and the document settles (no ticks for a peer that is gone), so a node's memory and
//! tick cost do not grow with clients that came and went. A reconnecting client is
//! added afresh; the protocol treats it as a peer record made anew: the first
//! exchange of digests repairs each side with exactly what it lacks
//! (`delta_since` its summary), so nothing is lost or applied twice.

use super::Driver;
use crate::auth::Access;
use crate::client_admission::ClientAdmission;
use crate::ws_wire::{WsClose, WS_REPLICA_LIMIT};
use crdt_core::ReplicaId;
use crdt_sync::{Incarnation, SyncError};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::{mpsc, oneshot};

/// Why a connection is closed, sent to its task.
pub(crate) type CloseTx = oneshot::Sender<(WsClose, String)>;

/// A request about a WebSocket client.
pub(crate) enum ClientCommand {
    /// A client passed authentication: make it a peer of the document's leader.
    /// Answers the server's replica id for the document, or why not.
    Attach {
        doc: String,
        replica: u64,
        /// Earlier incarnations the hello listed (their writer ids the client owns).
        incarnations: Vec<Incarnation>,
        access: Access,
        conn: u64,
        /// crdt-sync messages for the client.
        tx: mpsc::Sender<Vec<u8>>,
        close: CloseTx,
        reply: oneshot::Sender<Result<u64, WsClose>>,
    },
    /// A binary frame from the client.
    Frame {
        doc: String,
        replica: u64,
        conn: u64,
        payload: Vec<u8>,
    },
    /// The connection closed.
    Detach {
        doc: String,
        replica: u64,
        conn: u64,
    },
}

/// A connected client.
pub(crate) struct Client {
    conn: u64,
    may_write: bool,
    pub(super) tx: mpsc::Sender<Vec<u8>>,
    close: Option<CloseTx>,
    /// The client's incarnations seen on this connection (their writer ids it owns).
    incarnations: Vec<Incarnation>,
}

/// The connected clients, per document.
#[derive(Default)]
pub(crate) struct Clients {
    docs: HashMap<String, BTreeMap<ReplicaId, Client>>,
}

/// The driver's end of one client connection.
struct ClientLink {
    conn: u64,
    /// crdt-sync messages for the client.
    tx: mpsc::Sender<Vec<u8>>,
    close: CloseTx,
}

impl Clients {
    /// The client `to` of `doc`, if connected.
    pub(crate) fn get(&self, doc: &str, to: ReplicaId) -> Option<&Client> {
        self.docs.get(doc)?.get(&to)
    }

    /// Whether some client of `doc` has no room left in its outgoing queue.
    pub(crate) fn any_full(&self, doc: &str) -> bool {
        self.docs
            .get(doc)
            .is_some_and(|c| c.values().any(|c| c.tx.capacity() == 0))
    }

    fn get_mut(&mut self, doc: &str, to: ReplicaId, conn: u64) -> Option<&mut Client> {
        self.docs
            .get_mut(doc)?
            .get_mut(&to)
            .filter(|c| c.conn == conn)
    }

    fn remove(&mut self, doc: &str, replica: ReplicaId, conn: u64) -> Option<Client> {
        let clients = self.docs.get_mut(doc)?;
        if clients.get(&replica)?.conn != conn {
            return None;
        }
        let c = clients.remove(&replica);
        if clients.is_empty() {
            self.docs.remove(doc);
        }
        c
    }
}

impl Driver {
    pub(super) fn client_command(&mut self, cmd: ClientCommand) {
        match cmd {
            ClientCommand::Attach {
                doc,
                replica,
                incarnations,
                access,
                conn,
                tx,
                close,
                reply,
            } => {
                let link = ClientLink { conn, tx, close };
                let r = self.attach(&doc, replica, incarnations, access == Access::Write, link);
                let _ = reply.send(r);
            }
            ClientCommand::Frame {
                doc,
                replica,
                conn,
                payload,
            } => self.client_frame(&doc, ReplicaId::new(replica), conn, &payload),
            ClientCommand::Detach { doc, replica, conn } => {
                self.detach(&doc, ReplicaId::new(replica), conn);
            }
        }
    }

    fn attach(
        &mut self,
        name: &str,
        replica: u64,
        incarnations: Vec<Incarnation>,
        may_write: bool,
        link: ClientLink,
    ) -> Result<u64, WsClose> {
        let ClientLink { conn, tx, close } = link;
        let r = ReplicaId::new(replica);
        if replica == 0 || replica >= WS_REPLICA_LIMIT || r == self.id || self.peers.contains(&r) {
            return Err(WsClose::ReplicaReserved);
        }
        self.doc_or_create(name).map_err(|_| WsClose::Internal)?;
        let per_doc = self.clients.docs.get(name).map_or(0, BTreeMap::len);
        if self.clients.get(name, r).is_some() {
            return Err(WsClose::ReplicaInUse);
        }
        if per_doc >= self.ws_per_doc_max {
            return Err(WsClose::Busy);
        }
        let doc = self.docs.get_mut(name).ok_or(WsClose::Internal)?;
        if doc.leader.writer_id() == r {
            return Err(WsClose::ReplicaReserved);
        }
        doc.leader.add_peer(r).map_err(|_| WsClose::Busy)?;
        self.clients
            .docs
            .entry(name.to_string())
            .or_default()
            .insert(
                r,
                Client {
                    conn,
                    may_write,
                    tx,
                    close: Some(close),
                    incarnations,
                },
            );
        self.mark_active(name);
        self.after_change(name);
        Ok(self.id.get())
    }

    fn detach(&mut self, name: &str, replica: ReplicaId, conn: u64) {
        if self.clients.remove(name, replica, conn).is_none() {
            return;
        }
        if let Some(doc) = self.docs.get_mut(name) {
            doc.leader.remove_peer(replica);
        }
        self.after_change(name);
    }

    /// Closes a client's connection (its task sends the close frame) and detaches it.
    fn close_client(
        &mut self,
        name: &str,
        replica: ReplicaId,
        conn: u64,
        why: WsClose,
        reason: String,
    ) {
        if let Some(close) = self
            .clients
            .get_mut(name, replica, conn)
            .and_then(|c| c.close.take())
        {
            let _ = close.send((why, reason));
        }
        self.detach(name, replica, conn);
    }

    fn client_frame(&mut self, name: &str, replica: ReplicaId, conn: u64, payload: &[u8]) {
        let Some(client) = self.clients.get_mut(name, replica, conn) else {
            return; // closed meanwhile
        };
        let may_write = client.may_write;
        let mut incarnations = std::mem::take(&mut client.incarnations);
        let mut reserved = self.peers.clone();
        reserved.push(self.id);
        if let Some(d) = self.docs.get(name) {
            reserved.push(d.leader.writer_id());
        }
        let result = self.receive_into(name, |leader| {
            let mut admission = ClientAdmission {
                replica,
                may_write,
                incarnations: &mut incarnations,
                reserved: &reserved,
            };
            leader.receive_admitted(replica, payload, &mut admission)
        });
        if let Some(c) = self.clients.get_mut(name, replica, conn) {
            c.incarnations = incarnations;
        }
        let (why, reason) = match result {
            Ok(()) => return,
            Err(SyncError::NotAdmitted { writer, .. }) if may_write => {
                self.metrics.ws_forged_write();
                (
                    WsClose::Forged,
                    format!("forged write: new updates of writer {writer}, which this client does not own"),
                )
            }
            Err(SyncError::NotAdmitted { .. }) => (
                WsClose::ReadOnly,
                "read-only token: this client's writes are refused".to_string(),
            ),
            Err(e) => (WsClose::Malformed, e.to_string()),
        };
        self.metrics.ws_frame_rejected(why.label());
        tracing::info!(doc = %name, replica = replica.get(), reason = %reason, "WebSocket client closed");
        self.close_client(name, replica, conn, why, reason);
    }
}
