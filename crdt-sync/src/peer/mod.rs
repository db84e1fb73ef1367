//! What a leader knows about one peer, as a set of small state machines.
//!
//! A [`Peer`] is made of sub-machines, each an enum (or a struct around one) whose
//! variants carry exactly the data their phase needs and whose state changes only
//! through its methods, all in this module: other files ask and tell, they never set
//! fields. All sequence numbers are the *sender's*: [`Stream`] counts this leader's
//! deltas, [`Inbound`] the peer's. The transitions, machine by machine:
//!
//! **[`Identity`]** — the peer's incarnation (`identity.rs`).
//!
//! | state | event | next state |
//! | --- | --- | --- |
//! | `Unknown` | first message from the peer as `inc` | `Known(inc)` |
//! | `Known(p)` / `Restarted{inc: p, ..}` | a message from a newer incarnation `inc` | `Restarted{inc, previous: p, notices_left: 4}`, everything else reset |
//! | `Restarted{n}` | tick | a displacement notice to `previous`; `Restarted{n - 1}`, or `Known(inc)` after the last |
//! | any | we start a probe | `Known(inc)` (`Unknown` stays) |
//!
//! **[`ProbeOut`]** — our probe of the peer after a restore or displacement
//! (`identity.rs`); only read while we probe.
//!
//! | state | event | next state |
//! | --- | --- | --- |
//! | `Due` | poll while probing | `Sent` (a `Probe` goes out) |
//! | `Sent` | tick | `Due` |
//! | any | answer to the current probe | `Answered(known)` |
//! | any | probe finished, or peer reset | `Due` |
//!
//! **[`Inbound`]** — the peer's stream into us (`inbound.rs`): an [`Accept`] phase,
//! a gap watch, whether an acknowledgement is due and whether a repair was asked
//! this tick.
//!
//! | state | event | next state |
//! | --- | --- | --- |
//! | `Unknown` | interval `1..=end` from the peer's first incarnation | `Accepting{end}` |
//! | `Unknown` | any other interval; restart of the peer | `AwaitingRepair{None}` (digest *repair me*, once per tick) |
//! | `Accepting{r}` | interval `r+1..` or overlapping | `Accepting{end.max(r)}`; gap `None` if it brought news |
//! | `Accepting{r}` | interval starting past `r+1` | same; gap `None → Seen`, and a repair asked if it was `Outlasted` |
//! | `Accepting{r}` / `Unknown` | repair asked (outlasted gap), or we restored | `AwaitingRepair{received}` |
//! | `AwaitingRepair{r}` | interval connecting to `r` | `AwaitingRepair{end}` |
//! | any | repair up to `seq` | `Accepting{max(received, seq)}` |
//! | gap `Seen` | tick | gap `Outlasted` |
//!
//! **[`Stream`]** — our intervals to the peer (`outbound.rs`), `acked ≤ sent ≤ examined`
//! (checked); **[`Backoff`]** paces retransmissions (`Idle(n)` ticks, or `Progress`
//! this tick; wait 1, 2, 4, 8).
//!
//! | state | event | next state |
//! | --- | --- | --- |
//! | any | interval `sent+1..=end` sent | `sent = end`; `examined = end` (or `head` if cut, `cut` set); token in flight unless cut; sent behind one in flight: no further one until all is acknowledged or the next tick (new deltas coalesce) |
//! | any | acknowledgement of `seq > acked` | `acked = seq`, `sent`/`examined` raised to it; after a cut interval `examined = sent`; backoff `Progress`, wait 1 |
//! | any | repair sent, or deltas the peer lacks are gone from the buffer | `sent = examined = head` |
//! | nothing in flight, only deltas the peer never needed unacknowledged | tick | `examined = acked`, flush due |
//! | unacknowledged | tick, backoff due | rewind: `sent = examined = acked`, flush due; wait doubles |
//!
//! **[`Repair`]** — repairs we send the peer (`repair.rs`): a [`RepairOut`] phase, plus
//! whether our whole state is due, and per-tick/per-round limiters.
//!
//! | state | event | next state |
//! | --- | --- | --- |
//! | `Idle` | repair requested (digest *repair me*, peer lags, lacks or needs gone deltas) | `Due` |
//! | `Due` / `Resend{f}` / `Idle` with whole state due | repair (or whole state) sent at `head` | `InFlight{head}` / `InFlight{min(f, head)}` / `InFlight{head}` |
//! | `InFlight{f}` | acknowledgement of `seq ≥ f` | `Idle` |
//! | `InFlight{f}` | tick, retransmission due | `Resend{f}` |
//! | `InFlight` | repair requested | `InFlight` (it answers the request) |
//!
//! [`Known`] (`known.rs`) holds the peer's token and last digest;
//! [`Transfers`](crate::transfer::Transfers) (`transfer.rs`) its fragmented messages.

