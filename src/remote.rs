//! The cross-thread free protocol, in the pieces that other threads touch
//! without the pool lock: an arena's remote-free list and its owner state.
//!
//! - **Remote list.** A thread freeing a block that another arena owns pushes
//!   it onto that arena's list with one compare-and-swap (the block's first
//!   word is the link, stored xor the arena's link key). The owner takes the
//!   whole list with one swap and frees the blocks itself.
//! - **Parking.** A thread that exits parks its arena under the pool lock
//!   (state `PARKED`, then one drain). From then on nobody owns the arena to
//!   drain it, so a freeing thread that finds it parked after its push drains
//!   it itself, under the pool lock, after checking again under the lock (a
//!   new thread may have adopted it, state `OWNED`, meanwhile).
//!
//! Why no push is stranded on a parked list: the pusher's compare-and-swap
//! comes before its load of the state, and the parking thread's store of the
//! state before its swap of the list, all sequentially consistent. If the
//! pusher read `OWNED`, its push precedes the store and so the parking drain;
//! if it read `PARKED`, it drains under the lock itself. `tests/loom.rs` checks
//! this, and that no two threads ever drain one list at once, under every
//! interleaving of small models (`RUSTFLAGS="--cfg loom" cargo test --release
//! --test loom`), with loom's atomics in place of these.

#[cfg(loom)]
pub use loom::sync::atomic::{AtomicPtr, AtomicU32};

#[cfg(not(loom))]
pub use core::sync::atomic::{AtomicPtr, AtomicU32};

use core::ptr::null_mut;
use core::sync::atomic::Ordering;

/// Arena state: owned by a live thread.
pub const OWNED: u32 = 1;
/// Arena state: its thread exited; the pool owns it until a new thread adopts it.
pub const PARKED: u32 = 2;
/// Arena state: it belonged to a thread that did not survive `fork`; its memory is
/// left alone in the child (its structure may be mid-update).
pub const LOST: u32 = 3;

/// An arena's list of blocks freed by other threads (payload pointers linked
/// through their first word, xor a key). The arena keeps it on a cache line
/// with what the pushers read (`arena::Inbox`).
#[repr(transparent)]
pub struct RemoteList(AtomicPtr<u8>);

impl RemoteList {
    /// An empty list. (Arenas are made zeroed, which is the same.)
    pub fn new() -> Self {
        RemoteList(AtomicPtr::new(null_mut()))
    }

    /// Pushes payload `p` (any thread).
    ///
    /// # Safety
    /// `p` points to at least one writable word that nobody else uses until
    /// the owner takes it back with [`RemoteList::take_all`].
    #[inline]
    pub unsafe fn push(&self, p: *mut u8, key: usize) {
        let mut head = self.0.load(Ordering::Relaxed);
        loop {
            *(p as *mut usize) = head as usize ^ key;
            match self
                .0
                .compare_exchange_weak(head, p, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    /// Takes the whole list (its first payload, or null): the owner, or the
    /// pool for a parked arena.
    #[inline]
    pub fn take_all(&self) -> *mut u8 {
        self.0.swap(null_mut(), Ordering::SeqCst)
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.load(Ordering::Relaxed).is_null()
    }
}

impl Default for RemoteList {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether an arena is parked: after a push onto its list, the pusher must
/// then drain it under the pool lock (checking again under the lock).
#[inline]
pub fn is_parked(state: &AtomicU32) -> bool {
    state.load(Ordering::SeqCst) == PARKED
}

/// Parks an arena (under the pool lock, before draining it).
#[inline]
pub fn park(state: &AtomicU32) {
    state.store(PARKED, Ordering::SeqCst);
}

/// A thread takes the arena over (under the pool lock).
#[inline]
pub fn adopt(state: &AtomicU32) {
    state.store(OWNED, Ordering::SeqCst);
}
