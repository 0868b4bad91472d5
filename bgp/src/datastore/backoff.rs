//! Reconnect delays: exponential, bounded, jittered. Pure: the random draw comes in
//! as an argument.
//!
//! Every calico-node of a cluster loses etcd at the same moment when etcd restarts;
//! without jitter they would all come back in lock step. The delay doubles from
//! `min` up to `max`; each wait is drawn uniformly from the upper half of the
//! current step, so it is never shorter than half of it and never longer than `max`.

use std::time::Duration;

/// The reconnect schedule of one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    /// Starts at `min`, doubles up to `max` (`max` below `min` is taken as `min`).
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff { min, max: max.max(min), step: min }
    }

    /// The next wait, given a uniform draw in `[0, 1)`; the step after it is doubled.
    pub fn next_delay(&mut self, draw: f64) -> Duration {
        let draw = if draw.is_finite() { draw.clamp(0.0, 1.0) } else { 0.0 };
        let wait = self.step.mul_f64(0.5 + draw / 2.0);
        self.step = (self.step * 2).min(self.max);
        wait
    }

    /// Back to `min`, after a connection has worked.
    pub fn reset(&mut self) {
        self.step = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_millis(100);
    const MAX: Duration = Duration::from_secs(10);

    #[test]
    fn delays_double_up_to_the_bound() {
        let mut b = Backoff::new(MIN, MAX);
        let top: Vec<Duration> = (0..10).map(|_| b.next_delay(1.0)).collect();
        assert_eq!(top[0], MIN);
        assert_eq!(top[1], MIN * 2);
        assert_eq!(top[2], MIN * 4);
        assert_eq!(*top.last().unwrap(), MAX);
        assert!(top.iter().all(|d| *d <= MAX));
    }

    #[test]
    fn jitter_stays_in_the_upper_half_of_the_step() {
        let mut b = Backoff::new(MIN, MAX);
        assert_eq!(b.next_delay(0.0), MIN / 2);
        let d = b.next_delay(0.5);
        assert!(d >= MIN && d <= MIN * 2, "{d:?}");
    }

    #[test]
    fn a_garbage_draw_is_a_bounded_delay() {
        let mut b = Backoff::new(MIN, MAX);
        assert_eq!(b.next_delay(f64::NAN), MIN / 2);
        assert_eq!(b.next_delay(7.0), MIN * 2);
    }

    #[test]
    fn reset_starts_over() {
        let mut b = Backoff::new(MIN, MAX);
        for _ in 0..5 {
            b.next_delay(1.0);
        }
        b.reset();
        assert_eq!(b.next_delay(1.0), MIN);
    }
}
