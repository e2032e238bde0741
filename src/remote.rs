//! The cross-thread free protocol, in the pieces that other threads touch
//! without the pool lock: the remote-free lists and an arena's owner state.
//!
//! - **Remote lists, one per span.** A thread freeing a block that another
//!   arena owns pushes it onto the list of the block's span ([`Pending`], in
//!   the span header) with one compare-and-swap (the block's first word is the
//!   link, stored xor the arena's link key). The push that finds that list
//!   empty also pushes the span onto its arena's stack of spans with pending
//!   frees ([`PendingStack`]), with a second one. The owner takes the whole
//!   stack with one swap, then each span's list with another, and frees the
//!   blocks itself, a span at a time: the blocks it walks lie in one span, so
//!   a program that frees millions of another thread's blocks in random order
//!   costs the owner cache misses within a span, not a page miss per block.
//! - **Parking.** A thread that exits parks its arena under the pool lock
//!   (state `PARKED`, then one drain). From then on nobody owns the arena to
//!   drain it, so a freeing thread that finds it parked after its push drains
//!   it itself, under the pool lock, after checking again under the lock (a
//!   new thread may have adopted it, state `OWNED`, meanwhile).
//!
//! Why no push is stranded: a span whose list is not empty is on its arena's
//! stack, or about to be pushed there by the thread whose push found the list
//! empty (a drain takes a span's list only after taking the span off the
//! stack, so a later push finds the list empty again and pushes the span
//! again). Every pusher loads the state after its compare-and-swaps, and the
//! parking thread stores the state before its swap of the stack, all
//! sequentially consistent. If the span's pusher read `OWNED`, its push onto
//! the stack precedes the store and so the parking drain; if it read
//! `PARKED`, it drains under the lock itself, and takes with the span every
//! block pushed onto the span's list before it (a pusher that found the list
//! not empty may read `OWNED` and leave its block there: the span is on the
//! stack, or will be). `tests/loom.rs` checks this, and that no two threads
//! ever drain one arena at once, under every interleaving of small models
//! (`RUSTFLAGS="--cfg loom" cargo test --release --test loom`), with loom's
//! atomics in place of these.

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

/// A lock-free stack of `T`s linked through a field of theirs that
/// [`Stack::push`]'s caller writes: any thread pushes one, the thread that
/// drains takes them all at once.
#[repr(transparent)]
pub struct Stack<T>(AtomicPtr<T>);

impl<T> Stack<T> {
    /// An empty stack. (Arenas and spans are made zeroed, which is the same.)
    pub fn new() -> Self {
        Stack(AtomicPtr::new(null_mut()))
    }

    /// Pushes `node` (any thread), after `link(head)` has stored the node it
    /// goes in front of. True if the stack was empty.
    ///
    /// # Safety
    /// `node` is nobody else's until taken back by [`Stack::take_all`], and
    /// `link` writes only `node`'s link.
    #[inline]
    pub unsafe fn push(&self, node: *mut T, link: impl Fn(*mut T)) -> bool {
        let mut head = self.0.load(Ordering::Relaxed);
        loop {
            link(head);
            match self
                .0
                .compare_exchange_weak(head, node, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => return head.is_null(),
                Err(h) => head = h,
            }
        }
    }

    /// Takes the whole stack (its first node, or null): the owner, or the
    /// pool for a parked arena.
    #[inline]
    pub fn take_all(&self) -> *mut T {
        self.0.swap(null_mut(), Ordering::SeqCst)
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.load(Ordering::Relaxed).is_null()
    }
}

impl<T> Default for Stack<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A span's remote list, with its link on its arena's [`PendingStack`]. On a
/// cache line of its own in the span header: pushers write it, the owner's
/// hot fields are elsewhere.
#[repr(C, align(64))]
pub struct Pending {
    /// Blocks of the span freed by other threads (payload pointers linked
    /// through their first word, xor the arena's link key).
    list: Stack<u8>,
    /// The next span on the stack (valid while this one is on it).
    next: AtomicPtr<Pending>,
}

impl Pending {
    /// An empty list, off any stack. (Spans are mapped zeroed, which is the same,
    /// but a reused span's header is written afresh.)
    pub fn new() -> Self {
        Pending {
            list: Stack::new(),
            next: AtomicPtr::new(null_mut()),
        }
    }

    /// Takes this span's list (its first payload, or null) and its link to the
    /// next span on the stack it was taken from. The link is read first: once
    /// the list is empty again, a pusher may push the span again, link and all.
    ///
    /// # Safety
    /// The caller took this span off its arena's stack (by
    /// [`PendingStack::take_all`]) and drains that arena.
    #[inline]
    pub unsafe fn take(&self) -> (*mut u8, *mut Pending) {
        let next = self.next.load(Ordering::Relaxed);
        (self.list.take_all(), next)
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl Default for Pending {
    fn default() -> Self {
        Self::new()
    }
}

/// An arena's stack of spans with blocks freed by other threads (see the
/// module docs). The arena keeps it on a cache line with what the pushers read
/// (`arena::Inbox`).
#[repr(transparent)]
pub struct PendingStack(Stack<Pending>);

impl PendingStack {
    /// An empty stack. (Arenas are made zeroed, which is the same.)
    pub fn new() -> Self {
        PendingStack(Stack::new())
    }

    /// Pushes payload `p` onto `span`'s list, and `span` onto this stack if
    /// its list was empty (any thread).
    ///
    /// # Safety
    /// `p` points to at least one writable word that nobody else uses until
    /// the owner takes it back; `span` is the `Pending` of `p`'s span, which
    /// this stack's arena owns.
    #[inline]
    pub unsafe fn push(&self, span: &Pending, p: *mut u8, key: usize) {
        let link_block = |head: *mut u8| *(p as *mut usize) = head as usize ^ key;
        if span.list.push(p, link_block) {
            let node = span as *const Pending as *mut Pending;
            self.0
                .push(node, |head| span.next.store(head, Ordering::Relaxed));
        }
    }

    /// Takes the whole stack (its first span, or null): the owner, or the pool
    /// for a parked arena. Each span's list is then taken by [`Pending::take`].
    #[inline]
    pub fn take_all(&self) -> *mut Pending {
        self.0.take_all()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Default for PendingStack {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether an arena is parked: after a push onto one of its lists, the pusher must
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
