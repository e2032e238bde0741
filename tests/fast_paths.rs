//! The shortcuts past `classify`: `realloc` moving a cached-class block
//! through `malloc` and `free`'s fast paths, `malloc` taking a medium block
//! straight from the medium tier, and `free` putting one back there; and the
//! short way of `free` with another thread's block. Each must
//! still do what the long way did: keep the contents, reuse what it freed,
//! leave `errno` alone, and keep the arena's invariants.

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

use arenapool::raw::{free, malloc, realloc, usable_size};

fn errno() -> i32 {
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

fn set_errno(e: i32) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = e };
}

/// Runs `f` on a thread of its own (an arena of its own, or a parked one).
fn on_thread(f: impl FnOnce() + Send + 'static) {
    std::thread::spawn(f).join().unwrap();
    arenapool::check::pool().unwrap();
}

/// Three live blocks of `n` bytes (a span must hold three), each right after
/// the one before. (Blocks allocated in a row need not be neighbours: a
/// thread may adopt an exited thread's arena, with chunks anywhere in its
/// cache and holes in its store.)
///
/// The other blocks made on the way stay live (freed, they would serve the
/// caller's next requests of their class), returned for the caller to free.
///
/// # Safety
/// The caller frees all of them.
unsafe fn three_neighbours(n: usize) -> ([*mut u8; 3], Vec<*mut u8>) {
    let blocks: Vec<*mut u8> = (0..64).map(|_| malloc(n)).collect();
    // The next chunk's payload: past this one's payload and the next chunk's
    // 8-byte header.
    let next = |p: *mut u8| p.add(usable_size(p) + 8);
    let live = |p: *mut u8| blocks.contains(&p);
    let run = blocks
        .iter()
        .find_map(|&a| (live(next(a)) && live(next(next(a)))).then(|| [a, next(a), next(next(a))]))
        .unwrap_or_else(|| panic!("no three neighbours among 64 blocks of {n} bytes"));
    let rest = blocks
        .iter()
        .copied()
        .filter(|q| !run.contains(q))
        .collect();
    (run, rest)
}

#[test]
fn small_realloc_keeps_contents_and_frees_into_the_cache() {
    on_thread(|| {
        // SAFETY: every block is live where used and freed once.
        unsafe {
            for (from, to) in [(24usize, 200usize), (100, 1000), (500, 3000), (1000, 1016)] {
                // A neighbour in use after `p`, so that it cannot grow in place.
                let ([before, p, guard], rest) = three_neighbours(from);
                for i in 0..from {
                    *p.add(i) = i as u8 ^ 0x5a;
                }
                // Shrinking (or growing within its chunk) keeps the block.
                assert_eq!(realloc(p, from / 2), p);
                assert_eq!(realloc(p, usable_size(p)), p);
                set_errno(1234);
                let q = realloc(p, to);
                assert_eq!(errno(), 1234, "{from} -> {to}");
                assert!(!q.is_null() && q != p, "{from} -> {to}");
                assert!(usable_size(q) >= to);
                for i in 0..from {
                    assert_eq!(*q.add(i), i as u8 ^ 0x5a, "{from} -> {to}: byte {i}");
                }
                // The old block went to the top of its cache class.
                let r = malloc(from);
                assert_eq!(r, p, "{from} -> {to}: old block not reused");
                arenapool::check::thread_arena().unwrap();
                free(r);
                free(q);
                free(guard);
                free(before);
                rest.into_iter().for_each(|q| free(q));
            }
            arenapool::check::thread_arena().unwrap();
        }
    });
}

#[test]
fn medium_frees_go_to_the_tier_and_come_back() {
    on_thread(|| {
        // SAFETY: every block is live where used and freed once.
        unsafe {
            for n in [1100usize, 2048, 5000, 40_000, 80_000] {
                // `b` between two blocks in use: no free neighbour to merge with.
                let ([a, b, c], rest) = three_neighbours(n);
                b.write_bytes(0xa5, n);
                set_errno(4321);
                free(b);
                assert_eq!(errno(), 4321, "{n}");
                arenapool::check::thread_arena().unwrap();
                // Any request of the same class gets it back, as it was.
                let d = malloc(n - 8);
                assert_eq!(d, b, "{n}: medium block not reused");
                assert!(usable_size(d) >= n);
                arenapool::check::thread_arena().unwrap();
                for p in [a, c, d].into_iter().chain(rest) {
                    free(p);
                }
            }
            arenapool::check::thread_arena().unwrap();
        }
    });
}

#[test]
fn a_thread_without_an_arena_reallocs_through_the_checked_path() {
    // Blocks made on one thread, grown and freed on another that has never
    // allocated: the other thread's empty arena vouches for nothing.
    let blocks: Vec<usize> = std::thread::spawn(|| {
        (0..64)
            .map(|i| {
                // SAFETY: a plain allocation, handed over to the other thread.
                let p = unsafe { malloc(16 + i * 8) };
                // SAFETY: `p` holds 16 + i * 8 bytes.
                unsafe { p.write_bytes(i as u8, 16 + i * 8) };
                p as usize
            })
            .collect()
    })
    .join()
    .unwrap();
    std::thread::spawn(move || {
        for (i, p) in blocks.into_iter().enumerate() {
            // SAFETY: each block is live, grown once and freed once.
            unsafe {
                let q = realloc(p as *mut u8, 4000);
                assert!(!q.is_null());
                for k in 0..16 + i * 8 {
                    assert_eq!(*q.add(k), i as u8);
                }
                free(q);
            }
        }
    })
    .join()
    .unwrap();
    arenapool::check::pool().unwrap();
}

#[test]
fn frees_of_another_threads_blocks_keep_errno() {
    // `free` of another arena's chunk skips the errno save (it pushes onto a
    // remote list, no system call) unless the owner is parked, when it drains
    // the owner under the pool lock, which keeps errno itself.
    let make = || -> Vec<usize> {
        (0..300)
            // SAFETY: plain allocations, handed over to the freeing thread.
            .map(|i| unsafe { malloc(16 + (i % 50) * 24) } as usize)
            .collect()
    };
    let free_all = |blocks: Vec<usize>| {
        for (i, p) in blocks.into_iter().enumerate() {
            set_errno(7000 + i as i32);
            // SAFETY: each block is live and freed once.
            unsafe { free(p as *mut u8) };
            assert_eq!(errno(), 7000 + i as i32, "free {i}");
        }
    };
    // A live owner: it takes its blocks back on its next allocations.
    let (to_owner, owner_rx) = std::sync::mpsc::channel::<()>();
    let (blocks_tx, blocks_rx) = std::sync::mpsc::channel();
    let owner = std::thread::spawn(move || {
        blocks_tx.send(make()).unwrap();
        owner_rx.recv().unwrap();
        let again = make();
        arenapool::check::thread_arena().unwrap();
        for p in again {
            // SAFETY: each block is live and freed once.
            unsafe { free(p as *mut u8) };
        }
    });
    let blocks = blocks_rx.recv().unwrap();
    std::thread::spawn(move || free_all(blocks)).join().unwrap();
    to_owner.send(()).unwrap();
    owner.join().unwrap();
    // A parked owner: each free drains it under the pool lock.
    let blocks = std::thread::spawn(make).join().unwrap();
    std::thread::spawn(move || free_all(blocks)).join().unwrap();
    arenapool::check::pool().unwrap();
}