mod identity;
mod inbound;
mod known;
mod outbound;
mod repair;

pub(crate) use identity::{Identity, ProbeOut, ReplyDue};
pub(crate) use inbound::{Accept, Inbound};
pub(crate) use known::{Known, Mismatch};
pub(crate) use outbound::{Backoff, Stream, BACKOFF_MAX_TICKS};
pub(crate) use repair::{Repair, RepairOut};

use crate::message::{FLAG_REPAIR_ME, FLAG_SEND_DIGEST};
use crate::transfer::Transfers;
use crate::Incarnation;

/// Our greeting of a peer: a request for a repair at our first tick with it, repeated
/// (with periodic digests off) until something of the peer's arrives.
#[derive(Debug, Clone)]
enum Greeting {
    /// At our next tick.
    Due,
    /// Sent, and nothing of the peer's received since: again at this pace.
    Unanswered(Backoff),
    /// Sent, or not needed.
    Done,
}

/// Whether this leader relays deltas to the peer (set by the host, see
/// [`Leader::set_peer_lazy`](crate::Leader::set_peer_lazy)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Push {
    /// Intervals carry every buffered delta the peer did not send us.
    Eager,
    /// No intervals: the peer gets our writes over other links, or through a repair
    /// when its digests show it lacks what we had at its previous digest. Our stream to
    /// it stays at our buffer head, so it never holds back garbage collection.
    Lazy,
}

/// A leader's view of one peer: the sub-machines documented on this module.
#[derive(Debug, Clone)]
pub(crate) struct Peer<S> {
    identity: Identity,
    /// Whether we send the peer intervals (the host's choice; survives resets).
    push: Push,
    /// A digest of the peer we did not ask for arrived since our last digest to it as
    /// a lazy peer (it ticks and sends them on its own).
    digest_heard: bool,
    /// Our last digest to the peer as a lazy peer asked for its digest, not yet come.
    digest_asked: bool,
    /// A mismatch the peer's digest showed waits to be confirmed: the peer's digest is
    /// asked for again after this many more ticks.
    confirm_in: Option<u32>,
    /// The highest protocol version the peer announced (version 3 until it did).
    version_max: u8,
    /// Our probe of the peer.
    probe: ProbeOut,
    /// The answer owed to the peer's probe, or a displacement notice.
    reply: Option<ReplyDue>,
    /// The incarnation the probe reply being encoded is addressed to.
    reply_to: Option<Incarnation>,
    /// A digest is due, with these flags (`Some(0)` for a plain digest).
    digest: Option<u8>,
    /// Our greeting of the peer (see [`Peer::tick`]).
    greeting: Greeting,
    /// The peer's stream into us.
    pub(crate) inbound: Inbound,
    /// Our stream of intervals to the peer.
    pub(crate) stream: Stream,
    /// The pace of retransmissions to the peer.
    pub(crate) backoff: Backoff,
    /// Repairs we send the peer.
    pub(crate) repair: Repair,
    /// What the peer is known to hold.
    pub(crate) known: Known<S>,
    /// Messages in fragments, both ways.
    pub(crate) transfers: Transfers,
}

impl<S> Peer<S> {
    /// A peer not heard from, or named by a checkpoint as last seen in `inc`.
    pub(crate) fn new(inc: Option<Incarnation>) -> Self {
        Self {
            identity: inc.map_or(Identity::Unknown, Identity::Known),
            push: Push::Eager,
            digest_heard: false,
            digest_asked: false,
            confirm_in: None,
            version_max: crate::message::VERSION_UNHEARD,
            probe: ProbeOut::Due,
            reply: None,
            reply_to: None,
            digest: None,
            greeting: Greeting::Due,
            inbound: Inbound::new(),
            stream: Stream::new(),
            backoff: Backoff::new(),
            repair: Repair::new(),
            known: Known::new(),
            transfers: Transfers::new(),
        }
    }

    /// The peer's current incarnation, once known.
    pub(crate) fn inc(&self) -> Option<Incarnation> {
        self.identity.inc()
    }

    /// Whether we send the peer intervals.
    pub(crate) fn push(&self) -> Push {
        self.push
    }

    /// The host chose how we push to the peer. Turning eager again asks for a repair
    /// (the peer acknowledged nothing it lacks while lazy: our stream stood at our
    /// head), after which intervals continue from there.
    pub(crate) fn set_push(&mut self, push: Push) {
        if self.push == Push::Lazy && push == Push::Eager {
            self.repair.request();
        }
        self.push = push;
    }

    /// A digest of the peer arrived: the answer to ours, or one it sent on its own.
    pub(crate) fn heard_digest(&mut self) {
        if !core::mem::take(&mut self.digest_asked) {
            self.digest_heard = true;
        }
    }

