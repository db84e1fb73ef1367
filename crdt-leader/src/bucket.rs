//! A token bucket that paces the frames read from one connection (peer or client).

use std::time::Duration;

/// A token bucket of frames: `rate` per second, `rate` of burst.
pub(crate) struct Bucket {
    rate: f64,
    tokens: f64,
    last: tokio::time::Instant,
}

impl Bucket {
    pub(crate) fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            last: tokio::time::Instant::now(),
        }
    }

    /// Takes one frame's token; `Some(wait)` if the caller must pause first.
    pub(crate) fn take(&mut self) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.rate);
        self.last = now;
        self.tokens -= 1.0;
        (self.tokens < 0.0).then(|| Duration::from_secs_f64(-self.tokens / self.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_frame_bucket_allows_its_rate_and_then_paces() {
        let mut b = Bucket::new(10);
        for _ in 0..10 {
            assert_eq!(b.take(), None);
        }
        let wait = b.take().expect("the eleventh frame in a second waits");
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(b.take(), None);
    }
}
