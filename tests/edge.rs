//! Edge cases found by review, each a regression test: a huge block aligned to
//! 4 GiB, a parked arena adopted by a new thread after remote frees were
//! drained into it, an over-aligned block shrunk by realloc, and `ENOMEM` on
//! every null return of `arenapool::raw`.

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

use arenapool::raw;

#[test]
fn huge_block_aligned_to_four_gib_frees_only_itself() {
    let n = 32 << 20;
    for align in [1usize << 32, 1 << 33] {
        // SAFETY: a power-of-two alignment; the block is used and freed once.
        unsafe {
            let p = raw::aligned(align, n);
            assert!(!p.is_null());
            assert_eq!(p as usize % align, 0);
            let usable = raw::usable_size(p);
            assert!(usable >= n && usable < n + 4096, "usable {usable}");
            p.write_bytes(0x5a, n);
            raw::free(p);
        }
    }
    // The process's own mappings survived the frees.
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(maps.contains("libc"), "libc unmapped");
    let v: Vec<u64> = (0..1000).collect();
    assert_eq!(v.iter().sum::<u64>(), 499_500);
}

#[test]
fn adopted_arena_after_remote_frees_keeps_its_cache_bounded() {
    // Thread A allocates and exits: its arena is parked with live blocks.
    let blocks: Vec<usize> = std::thread::spawn(|| {
        // SAFETY: plain allocations, freed below.
        let mut v = vec![unsafe { raw::malloc(500) } as usize];
        for _ in 0..120 {
            // SAFETY: as above.
            v.push(unsafe { raw::malloc(1000) } as usize);
        }
        v
    })
    .join()
    .unwrap();
    // This thread frees them all: remote frees into a parked arena, drained by
    // this thread under the pool lock.
    for p in blocks {
        // SAFETY: each block is live and freed once.
        unsafe { raw::free(p as *mut u8) };
    }
    // A new thread adopts the parked arena; its first allocation is cacheable.
    std::thread::spawn(|| {
        for _ in 0..3 {
            // SAFETY: allocated and freed here.
            unsafe {
                let p = raw::malloc(1000);
                assert!(!p.is_null());
                arenapool::check::thread_arena().unwrap();
                raw::free(p);
            }
        }
        arenapool::check::thread_arena().unwrap();
    })
    .join()
    .unwrap();
    arenapool::check::pool().unwrap();
}

#[test]
fn over_aligned_realloc_shrinks_big_blocks() {
    use std::alloc::{GlobalAlloc, Layout};
    let a = arenapool::ArenaPool;
    for (size, align) in [
        (64usize << 20, 4096usize),
        (1 << 20, 1 << 16),
        (100_000, 64),
    ] {
        let l = Layout::from_size_align(size, align).unwrap();
        // SAFETY: non-zero size; the block is reallocated and freed once.
        unsafe {
            let p = a.alloc(l);
            assert!(!p.is_null());
            p.write_bytes(9, size);
            let q = a.realloc(p, l, 100);
            assert!(!q.is_null());
            assert_eq!(q as usize % align, 0);
            assert!(std::slice::from_raw_parts(q, 100).iter().all(|&b| b == 9));
            let usable = raw::usable_size(q);
            assert!(
                usable < size / 2,
                "{size} B at {align}: still {usable} B after shrinking to 100"
            );
            a.dealloc(q, Layout::from_size_align(100, align).unwrap());
        }
    }
}

/// Every `raw` entry point's null return sets `errno = ENOMEM` itself, whatever
/// errno held before: a system call after the failed one (a futex wait on the
/// pool's lock leaves `EAGAIN`) used to show through `aligned`, and a request
/// refused before any system call left errno as it was (tests/oom.rs caught the
/// first, with 4 threads in secure mode).
#[test]
fn every_null_return_sets_enomem() {
    // Past the largest request (refused before any system call), and one that
    // reaches `mmap` and fails there.
    const SIZES: [usize; 2] = [usize::MAX / 2 + 1, usize::MAX / 4];
    fn set_errno(e: i32) {
        // SAFETY: this thread's errno slot.
        unsafe { *libc::__errno_location() = e }
    }
    fn errno() -> i32 {
        // SAFETY: this thread's errno slot.
        unsafe { *libc::__errno_location() }
    }
    // SAFETY: each request is refused, so nothing is allocated; p is live until freed.
    unsafe {
        let p = raw::malloc(100);
        assert!(!p.is_null());
        let ops: [(&str, &dyn Fn(usize) -> *mut u8); 5] = [
            ("malloc", &|n| raw::malloc(n)),
            ("zalloc", &|n| raw::zalloc(n)),
            ("realloc", &|n| raw::realloc(p, n)),
            ("aligned(64)", &|n| raw::aligned(64, n)),
            ("aligned(1 MiB)", &|n| raw::aligned(1 << 20, n)),
        ];
        for n in SIZES {
            for (what, op) in ops {
                set_errno(libc::EAGAIN);
                let q = op(n);
                assert!(q.is_null(), "{what}: a request of {n} bytes succeeded");
                assert_eq!(
                    errno(),
                    libc::ENOMEM,
                    "{what}({n}): errno after a null return"
                );
            }
        }
        raw::free(p);
    }
}