    /// The flags of our periodic digest to the peer as a lazy peer: it asks for the
    /// peer's digest in return unless the peer sent one on its own since the last, so
    /// that what the peer lacks is found even if it does not tick (a host that ticks
    /// only busy documents), without doubling the digests of peers that do.
    pub(crate) fn lazy_digest_flags(&mut self) -> u8 {
        if core::mem::take(&mut self.digest_heard) {
            0
        } else {
            self.digest_asked = true;
            FLAG_SEND_DIGEST
        }
    }

    /// The highest protocol version the peer announced.
    pub(crate) fn version_max(&self) -> u8 {
        self.version_max
    }

    /// The peer announced `max` as the highest version it speaks.
    pub(crate) fn speaks(&mut self, max: u8) {
        self.version_max = max;
    }

    /// First contact with the peer as `inc`, or a new incarnation of it (it restarted
    /// from a checkpoint): a restart voids everything tied to the old incarnation (its
    /// token too: a peer restored from a stale checkpoint lost entries it had), and
    /// the old one gets displacement notices.
    pub(crate) fn heard_as(&mut self, inc: Incarnation) {
        let previous = self.inc();
        debug_assert_ne!(previous, Some(inc), "not a new incarnation");
        if previous.is_some() {
            let mut fresh = Self::new(None);
            fresh.version_max = self.version_max;
            fresh.push = self.push;
            fresh.transfers = self.transfers.continued();
            *self = fresh;
        }
        self.identity = Identity::heard(inc, previous);
    }

    /// We start a probe: what we know of the peer (its incarnation, the version it
    /// speaks) stays; everything about our exchange with it is void.
    pub(crate) fn probe_started(&mut self) {
        let mut fresh = Self::new(self.inc());
        fresh.version_max = self.version_max;
        fresh.push = self.push;
        *self = fresh;
    }

    /// Whether a probe is due to the peer (then it counts as sent).
    pub(crate) fn take_probe(&mut self) -> bool {
        self.probe.take_due()
    }

    /// The peer answered our current probe: it has seen `known` of us at the newest.
    pub(crate) fn probe_answered(&mut self, known: Option<Incarnation>) {
        self.probe = ProbeOut::Answered(known);
    }

    /// The peer's answer to our current probe, once received.
    pub(crate) fn probe_answer(&self) -> Option<Option<Incarnation>> {
        self.probe.answer()
    }

    /// Our probe is over: answers are void.
    pub(crate) fn probe_finished(&mut self) {
        self.probe = ProbeOut::Due;
    }

    /// The peer probed us (`probe`) as `to`: the answer is due (replacing one owed).
    pub(crate) fn probed(&mut self, probe: u32, to: Incarnation) {
        self.reply = Some(ReplyDue {
            probe,
            to: Some(to),
        });
    }

    /// A displacement notice is due to the peer's incarnation `to`, unless an answer
    /// is already owed.
    pub(crate) fn owe_notice(&mut self, to: Option<Incarnation>) {
        self.reply.get_or_insert(ReplyDue { probe: 0, to });
    }

    /// Takes the answer owed, if any; the message it goes in is addressed to
    /// [`Peer::reply_to`].
    pub(crate) fn take_reply(&mut self) -> Option<u32> {
        let due = self.reply.take()?;
        self.reply_to = due.to;
        Some(due.probe)
    }

    /// The incarnation the probe reply being encoded is addressed to.
    pub(crate) fn reply_to(&self) -> Option<Incarnation> {
        self.reply_to
    }

    /// A digest with `flags` (or-ed to those of a digest already due) is due.
    pub(crate) fn request_digest(&mut self, flags: u8) {
        self.digest = Some(self.digest.unwrap_or(0) | flags);
    }

    /// Takes the flags of the digest due, if any.
    pub(crate) fn take_digest(&mut self) -> Option<u8> {
        self.digest.take()
    }

    /// A mismatch the peer's digest showed (equal summaries, different states) may be a
    /// remove on its way: ask for the peer's digest again after `ticks` ticks, to see
    /// whether it lasted (the earliest such request stands).
    pub(crate) fn confirm_mismatch_in(&mut self, ticks: u32) {
        self.confirm_in = Some(self.confirm_in.map_or(ticks, |t| t.min(ticks)));
    }

    /// We cannot apply the peer's intervals and need a repair from it: ask, at most
    /// once per tick (a burst of out-of-order intervals makes one request, not many).
    pub(crate) fn ask_repair(&mut self) {
        if self.inbound.need_repair() {
            self.request_digest(FLAG_REPAIR_ME);
        }
    }

