//! A bound on log lines for events an outsider can repeat at will (a port scanner's
//! failed handshakes): at most one line per period, which counts the lines left out.
//! The metrics still count every event.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most one log line per `period`.
pub(crate) struct LogGate {
    period: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last: Option<Instant>,
    suppressed: u64,
}

impl LogGate {
    pub(crate) fn new(period: Duration) -> Self {
        Self {
            period,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether an event at `now` may be logged: `Some(n)` with the `n` events left
    /// unlogged since the last line, or `None` (this one is left out and counted).
    pub(crate) fn pass(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.last {
            Some(last) if now.saturating_duration_since(last) < self.period => {
                s.suppressed += 1;
                None
            }
            _ => {
                s.last = Some(now);
                Some(std::mem::take(&mut s.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_counting_the_rest() {
        let gate = LogGate::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(gate.pass(t0), Some(0));
        for i in 1..=5 {
            assert_eq!(gate.pass(t0 + Duration::from_millis(100 * i)), None);
        }
        assert_eq!(gate.pass(t0 + Duration::from_millis(999)), None);
        assert_eq!(gate.pass(t0 + Duration::from_secs(1)), Some(6));
        assert_eq!(gate.pass(t0 + Duration::from_secs(3)), Some(0));
        // A clock read out of order never panics and counts as within the period.
        assert_eq!(gate.pass(t0), None);
    }
}
