#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! Which free run the page pool takes a new run (an arena's span, a pool
//! block) from: the smallest resident one that fits, else the smallest clean
//! one (best fit). A binary of its own, on the system allocator: the pool
//! holds only what this test puts there.

use arenapool::os::PAGE;
use arenapool::pool::lock;

#[test]
fn new_runs_take_the_smallest_resident_hole_that_fits() {
    let mut pool = lock();
    // Two holes, resident: 8 pages at the start of the first region, 3
    // pages higher up; the rest of the region, fresh, above them.
    let (a, zero) = pool.alloc_run(64 * PAGE, PAGE, 0);
    assert!(!a.is_null() && zero);
    let a = a as usize;
    pool.free_run(a as *mut u8, 8 * PAGE, false);
    pool.free_run((a + 16 * PAGE) as *mut u8, 3 * PAGE, false);
    pool.check().unwrap();
    let mut runs = Vec::new();
    pool.each_free_run(|start, len, clean| runs.push((start, len, clean)));
    assert_eq!(
        runs[..2],
        [(a, 8 * PAGE, false), (a + 16 * PAGE, 3 * PAGE, false)]
    );
    assert!(
        runs[2..].iter().all(|&(s, _, clean)| s > a && clean),
        "{runs:x?}"
    );

    // The 3-page hole, not the 8-page one below it (first fit's pick).
    let (p, zero) = pool.alloc_run(3 * PAGE, PAGE, 0);
    assert_eq!((p as usize, zero), (a + 16 * PAGE, false));
    pool.free_run(p, 3 * PAGE, false);
    // Resident memory before fresh: beside a fresh 4-page hole, 4 pages come
    // from the resident 8-page one.
    pool.free_run((a + 24 * PAGE) as *mut u8, 4 * PAGE, true);
    let (q, zero) = pool.alloc_run(4 * PAGE, PAGE, 0);
    assert_eq!((q as usize, zero), (a, false));
    // 12 pages fit no hole: they come from the front of the fresh part.
    let (f, zero) = pool.alloc_run(12 * PAGE, PAGE, 0);
    assert_eq!((f as usize, zero), (a + 64 * PAGE, true));
    pool.check().unwrap();
}
