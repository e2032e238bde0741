//! The page pool keeps free runs resident up to the bytes that live pool
//! blocks hold, not only up to twice the largest block freed: a program that
//! replaces big blocks among many live ones reuses the holes warm. When the
//! live blocks go, the bound falls back.
//! (A binary of its own: no other test may use the pool meanwhile.)

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

mod common;
use common::{let_purge_passes_run, resident_blocks, MIB, PAGE};

#[test]
fn holes_among_live_pool_blocks_stay_warm_while_the_blocks_live() {
    // Six 4 MiB blocks freed, each made before two 6 MiB ones that stay live
    // (72 MiB live).
    let (starts, live) = common::free_between_live(6, 4 * MIB, 6 * MIB, 2);
    let_purge_passes_run();
    let pages = 4 * MIB / PAGE;
    let res = resident_blocks(&starts, 4 * MIB);
    eprintln!("with the live blocks, resident pages of the freed ones: {res:?} of {pages}");
    // 24 MiB of holes, under the 72 MiB live: all stay (less what the
    // 300 KiB blocks took and gave back). With twice the largest block freed
    // as the only bound (8 MiB), the code before kept one.
    assert!(res.iter().all(|&r| r > pages * 9 / 10), "{res:?}");

    let s = arenapool::stats();
    assert!(
        s.retain >= 72 * MIB,
        "retain bound {} with 72 MiB live",
        s.retain
    );
    assert!(
        s.pool_free_bytes >= 24 * MIB,
        "{} B free",
        s.pool_free_bytes
    );

    // Without the live blocks the bound falls back to twice the largest
    // block freed (12 MiB) per thread with an arena, or its floor
    // (`ARENAPOOL_RETAIN`, 32 MiB): of the 96 MiB freed, no more stays.
    drop(live);
    let_purge_passes_run();
    let s = arenapool::stats();
    eprintln!(
        "after the live blocks' free: {} B free, retain bound {} B, {} threads",
        s.pool_free_bytes, s.retain, s.active_arenas
    );
    assert!(s.retain <= (32 * MIB).max(12 * MIB * s.active_arenas));
    assert!(
        s.pool_free_bytes <= s.retain,
        "{} B free",
        s.pool_free_bytes
    );
}
