//! Virtual time and the leaders' (wrong) wall clocks.
//!
//! The simulator has one true clock: a `u64` of virtual milliseconds advanced by the
//! event loop, never the machine's. Each leader reads a wall clock derived from it with
//! an offset (up to ±10 minutes), a drift, steps (mostly backwards, as NTP corrections
//! do) and optionally coarse (whole seconds) or frozen readings. Only LWW writes read
//! it, as `now_ms`.

use super::params::Clocks;
use super::rng::Rng;

/// The wall-clock epoch of virtual time 0 (some day in 2023), so offsets and
/// backward steps never go below zero.
pub const EPOCH_MS: u64 = 1_700_000_000_000;

/// One leader's wall clock.
#[derive(Debug, Clone)]
pub struct Clock {
    offset_ms: i64,
    drift_ppm: i64,
    steps_ms: i64,
    coarse: bool,
    frozen: Option<u64>,
}

impl Clock {
    /// A clock drawn from the seed's clock parameters.
    pub fn draw(rng: &mut Rng, p: &Clocks) -> Clock {
        let signed = |rng: &mut Rng, max: u64| rng.range(0, 2 * max) as i64 - max as i64;
        let offset_ms = signed(rng, p.offset_ms);
        let drift_ppm = signed(rng, p.drift_ppm);
        let frozen = rng
            .chance(p.frozen)
            .then(|| EPOCH_MS.saturating_add_signed(offset_ms));
        Clock {
            offset_ms,
            drift_ppm,
            steps_ms: 0,
            coarse: p.coarse,
            frozen,
        }
    }

    /// A clock no replay reads (a trace's writes carry their clock readings).
    #[must_use]
    pub fn unread() -> Clock {
        Clock {
            offset_ms: 0,
            drift_ppm: 0,
            steps_ms: 0,
            coarse: false,
            frozen: None,
        }
    }

    /// The reading at virtual time `t`.
    #[must_use]
    pub fn read(&self, t: u64) -> u64 {
        let raw = match self.frozen {
            Some(f) => f,
            None => {
                let t = i64::try_from(t).unwrap_or(i64::MAX);
                let drifted = t.saturating_add(t.saturating_mul(self.drift_ppm) / 1_000_000);
                EPOCH_MS
                    .saturating_add_signed(self.offset_ms)
                    .saturating_add_signed(drifted)
                    .saturating_add_signed(self.steps_ms)
            }
        };
        if self.coarse {
            raw - raw % 1000
        } else {
            raw
        }
    }

    /// A step: backwards by up to a minute (three times in four), else forwards.
    pub fn step(&mut self, rng: &mut Rng) {
        let by = rng.range(1, 60_000) as i64;
        self.steps_ms += if rng.chance(750_000) { -by } else { by };
    }
}
