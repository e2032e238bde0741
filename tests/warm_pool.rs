//! The page pool leaves its smallest dirty free runs (of runs of one size
//! class, the lowest), up to twice the largest pool block freed, resident,
//! and releases the rest after the purge delay.
//! (A binary of its own: no other test may use the pool meanwhile.)

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

mod common;
use common::{let_purge_passes_run, resident_blocks, MIB, PAGE};

#[test]
fn smallest_freed_pool_runs_stay_warm_the_rest_go_back() {
    // Four 4 MiB blocks freed, each made before a 2 MiB one that stays live
    // (8 MiB live: the pool's other bound, the bytes live blocks hold, is no
    // more than this one).
    let (starts, live) = common::free_between_live(4, 4 * MIB, 2 * MIB, 1);
    // The free run each freed block lies in: a little over 4 MiB (the block,
    // its header page, what is free next to it), or two blocks' where best
    // fit put no live block between them. (Collected with the lock held, so
    // into an array: the test's own allocations may take the lock.)
    let mut runs = [(0usize, 0usize); 4];
    arenapool::pool::lock().each_free_run(|s, len, _| {
        for (i, &b) in starts.iter().enumerate() {
            if s <= b && b < s + len {
                runs[i] = (s, len);
            }
        }
    });
    assert!(runs.iter().all(|&(_, len)| len > 4 * MIB), "{runs:x?}");
    // The run that stays: of the smallest size class, the lowest. (The
    // 300 KiB blocks that let the purge passes run land in the smallest
    // resident run too, often this one; that a bigger run still goes back is
    // the warm bound's doing, and `tests/pool_warm.rs` checks the warm set
    // on the pool alone.)
    let class = |len| arenapool::size::eighth_class(len);
    let kept = runs.iter().map(|&(s, len)| (class(len), s)).min().unwrap();
    let_purge_passes_run();
    let pages = 4 * MIB / PAGE;
    let res = resident_blocks(&starts, 4 * MIB);
    eprintln!(
        "resident pages of the freed blocks, by address: {res:?} of {pages}; their runs {runs:x?}"
    );
    // The warm bound, twice the largest freed: a little over 8 MiB. The kept
    // run's blocks stay warm; a run of a bigger class (4.5 MiB and up)
    // cannot fit beside it and goes back; no more than 8 MiB stays.
    for (i, &(s, len)) in runs.iter().enumerate() {
        if (class(len), s) == kept {
            assert!(res[i] > pages * 9 / 10, "block {i}: {res:?}");
        } else if class(len) > kept.0 {
            assert_eq!(res[i], 0, "block {i}: {res:?}");
        }
    }
    assert!(res.iter().sum::<usize>() <= 2 * pages, "{res:?}");
    drop(live);
}
