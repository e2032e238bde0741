//! When free memory goes back to the OS: the schedule that arenas and the
//! page pool share (what a pass releases is theirs: `Arena::purge`,
//! `PoolInner::purge`).
//!
//! Bytes freed into memory that a pass could release are counted; once
//! [`PURGE_DIRTY_MIN`] are pending, a pass is due `ARENAPOOL_PURGE_DELAY`
//! later, at the owner's next operation, and passes follow one delay apart
//! while enough stays pending. A pass releases what the pass before it saw
//! unchanged, so memory goes back one to two delays after it last changed.

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
}

impl PurgeClock {
    pub const fn new() -> Self {
        PurgeClock { dirty: 0, at: 0 }
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
            self.at = now + crate::config::purge_delay_ms();
        }
        now >= self.at
    }

    /// Records a pass that left `left` bytes unreleased: the next one is due
    /// a delay later if that is enough.
    pub fn passed(&mut self, left: usize) {
        self.dirty = left;
        self.at = if self.pending() {
            crate::os::now_ms() + crate::config::purge_delay_ms()
        } else {
            0
        };
    }
}
