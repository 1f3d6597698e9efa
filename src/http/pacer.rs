//! The adaptive per-client rate limit.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces requests evenly, and adapts its rate to the provider's.
///
/// Requests leave at most `rate` per second, one at a time (a burst of
/// one), so no one-second window holds more than `rate` (+1 at its edge).
/// The rate starts at the configured maximum. When the provider answers
/// with its rate-limit signal, the pacer estimates the provider's real
/// rate from the replies it accepted in the last second, slows down to
/// [`BACKOFF_FACTOR`] of it (multiplicative decrease; half the rate when
/// nothing was accepted), pauses for [`PAUSE`] so the provider's window
/// can drain, and re-spaces the requests already waiting. Signals about
/// requests sent within [`HOLD`] of a slowdown are the same overload and
/// are ignored. Every accepted reply then raises the rate a little
/// (additive increase: [`PROBE`] requests/s per second, or 1 % of the rate
/// if more, growing the longer no signal comes, see [`RECOVERY`]), back up
/// to the configured maximum.
///
/// Waits use tokio's timer, which lives in the runtime: a timer thread of
/// its own (as `governor`'s `futures-timer` has) would not exist in a
/// forked child, and every wait there would hang.
pub(super) struct Pacer {
    max: f64,
    st: Mutex<PaceState>,
}

struct PaceState {
    /// Current requests per second.
    rate: f64,
    /// The next free send slot.
    next: Option<Instant>,
    /// Bumped on every slowdown: slots reserved before it are re-spaced.
    generation: u64,
    /// When the rate was last lowered.
    cut: Option<Instant>,
    /// Arrival times of the replies accepted within the last [`WINDOW`].
    accepted: VecDeque<Instant>,
}

/// Providers count requests per second.
pub(super) const WINDOW: Duration = Duration::from_secs(1);
/// Signals about requests sent this soon after a slowdown are ignored.
pub(super) const HOLD: Duration = Duration::from_secs(1);
/// Nothing is sent for this long after a slowdown.
pub(super) const PAUSE: Duration = Duration::from_millis(500);
/// After a rate-limit signal: this share of the rate the provider accepted.
const BACKOFF_FACTOR: f64 = 0.9;
/// Additive increase per second of accepted replies, requests/s (or 1 %
/// of the rate, if more), right after a slowdown...
const PROBE: f64 = 0.05;
/// ... growing with the square of the quiet time in units of this: 2× after
/// 5 s without a signal, 5× after 10 s, 37× after 30 s (so a rate cut by a
/// transient signal comes back within a minute).
const RECOVERY: Duration = Duration::from_secs(5);
/// The pacer never goes below one request per 10 s.
const MIN_RATE: f64 = 0.1;

impl Pacer {
    /// Whether no request has been paced for a whole [`WINDOW`] (a new
    /// pacer in its place could not exceed the rate at the seam).
    pub(super) fn idle(&self) -> bool {
        let st = self.st.lock().unwrap_or_else(|p| p.into_inner());
        st.next.is_none_or(|n| n + WINDOW <= Instant::now())
    }

    pub(super) fn new(rate_limit: u32) -> Self {
        let max = f64::from(rate_limit.max(1));
        Pacer {
            max,
            st: Mutex::new(PaceState {
                rate: max,
                next: None,
                generation: 0,
                cut: None,
                accepted: VecDeque::new(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PaceState> {
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn rate(&self) -> f64 {
        self.state().rate
    }

    /// Reserve the next free slot and sleep until it; a slot reserved
    /// before a slowdown is given up and a new one reserved. Returns the
    /// send time.
    pub(super) async fn wait(&self) -> Instant {
        loop {
            let (slot, generation) = {
                let mut st = self.state();
                let now = Instant::now();
                let slot = st.next.map_or(now, |n| n.max(now));
                st.next = Some(slot + Duration::from_secs_f64(1.0 / st.rate));
                (slot, st.generation)
            };
            // tokio's timer rounds deadlines up to the next millisecond:
            // a slot that is already due is taken without sleeping.
            if slot > Instant::now() {
                tokio::time::sleep_until(slot).await;
            }
            if self.state().generation == generation {
                return slot.max(Instant::now());
            }
        }
    }

    /// The provider accepted a request (any answer but its rate-limit
    /// signal): remember it and raise the rate a little.
    pub(super) fn accepted(&self) {
        let now = Instant::now();
        let mut st = self.state();
        st.accepted.push_back(now);
        while st
            .accepted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            st.accepted.pop_front();
        }
        if st.rate < self.max {
            // additive increase, faster the longer the provider stays quiet
            let quiet = st.cut.map_or(0.0, |c| now.duration_since(c).as_secs_f64());
            let step = PROBE.max(st.rate * 0.01) * (1.0 + (quiet / RECOVERY.as_secs_f64()).powi(2));
            st.rate = (st.rate + step / st.rate).min(self.max);
        }
    }

    /// The provider signalled its rate limit for a request sent at `sent`.
    /// Returns true when this slowed the pacer down.
    pub(super) fn limited(&self, sent: Instant) -> bool {
        let now = Instant::now();
        let mut st = self.state();
        if st.cut.is_some_and(|c| sent < c + HOLD) {
            return false;
        }
        while st
            .accepted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            st.accepted.pop_front();
        }
        let seen = st.accepted.len() as f64 / WINDOW.as_secs_f64();
        let rate = if seen > 0.0 {
            BACKOFF_FACTOR * st.rate.min(seen)
        } else {
            st.rate * 0.5
        };
        st.rate = rate.clamp(MIN_RATE, self.max);
        st.cut = Some(now);
        st.generation += 1;
        st.next = Some(now + PAUSE.max(Duration::from_secs_f64(1.0 / st.rate)));
        true
    }
}
