//! The page pool leaves its lowest dirty free runs, up to twice the largest
//! pool block freed, resident, and releases the rest after the purge delay.
//! (A binary of its own: no other test may use the pool meanwhile.)

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

mod common;
use common::{let_purge_passes_run, resident_blocks, MIB, PAGE};

#[test]
fn lowest_freed_pool_runs_stay_warm_the_rest_go_back() {
    // Four 4 MiB blocks freed, each made before a 2 MiB one that stays live
    // (8 MiB live: the pool's other bound, the bytes live blocks hold, is no
    // more than this one).
    let (starts, live) = common::free_between_live(4, 4 * MIB, 2 * MIB, 1);
    let_purge_passes_run();
    let pages = 4 * MIB / PAGE;
    let res = resident_blocks(&starts, 4 * MIB);
    eprintln!("resident pages of the freed blocks, by address: {res:?} of {pages}");
    // Twice the largest freed: 8 MiB. Each freed run is a little over 4 MiB
    // (the block, its header page, the rest of its fresh mapping): the lowest
    // stays warm (less what the 300 KiB blocks took from it and gave back),
    // the two highest go back, and no more than 8 MiB stays.
    assert!(res[0] > pages * 9 / 10, "{res:?}");
    assert!(res[2] == 0 && res[3] == 0, "{res:?}");
    assert!(res.iter().sum::<usize>() <= 2 * pages, "{res:?}");
    drop(live);
}
