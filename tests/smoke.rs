#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! Smoke test: ArenaPool as global allocator for ordinary collections.

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

#[test]
fn vec_and_strings() {
    let mut v = Vec::new();
    for i in 0..100_000u64 {
        v.push(i.to_string());
    }
    let s: u64 = v.iter().map(|x| x.parse::<u64>().unwrap()).sum();
    assert_eq!(s, 100_000 * 99_999 / 2);
    arenapool::check::thread_arena().unwrap();
    drop(v);
    arenapool::check::thread_arena().unwrap();
    arenapool::check::pool().unwrap();
}
