//! The page pool leaves its lowest dirty free runs, up to twice the largest
//! pool block freed, resident, and releases the rest after the purge delay.
//! (A binary of its own: no other test may use the pool meanwhile.)

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

use std::time::Duration;

const MIB: usize = 1 << 20;
const PAGE: usize = 4096;

/// Pages of `[p, p + len)` resident in memory (0 where it is not mapped).
fn resident_pages(p: usize, len: usize) -> usize {
    let mut v = vec![0u8; len / PAGE];
    // SAFETY: v has one byte per page of the range.
    let rc = unsafe { libc::mincore(p as *mut libc::c_void, len, v.as_mut_ptr()) };
    if rc != 0 {
        return 0;
    }
    v.iter().filter(|&&b| b & 1 != 0).count()
}

#[test]
fn lowest_freed_pool_runs_stay_warm_the_rest_go_back() {
    // A first big block freed switches big blocks from their own mappings to
    // the pool.
    drop(vec![1u8; MIB]);
    // Four 4 MiB blocks to free, each followed by one that stays live (so that
    // the freed ones stay four separate free runs), every page touched.
    let mut freed = Vec::new();
    let mut live = Vec::new();
    for _ in 0..4 {
        freed.push(vec![3u8; 4 * MIB]);
        live.push(vec![4u8; 4 * MIB]);
    }
    let mut starts: Vec<usize> = freed.iter().map(|v| v.as_ptr() as usize).collect();
    starts.sort_unstable();
    drop(freed);
    // Purge passes run at pool frees once the delay (10 ms) has passed; the
    // first marks runs seen, a later one releases those still unchanged.
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(30));
        drop(std::hint::black_box(vec![5u8; 300 << 10]));
    }
    let pages = 4 * MIB / PAGE;
    // The page-aligned whole pages of each block's range (its header shares the
    // first page).
    let res: Vec<usize> = starts
        .iter()
        .map(|&s| resident_pages((s + PAGE) & !(PAGE - 1), 4 * MIB - 2 * PAGE))
        .collect();
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
