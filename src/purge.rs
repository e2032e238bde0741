//! When free memory goes back to the OS: the schedule that arenas and the
//! page pool share (what a pass releases is theirs: `Arena::purge`,
//! `PoolInner::purge`).
//!
//! Bytes freed into memory that a pass could release are counted; once
//! [`PURGE_DIRTY_MIN`] are pending, a pass is due `ARENAPOOL_PURGE_DELAY`
//! later, at the owner's next operation, and passes follow one delay apart
//! while enough stays pending. A pass releases what the pass before it saw
//! unchanged, so memory goes back one to two delays after it last changed.
//! An arena's delay doubles while what its passes release keeps coming back
//! into use, and halves back when it stops (see [`PurgeClock::passed`]).

/// Bytes pending after which passes are scheduled.
pub const PURGE_DIRTY_MIN: usize = 1 << 20;

/// A purge schedule (all-zero: nothing pending, nothing scheduled).
#[derive(Default)]
pub struct PurgeClock {
    /// Bytes freed since the last pass, or left unreleased by it: an upper
    /// bound on what the next pass could release.
    pub dirty: usize,
    /// When the next pass is due (`os::now_ms`), 0 when none is scheduled.
    at: u64,
    /// Bytes of released pages taken back into use since the last pass (the
    /// owner counts them; the pool does not).
    pub reused: usize,
    /// Bytes the recent passes released, each pass's share a quarter smaller
    /// at each pass after it (see `passed`).
    released_sum: usize,
    /// Bytes of released pages taken back into use over the recent passes,
    /// weighed as `released_sum`.
    reused_sum: usize,
    /// The delay is `ARENAPOOL_PURGE_DELAY` times `2^scale` (see `passed`).
    scale: u8,
    /// A parked arena's cache is to be emptied at the next pass (see
    /// `Arena::retire`): a pass is scheduled even with nothing pending.
    flush: bool,
    /// A pass fell due where it could not run and was put off (see
    /// [`PurgeClock::put_off`]); cleared by the next pass.
    put_off: bool,
}

/// The delay grows at most this many doublings (10 ms -> 80 ms by default).
pub const MAX_SCALE: u8 = 3;

impl PurgeClock {
    pub const fn new() -> Self {
        PurgeClock {
            dirty: 0,
            at: 0,
            reused: 0,
            released_sum: 0,
            reused_sum: 0,
            scale: 0,
            flush: false,
            put_off: false,
        }
    }

    /// Whether enough is pending for a pass (and purging is on).
    #[inline]
    pub fn pending(&self) -> bool {
        self.dirty >= PURGE_DIRTY_MIN && crate::config::purge()
    }

    /// Whether a pass is due now; schedules one when enough becomes pending.
    /// One compare when nothing is.
    #[inline]
    pub fn due(&mut self) -> bool {
        self.pending() && self.due_now()
    }

    #[cold]
    fn due_now(&mut self) -> bool {
        let now = crate::os::now_ms();
        if self.at == 0 {
            self.at = now + self.delay_ms();
        }
        now >= self.at
    }

    /// The current delay between passes, in milliseconds.
    pub fn delay_ms(&self) -> u64 {
        crate::config::purge_delay_ms() << self.scale
    }

    /// When the next pass is due, if one is pending (scheduling it a delay
    /// from now if it was not yet).
    pub fn scheduled(&mut self) -> Option<u64> {
        if !self.pending() && !self.flush {
            return None;
        }
        if self.at == 0 {
            self.at = crate::os::now_ms() + self.delay_ms();
        }
        Some(self.at)
    }

    /// A pass fell due where it cannot run (an arena's, while the pool lock
    /// is held: a parked arena draining frees). The first time, it is put off
    /// a delay, as a pass run then would have put off the next; due again
    /// before a pass has run, it stays due, for whoever can run it. (Left due
    /// at once, the parked arena's pass, which releases all its free pages,
    /// ran right after the drain, and a thread adopting the arena soon after
    /// faulted them in again.)
    pub fn put_off(&mut self) {
        if !self.put_off {
            self.put_off = true;
            self.at = crate::os::now_ms() + self.delay_ms();
        }
    }

    /// Schedules the next pass a delay from now, if enough is pending (an
    /// arena parked at its thread's exit: a new thread may adopt it before).
    pub fn restart(&mut self) {
        if self.pending() || self.flush {
            self.at = crate::os::now_ms() + self.delay_ms();
        }
    }

    /// Asks (`true`) for the cache to be emptied at the next pass, or cancels
    /// that (`false`: a new owner took the arena).
    pub fn set_flush(&mut self, on: bool) {
        self.flush = on;
    }

    /// Whether the cache is to be emptied now; clears the request.
    pub fn take_flush(&mut self) -> bool {
        core::mem::replace(&mut self.flush, false)
    }

    /// Records a pass that released `released` bytes and left `left` bytes
    /// unreleased: the next one is due a delay later if that is enough.
    ///
    /// The delay adapts to the owner's reuse: when released pages taken back
    /// into use (`reused`) add up to half or more of what the passes released,
    /// that memory was still wanted, released only to fault it in again, and
    /// the delay doubles (up to `MAX_SCALE` doublings); when they add up to an
    /// eighth or less, it halves back toward the configured delay. Both sums
    /// run over the recent passes, each pass's share a quarter smaller at each
    /// pass after it. (Compared with what the one pass before released, reuse
    /// that came after a pass that released nothing was lost: in `footprint`,
    /// whose rounds take back memory released one to three passes before,
    /// the delay stayed at its base in half the passes, more than half of the
    /// 693 MiB released came back, and the rounds faulted it in again.)
    pub fn passed(&mut self, left: usize, released: usize) {
        self.reused_sum = decay(self.reused_sum) + self.reused;
        if self.released_sum >= PURGE_DIRTY_MIN {
            if self.reused_sum.saturating_mul(2) >= self.released_sum {
                self.scale = (self.scale + 1).min(MAX_SCALE);
            } else if self.reused_sum.saturating_mul(8) <= self.released_sum {
                self.scale = self.scale.saturating_sub(1);
            }
        }
        self.released_sum = decay(self.released_sum) + released;
        self.reused = 0;
        self.put_off = false;
        self.dirty = left;
        self.at = if self.pending() {
            crate::os::now_ms() + self.delay_ms()
        } else {
            0
        };
    }
}

/// A sum over the recent passes, one pass later: a quarter off.
#[inline]
fn decay(sum: usize) -> usize {
    sum - sum / 4
}