    /// Whether new deltas may go out to the peer now: at once if nothing is in flight
    /// to it; behind intervals in flight only if the peer is responsive (no
    /// retransmission waited for it in vain) and no interval was pipelined since the
    /// last tick, so deltas buffered meanwhile coalesce into the next interval.
    pub(crate) fn may_send_interval(&self) -> bool {
        self.stream.settled() || (self.backoff.prompt() && self.stream.may_pipeline())
    }

    /// The acknowledgement due, as `(incarnation of the peer, its last delta merged)`.
    pub(crate) fn ack_due(&self) -> Option<(Incarnation, u64)> {
        Some((self.inc()?, self.inbound.ack_due()?))
    }

    /// The peer acknowledged our deltas up to `seq` (of this incarnation of ours).
    pub(crate) fn acknowledged(&mut self, seq: u64) {
        let (progress, token) = self.stream.acknowledged(seq);
        if progress {
            self.backoff.progressed();
        }
        if let Some(token) = token {
            self.known.learned(&token);
        }
        self.repair.acknowledged(seq);
    }

    /// One tick with our buffer head at `head`: limiters reset, notices and greetings
    /// due, a digest with `digest`'s flags if one is due, and (paced by the backoff)
    /// whatever is unacknowledged is due again. `digests_off`: this leader sends no
    /// periodic digests (`Config::digest_interval_ticks` is 0).
    pub(crate) fn tick(&mut self, head: u64, probing: bool, digest: Option<u8>, digests_off: bool) {
        self.probe.tick();
        self.inbound.tick();
        self.stream.tick();
        self.repair.tick();
        if let Some(previous) = self.identity.tick() {
            self.owe_notice(Some(previous));
        }
        // A peer we have received nothing from by our first tick may hold state we
        // lack and believe we have it (we reuse the id of a leader that lost its
        // state, or another copy at our address takes our messages): ask it for a
        // repair. Dots under our own id in it reveal the reuse. With periodic digests
        // off, the request is repeated at the retransmission pace until something of the
        // peer's arrives (an interval or a repair): if it was lost, a peer that believes
        // we have everything (or keeps writing to our previous life, which we drop), and
        // a leader with nothing to send, would otherwise never exchange another message.
        let greet = match &mut self.greeting {
            Greeting::Due => {
                let nothing = self.inbound.received().is_none();
                // With periodic digests on, our next digest breaks any silence.
                self.greeting = match nothing && digests_off {
                    true => Greeting::Unanswered(Backoff::new()),
                    false => Greeting::Done,
                };
                nothing
            }
            Greeting::Unanswered(_) if self.inbound.received().is_some() => {
                self.greeting = Greeting::Done;
                false
            }
            #[cfg(feature = "sabotage")]
            Greeting::Unanswered(_)
                if crdt_core::sabotage::active(crdt_core::sabotage::Bug::RestartedLeaderSilent) =>
            {
                false
            }
            Greeting::Unanswered(backoff) => backoff.retransmit_due(),
            Greeting::Done => false,
        };
        if greet && !probing {
            self.request_digest(FLAG_REPAIR_ME);
        }
        let stream = &self.stream;
        let repairing = self.repair.in_flight() || self.inbound.awaiting_repair();
        let lazy = self.push == Push::Lazy;
        // A lazy peer is owed no intervals: only a repair in flight is resent.
        let waiting = (stream.acked() < head && !lazy) || repairing;
        // New deltas not examined yet go out with the next poll; only what was sent
        // (or held back) and not acknowledged counts toward the backoff — and an
        // interval in flight is resent even while new writes keep coming.
        let unsent_only = stream.examined() < head
            && stream.settled()
            && self.backoff.prompt()
            && !repairing
            && !lazy;
        // Only deltas the peer never needed (its own) are left unacknowledged and
        // nothing is in flight: an empty interval lets it acknowledge them (and the
        // buffer be collected), whether or not anything progressed this tick.
        let only_skipped = stream.settled()
            && stream.examined() == head
            && stream.acked() < head
            && !repairing
            && !lazy;
        if only_skipped {
            self.stream.flush_skipped();
        }
        // A message going out in fragments is resent by its transfer, not whole.
        if waiting
            && !unsent_only
            && !only_skipped
            && !self.transfers.sending()
            && self.backoff.retransmit_due()
        {
            if !lazy {
                self.stream.rewind();
            }
            if self.inbound.awaiting_repair() {
                self.request_digest(FLAG_REPAIR_ME);
            }
            // A repair in flight is resent (see `RepairOut::Resend`).
            self.repair.retransmit();
        }
        if let Some(flags) = digest {
            self.request_digest(flags);
        }
        match self.confirm_in {
            Some(n) if n > 1 => self.confirm_in = Some(n - 1),
            Some(_) => {
                self.confirm_in = None;
                // Its answer is the digest asked for, not one the peer sent on its own.
                self.digest_asked = self.push == Push::Lazy;
                self.request_digest(FLAG_SEND_DIGEST);
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests;
