//! What the peer is known to hold (see the tables in `peer`).

use crdt_core::VersionVector;

/// The peer's last digest as we received it.
#[derive(Debug, Clone)]
struct Heard<S> {
    /// The peer's summary.
    summary: S,
    /// Our buffer head and summary when it arrived: once the peer has acknowledged
    /// that head, its summary must cover that summary.
    head: u64,
    ours: S,
}

/// What the peer is known to hold: its causal token (only ever grows) and its last
/// digest.
#[derive(Debug, Clone)]
pub(crate) struct Known<S> {
    token: VersionVector,
    digest: Option<Heard<S>>,
}

impl<S> Known<S> {
    pub(crate) fn new() -> Self {
        Self {
            token: VersionVector::new(),
            digest: None,
        }
    }

    /// The peer has at least what `token` names.
    pub(crate) fn learned(&mut self, token: &VersionVector) {
        self.token.merge(token);
    }

    /// Everything the peer is known to have seen.
    pub(crate) fn token(&self) -> &VersionVector {
        &self.token
    }

    /// The peer's last summary.
    pub(crate) fn summary(&self) -> Option<&S> {
        self.digest.as_ref().map(|d| &d.summary)
    }

    /// Our buffer head and summary when the peer's last digest arrived.
    pub(crate) fn lag_mark(&self) -> Option<(u64, &S)> {
        self.digest.as_ref().map(|d| (d.head, &d.ours))
    }

    /// A digest with `summary` arrived while our buffer head was `head` and our
    /// summary `ours`.
    pub(crate) fn digest(&mut self, summary: S, head: u64, ours: S) {
        self.digest = Some(Heard {
            summary,
            head,
            ours,
        });
    }
}
