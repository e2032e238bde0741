//! After a program frees everything, its RSS comes back near where it started.
//! (A binary of its own: no other test may allocate meanwhile.)

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

mod common;
use common::rss_kib;

#[test]
fn rss_returns_after_allocate_then_free() {
    let start = rss_kib();
    let mut small: Vec<Box<[u8]>> = Vec::new();
    let mut big: Vec<Vec<u8>> = Vec::new();
    // ~256 MiB of small and medium blocks, ~256 MiB of pool blocks, a few huge ones.
    for i in 0..1_000_000usize {
        small.push(vec![i as u8; 16 + (i % 32) * 16].into_boxed_slice());
    }
    for i in 0..40usize {
        big.push(vec![1u8; (1 + i % 8) << 20]);
    }
    for _ in 0..4 {
        big.push(vec![2u8; 48 << 20]);
    }
    let peak = rss_kib();
    // Free in an order unlike allocation order.
    let mut k = 0;
    while !small.is_empty() {
        k = (k + 7919) % small.len();
        small.swap_remove(k);
    }
    drop(small);
    drop(big);
    let end = rss_kib();
    eprintln!("RSS: start {start} KiB, peak {peak} KiB, after free {end} KiB");
    eprintln!("{:?}", arenapool::stats());
    assert!(
        peak > start + 400 * 1024,
        "the test did not allocate what it meant to"
    );
    // The pool keeps up to its retain bound (32 MiB here) of free memory for reuse.
    let retain = arenapool::stats().retain / 1024;

    assert!(
        end < start + retain + 16 * 1024,
        "RSS stayed at {end} KiB (start {start} KiB)"
    );
}
