//! A mutex that never allocates: spin briefly, then sleep on a Linux futex.
//!
//! `parking_lot` is not used here on purpose: its first contended park in a thread
//! allocates that thread's parking data and may grow its global hash table through
//! the global allocator, which is us. This lock is three states in one `u32`
//! (unlocked, locked, locked with sleepers) and a `futex` system call.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;

/// Data guarded by a futex lock.
///
/// A lock's cache lines belong to it alone (128 bytes: a line and the one the
/// hardware prefetches with it): every taker writes the lock word and the
/// counters, so a read-mostly value beside them would miss in every other
/// thread's cache each time the lock changes hands (`churn-medium`'s threads
/// spent a third of `malloc_slow` on two such loads).
#[repr(C, align(128))]
pub struct Mutex<T> {
    state: AtomicU32,
    /// Times the lock was taken.
    pub acquisitions: AtomicU64,
    /// Times a taker found it held and had to wait.
    pub contended: AtomicU64,
    /// Nanoseconds takers spent waiting (measured only when contended).
    pub wait_ns: AtomicU64,
    data: UnsafeCell<T>,
}

// SAFETY: access to `data` is serialised by `state` (see `lock`).
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: as above; the value moves with the mutex.
unsafe impl<T: Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    pub const fn new(v: T) -> Self {
        Mutex {
            state: AtomicU32::new(UNLOCKED),
            acquisitions: AtomicU64::new(0),
            contended: AtomicU64::new(0),
            wait_ns: AtomicU64::new(0),
            data: UnsafeCell::new(v),
        }
    }

    #[inline]
    pub fn lock(&self) -> Guard<'_, T> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        self.acquisitions.fetch_add(1, Ordering::Relaxed);
        Guard { m: self }
    }

    #[cold]
    fn lock_contended(&self) {
        self.contended.fetch_add(1, Ordering::Relaxed);
        let t0 = now_ns();
        self.wait_for_lock();
        self.wait_ns
            .fetch_add(now_ns().wrapping_sub(t0), Ordering::Relaxed);
    }

    fn wait_for_lock(&self) {
        for _ in 0..100 {
            core::hint::spin_loop();
            if self.state.load(Ordering::Relaxed) == UNLOCKED
                && self
                    .state
                    .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
        }
        while self.state.swap(CONTENDED, Ordering::Acquire) != UNLOCKED {
            futex_wait(&self.state, CONTENDED);
        }
    }

    /// Releases a lock whose guard was forgotten (used by the fork handlers).
    ///
    /// # Safety
    /// The lock must be held by the caller, with its guard leaked.
    pub unsafe fn force_unlock(&self) {
        if self.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            futex_wake(&self.state);
        }
    }

    /// Makes the lock free again without waking anybody: for a forked child, where
    /// the threads that might have held it no longer exist.
    ///
    /// # Safety
    /// No thread of this process may hold the lock.
    pub unsafe fn reset(&self) {
        self.state.store(UNLOCKED, Ordering::Relaxed);
    }
}

pub struct Guard<'a, T> {
    m: &'a Mutex<T>,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard's existence means the lock is held.
        unsafe { &*self.m.data.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard's existence means the lock is held, exclusively.
        unsafe { &mut *self.m.data.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this guard holds the lock.
        unsafe { self.m.force_unlock() }
    }
}

/// A set-up run once per process, without allocating: registering `fork` or
/// exit handlers, which must be in place before the state they guard is used.
/// Threads that come while it runs wait for it; the thread running it, if it
/// comes back (the set-up called into the C library, which called `malloc`),
/// goes on at once instead of waiting for itself.
pub struct Once {
    state: AtomicU32,
    /// The thread id of the one running the set-up (0 before).
    runner: AtomicU32,
}

const NEW: u32 = 0;
const RUNNING: u32 = 1;
const DONE: u32 = 2;

impl Once {
    pub const fn new() -> Self {
        Once {
            state: AtomicU32::new(NEW),
            runner: AtomicU32::new(0),
        }
    }

    /// Whether the set-up has run to its end.
    #[inline]
    pub fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) == DONE
    }

    /// Runs `f` unless it ran or is running; returns once it has run (or at
    /// once, in the thread running it).
    #[inline]
    pub fn call(&self, f: impl FnOnce()) {
        if !self.is_done() {
            self.call_slow(f);
        }
    }

    #[cold]
    fn call_slow(&self, f: impl FnOnce()) {
        // SAFETY: gettid has no preconditions.
        let me = unsafe { libc::gettid() } as u32;
        if self
            .state
            .compare_exchange(NEW, RUNNING, Ordering::Acquire, Ordering::Acquire)
            .is_ok()
        {
            self.runner.store(me, Ordering::Relaxed);
            f();
            self.state.store(DONE, Ordering::Release);
            return;
        }
        while self.state.load(Ordering::Acquire) != DONE {
            if self.runner.load(Ordering::Relaxed) == me {
                return;
            }
            core::hint::spin_loop();
        }
    }
}

impl Default for Once {
    fn default() -> Self {
        Self::new()
    }
}

/// Monotonic clock in nanoseconds (the vDSO's `clock_gettime`: no system call,
/// no allocation).
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn futex_wait(state: &AtomicU32, expected: u32) {
    // SAFETY: FUTEX_WAIT reads the u32 at a valid, aligned address; a spurious return is handled by the caller's loop.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            state.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            core::ptr::null::<libc::timespec>(),
        );
    }
}

fn futex_wake(state: &AtomicU32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            state.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::Once;
    use core::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn once_runs_once_and_lets_its_runner_back_in() {
        static ONCE: Once = Once::new();
        static RUNS: AtomicU32 = AtomicU32::new(0);
        static INNER: AtomicU32 = AtomicU32::new(0);
        static SEEN_BY_WAITERS: AtomicU32 = AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    ONCE.call(|| {
                        RUNS.fetch_add(1, Ordering::Relaxed);
                        // The set-up calls back in (as `atexit` calls `calloc`):
                        // it must return, not wait for itself.
                        ONCE.call(|| {
                            INNER.fetch_add(1, Ordering::Relaxed);
                        });
                        std::thread::sleep(core::time::Duration::from_millis(50));
                        RUNS.fetch_add(1, Ordering::Relaxed);
                    });
                    // Every caller returns only once the set-up has finished.
                    SEEN_BY_WAITERS.fetch_add(RUNS.load(Ordering::Relaxed), Ordering::Relaxed);
                });
            }
        });
        assert_eq!(RUNS.load(Ordering::Relaxed), 2);
        assert_eq!(INNER.load(Ordering::Relaxed), 0);
        assert_eq!(SEEN_BY_WAITERS.load(Ordering::Relaxed), 8);
    }
}
