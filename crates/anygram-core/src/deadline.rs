//! Cancellation by deadline: long engine loops check it every so often, so a query that outlives
//! its time budget stops its own work (the server's timeout cancels the engine, not just the
//! reply) and returns [`AnygramError::Cancelled`].

use std::time::{Duration, Instant};

use crate::error::{AnygramError, Result};

/// When engine work must stop; `Deadline::NONE` never expires. `Copy`, so it travels into every
/// per-shard task for free.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    pub const NONE: Deadline = Deadline(None);

    /// Expires `seconds` from now (`None`, infinite or huge: never). Negative or NaN is "now".
    pub fn after_secs(seconds: Option<f64>) -> Deadline {
        match seconds {
            None => Deadline::NONE,
            Some(s) if s.is_nan() || s <= 0.0 => Deadline(Some(Instant::now())),
            Some(s) => Deadline(
                Duration::try_from_secs_f64(s)
                    .ok()
                    .and_then(|d| Instant::now().checked_add(d)),
            ),
        }
    }

    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Seconds left (`None`: never expires; 0 once past): how a deadline travels to another
    /// process or machine, whose clock it need not share.
    pub fn remaining_secs(&self) -> Option<f64> {
        self.0
            .map(|t| t.saturating_duration_since(Instant::now()).as_secs_f64())
    }

    /// `Err(Cancelled)` once the deadline has passed.
    #[inline]
    pub fn check(&self) -> Result<()> {
        match self.0 {
            Some(t) if Instant::now() >= t => Err(AnygramError::Cancelled(
                "the query ran past its deadline and was stopped".into(),
            )),
            _ => Ok(()),
        }
    }

    /// A counter that checks the deadline every `CHECK_EVERY` ticks: loops call `tick()` per
    /// step at the cost of an increment (a clock read is ~20 ns; a step can be less).
    pub fn ticker(self) -> Ticker {
        Ticker {
            deadline: self,
            n: 0,
        }
    }
}

const CHECK_EVERY: u32 = 256;

/// See [`Deadline::ticker`].
pub struct Ticker {
    deadline: Deadline,
    n: u32,
}

impl Ticker {
    #[inline]
    pub fn tick(&mut self) -> Result<()> {
        self.n = self.n.wrapping_add(1);
        if self.n % CHECK_EVERY == 0 && self.deadline.is_set() {
            self.deadline.check()
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn deadlines_expire_and_none_never_does() {
        assert!(Deadline::NONE.check().is_ok());
        assert!(Deadline::after_secs(None).check().is_ok());
        assert!(Deadline::after_secs(Some(3600.0)).check().is_ok());
        assert!(Deadline::after_secs(Some(f64::INFINITY)).check().is_ok());
        assert!(Deadline::after_secs(Some(1e300)).check().is_ok());
        assert!(matches!(
            Deadline::after_secs(Some(0.0)).check(),
            Err(AnygramError::Cancelled(_))
        ));
        assert!(Deadline::after_secs(Some(f64::NAN)).check().is_err());
        let mut t = Deadline::after_secs(Some(-1.0)).ticker();
        let stopped = (0..CHECK_EVERY).map(|_| t.tick()).any(|r| r.is_err());
        assert!(stopped);
    }
}
