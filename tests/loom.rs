//! Model checks of the cross-thread free protocol (`src/remote.rs`) with loom:
//! every interleaving of a few threads, with loom's atomics in place of the
//! real ones. Run: `RUSTFLAGS="--cfg loom" cargo test --release --test loom`
//! (a plain `cargo test` builds this file empty).
//!
//! Covered: pushes racing with each other and with the owner's drain (every
//! block comes back exactly once), onto the lists of two spans, so that a
//! push that finds its span's list empty (and pushes the span onto the
//! arena's stack) races with one that does not; an owner parking its arena (under the pool
//! lock, then draining) racing with a freeing thread that pushes and drains a
//! parked arena under the lock (no push stranded on a parked list, no two
//! drains at once); a new thread adopting the parked arena meanwhile. Not
//! covered: the chunk headers' `CACHED` flag (plain memory to loom), the
//! pool's own data, fork (loom has no processes), more than three threads.
#![cfg(loom)]
#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

use arenapool::remote::{self, AtomicU32, Pending, PendingStack, OWNED, PARKED};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

const KEY: usize = 0x5a5a_5a50;

/// A block: its first word holds the remote list's link (written through a
/// raw pointer, which the compiler does not count as a read).
#[repr(align(16))]
struct Block(#[allow(dead_code)] [usize; 2]);

/// An arena, as far as the protocol goes: the stack of spans with pending
/// frees, two spans' lists, the state, and what drains it (the pool lock is
/// the mutex).
struct Arena {
    stack: PendingStack,
    spans: [Pending; 2],
    state: AtomicU32,
    pool: Mutex<()>,
    /// Set while a thread drains the list: two drains at once are a bug.
    draining: AtomicBool,
    /// How many blocks came back from the list.
    drained: AtomicUsize,
}

impl Arena {
    fn new(state: u32) -> Self {
        Arena {
            stack: PendingStack::new(),
            spans: [Pending::new(), Pending::new()],
            state: AtomicU32::new(state),
            pool: Mutex::new(()),
            draining: AtomicBool::new(false),
            drained: AtomicUsize::new(0),
        }
    }

    /// Takes the whole stack, then each span's list, and counts the blocks
    /// (the owner, or the pool): `Arena::drain_remote`.
    fn drain(&self) {
        assert!(
            !self.draining.swap(true, Ordering::SeqCst),
            "two threads drain one arena's remote lists at once"
        );
        let mut sp = self.stack.take_all();
        while !sp.is_null() {
            // SAFETY: a span of `spans`, just taken off the stack by this drain.
            let (mut p, next) = unsafe { (*sp).take() };
            while !p.is_null() {
                self.drained.fetch_add(1, Ordering::SeqCst);
                // SAFETY: a block pushed by `free_remote`, ours again after the swap.
                p = (unsafe { *(p as *const usize) } ^ KEY) as *mut u8;
            }
            sp = next;
        }
        self.draining.store(false, Ordering::SeqCst);
    }

    /// Nothing is left on any list or on the stack.
    fn all_drained(&self) -> bool {
        self.stack.is_empty() && self.spans.iter().all(Pending::is_empty)
    }

    /// A thread other than the owner frees `b`, a block of span `span`: the
    /// path of `heap::release` and `pool::Global::drain_if_parked`.
    fn free_remote(&self, span: usize, b: *mut Block) {
        // SAFETY: `b` is a block nobody else uses until it is drained, of the
        // span whose list `spans[span]` stands for.
        unsafe { self.stack.push(&self.spans[span], b as *mut u8, KEY) };
        if remote::is_parked(&self.state) {
            let _g = self.pool.lock().unwrap();
            if remote::is_parked(&self.state) {
                self.drain();
            }
        }
    }

    /// The owner exits: `thread::thread_exit` then `PoolInner::park`.
    fn park(&self) {
        let _g = self.pool.lock().unwrap();
        remote::park(&self.state);
        self.drain();
    }

    /// A new thread adopts the arena (`PoolInner::new_arena`); it drains as
    /// the owner afterwards, without the lock.
    fn adopt(&self) -> bool {
        let _g = self.pool.lock().unwrap();
        if self.state.load(Ordering::SeqCst) != PARKED {
            return false;
        }
        remote::adopt(&self.state);
        true
    }
}

fn block() -> *mut Block {
    Box::into_raw(Box::new(Block([0, 0])))
}

fn free_block(b: usize) {
    // SAFETY: made by `block`, drained (or never pushed), freed once.
    drop(unsafe { Box::from_raw(b as *mut Block) });
}

#[test]
fn pushes_race_with_each_other_and_the_owners_drain() {
    loom::model(|| {
        let a = Arc::new(Arena::new(OWNED));
        let blocks: Vec<usize> = (0..3).map(|_| block() as usize).collect();
        // Blocks 0 and 2 share span 0, block 1 is of span 1.
        let pushers: Vec<_> = [vec![(0, blocks[0]), (1, blocks[1])], vec![(0, blocks[2])]]
            .into_iter()
            .map(|mine| {
                let a = a.clone();
                thread::spawn(move || {
                    for (span, b) in mine {
                        a.free_remote(span, b as *mut Block);
                    }
                })
            })
            .collect();
        a.drain();
        for t in pushers {
            t.join().unwrap();
        }
        a.drain();
        assert!(a.all_drained());
        assert_eq!(a.drained.load(Ordering::SeqCst), 3);
        blocks.into_iter().for_each(free_block);
    });
}

#[test]
fn no_free_is_stranded_on_a_parked_arena() {
    loom::model(|| {
        let a = Arc::new(Arena::new(OWNED));
        let blocks: Vec<usize> = (0..2).map(|_| block() as usize).collect();
        // Two freeing threads, one block each, of one span: the second push may
        // find the list not empty while the first has yet to push the span.
        let freers: Vec<_> = blocks
            .iter()
            .map(|&b| {
                let a = a.clone();
                thread::spawn(move || a.free_remote(0, b as *mut Block))
            })
            .collect();
        // The owner exits meanwhile.
        a.park();
        for t in freers {
            t.join().unwrap();
        }
        // Nobody owns the arena now: whatever was pushed must have been drained.
        assert!(a.all_drained(), "a free stranded on a parked arena");
        assert_eq!(a.drained.load(Ordering::SeqCst), 2);
        blocks.into_iter().for_each(free_block);
    });
}

#[test]
fn adoption_races_with_frees_into_the_parked_arena() {
    loom::model(|| {
        let a = Arc::new(Arena::new(OWNED));
        a.park();
        let blocks: Vec<usize> = (0..2).map(|_| block() as usize).collect();
        let freer = {
            let (a, mine) = (a.clone(), blocks.clone());
            thread::spawn(move || {
                for (span, b) in mine.into_iter().enumerate() {
                    a.free_remote(span, b as *mut Block);
                }
            })
        };
        let adopter = {
            let a = a.clone();
            thread::spawn(move || {
                assert!(a.adopt());
                // The new owner drains on its own, racing with the freer.
                a.drain();
            })
        };
        freer.join().unwrap();
        adopter.join().unwrap();
        // Owned again: the owner's next drain takes whatever is left.
        assert_eq!(a.state.load(Ordering::SeqCst), OWNED);
        a.drain();
        assert!(a.all_drained());
        assert_eq!(a.drained.load(Ordering::SeqCst), 2);
        blocks.into_iter().for_each(free_block);
    });
}
