//! A thread whose other pthread-key destructors allocate after arenapool's own
//! exit cleanup ran (even in glibc's last destructor round) must not keep an arena:
//! such allocations borrow a parked arena and park it again.

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

use std::sync::atomic::{AtomicUsize, Ordering};

static KEY: AtomicUsize = AtomicUsize::new(0);
static DTOR_ALLOCS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn rearming_dtor(v: *mut libc::c_void) {
    // Allocate and free, then re-arm the key so glibc runs us again next round,
    // until it gives up after PTHREAD_DESTRUCTOR_ITERATIONS rounds.
    let b: Vec<u8> = vec![7; 200];
    let kept: Box<[u64; 40]> = Box::new([1; 40]);
    assert_eq!(b.iter().map(|&x| x as usize).sum::<usize>(), 1400);
    std::mem::forget(kept); // a block left behind by the exited thread
    DTOR_ALLOCS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: KEY holds a created key.
    unsafe { libc::pthread_setspecific(KEY.load(Ordering::Relaxed) as libc::pthread_key_t, v) };
}

#[test]
fn allocation_in_late_destructor_rounds_leaks_no_arena() {
    // arenapool's key exists already (std allocated before main), so ours has a
    // higher index and runs after it in each round.
    let mut key: libc::pthread_key_t = 0;
    // SAFETY: plain key creation with an extern "C" destructor.
    assert_eq!(
        unsafe { libc::pthread_key_create(&mut key, Some(rearming_dtor)) },
        0
    );
    KEY.store(key as usize, Ordering::Relaxed);
    let before = arenapool::stats();
    for _ in 0..2000 {
        std::thread::spawn(move || {
            let v: Vec<u64> = (0..100).collect();
            // SAFETY: a created key; any non-null value arms the destructor.
            unsafe { libc::pthread_setspecific(key, 1 as *const libc::c_void) };
            v.len()
        })
        .join()
        .unwrap();
    }
    let after = arenapool::stats();
    eprintln!("before {before:?}\nafter {after:?}");
    assert!(
        DTOR_ALLOCS.load(Ordering::Relaxed) >= 2000 * 2,
        "destructors did not allocate"
    );
    // One thread at a time: a handful of arenas is reused by all 2,000 threads.
    assert!(
        after.arenas <= before.arenas + 4,
        "{} arenas made",
        after.arenas - before.arenas
    );
    assert!(after.active_arenas <= before.active_arenas + 1);
    arenapool::check::pool().unwrap();
}
