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
    /// The peer's state hash and ours, if the two summaries were equal and the hashes
    /// differed, and the tick since which its digests have shown this very mismatch.
    mismatch: Option<(Mismatch, u64)>,
}

/// Equal summaries, different state hashes: the peer's hash and ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mismatch {
    pub(crate) theirs: u64,
    pub(crate) ours: u64,
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

    /// The tick since which the peer's digests have shown mismatch `m` (each digest
    /// since, up to the last one), if the last one showed it.
    pub(crate) fn mismatch_since(&self, m: Mismatch) -> Option<u64> {
        match self.digest.as_ref()?.mismatch {
            Some((seen, since)) if seen == m => Some(since),
            _ => None,
        }
    }

    /// A digest with `summary` arrived at tick `now` while our buffer head was `head`
    /// and our summary `ours`; `mismatch` if the summaries were equal and the states
    /// not.
    pub(crate) fn digest(
        &mut self,
        summary: S,
        head: u64,
        ours: S,
        mismatch: Option<Mismatch>,
        now: u64,
    ) {
        let mismatch = mismatch.map(|m| (m, self.mismatch_since(m).unwrap_or(now)));
        self.digest = Some(Heard {
            summary,
            head,
            ours,
            mismatch,
        });
    }

    #[cfg(feature = "retirement")]
    /// A retirement's commit: `token` drops the retired writers from the peer's token,
    /// and `summary` renames a summary (`false`: it could not, and the last digest is
    /// forgotten; the next one brings it back).
    pub(crate) fn rename(
        &mut self,
        token: impl FnOnce(&mut VersionVector),
        mut summary: impl FnMut(&mut S) -> bool,
    ) {
        token(&mut self.token);
        if let Some(d) = &mut self.digest {
            d.mismatch = None;
            if !(summary(&mut d.summary) && summary(&mut d.ours)) {
                self.digest = None;
            }
        }
    }
}
