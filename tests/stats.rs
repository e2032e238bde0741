#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! `arenapool::stats()`, the cross-thread free matrix and the heap map, from a
//! Rust program with ArenaPool as its global allocator. (A binary of its own, so
//! the counts are not disturbed by other tests.)

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

/// The tests run one at a time: each compares snapshots.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn counts_follow_the_program() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let s0 = arenapool::stats();
    let blocks: Vec<Box<[u8; 100]>> = (0..10_000).map(|i| Box::new([i as u8; 100])).collect();
    let big = vec![7u8; 40 << 20];
    let s1 = arenapool::stats();
    assert!(s1.allocs >= s0.allocs + 10_001, "{s0:?}\n{s1:?}");
    assert!(s1.requested_bytes >= s0.requested_bytes + 1_000_000 + (40 << 20));
    assert!(
        // (less 64 KiB: the test harness's other threads may free meanwhile)
        s1.in_use_bytes + 64 * 1024 >= s0.in_use_bytes + 10_000 * 100 + (40 << 20),
        "{s0:?}\n{s1:?}"
    );
    assert!(s1.huge_bytes >= 40 << 20 && s1.mapped_bytes >= s1.in_use_bytes);
    assert!(s1.peak_mapped_bytes >= s1.mapped_bytes - s1.huge_bytes);
    assert!(
        s1.resident_bytes > 40 << 20 && s1.peak_resident_bytes >= s1.resident_bytes,
        "{s1:?}"
    );
    assert!(s1.lock_acquisitions > s0.lock_acquisitions);
    drop(blocks);
    drop(big);
    let s2 = arenapool::stats();
    assert!(s2.frees >= s1.frees + 10_001, "{s1:?}\n{s2:?}");
    assert!(s2.in_use_bytes + 10_000 * 100 <= s1.in_use_bytes - (40 << 20) + 64 * 1024);
    assert_eq!(s2.huge_bytes, 0);
    assert!(s2.returned_bytes >= s1.returned_bytes + (40 << 20));
}

/// Medium blocks (over 1 KiB, within an arena span) are counted whether the
/// medium tier serves them or the store does: the first round finds the
/// thread's tier empty, the second takes from what the first freed.
#[test]
fn medium_blocks_count_from_the_tier_and_from_the_store() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    std::thread::spawn(|| {
        let sizes: Vec<usize> = (0..2_000).map(|i| 1_500 + (i * 7_919) % 100_000).collect();
        let want: u64 = sizes.iter().map(|&n| n as u64).sum();
        for round in 0..2 {
            let s0 = arenapool::stats();
            let blocks: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![round as u8; n]).collect();
            let s1 = arenapool::stats();
            assert!(
                s1.allocs >= s0.allocs + 2_000,
                "round {round}\n{s0:?}\n{s1:?}"
            );
            assert!(
                s1.requested_bytes >= s0.requested_bytes + want,
                "round {round}"
            );
            assert!(blocks.iter().all(|b| b.iter().all(|&x| x == round as u8)));
            drop(blocks);
            let s2 = arenapool::stats();
            assert!(
                s2.frees >= s1.frees + 2_000,
                "round {round}\n{s1:?}\n{s2:?}"
            );
        }
    })
    .join()
    .unwrap();
}

#[test]
fn cross_thread_frees_land_in_the_matrix() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = arenapool::stats().cross_thread_frees;
    // Made here, freed by a thread that allocates too (so it has an arena, and a
    // row of its own).
    let blocks: Vec<Box<[u64; 8]>> = (0..5_000).map(|i| Box::new([i; 8])).collect();
    std::thread::spawn(move || {
        let mine = vec![1u8; 10];
        drop(blocks);
        drop(mine);
    })
    .join()
    .unwrap();
    assert!(arenapool::stats().cross_thread_frees >= before + 5_000);
    let m = arenapool::cross_thread_frees();
    let best = (0..m.n)
        .flat_map(|i| (0..m.n).map(move |j| (i, j)))
        .max_by_key(|&(i, j)| m.count[i][j])
        .unwrap();
    assert!(m.count[best.0][best.1] >= 5_000, "{m:?}");
    assert!(m.bytes[best.0][best.1] >= 5_000 * 64);
    assert_ne!(
        best.0, best.1,
        "a thread's frees of its own blocks are not cross-thread"
    );
    assert_ne!(m.tid[best.0], 0);
}

/// Threads that only free (and so have no arena) count in tallies of their
/// own, given back at their exit: more such threads than there are tallies,
/// two at a time, are all counted, and leave the tallies free. (Other tests'
/// threads may hold a few meanwhile: a thread that frees before its first
/// allocation holds one until it exits.)
#[test]
fn frees_by_threads_without_an_arena_are_counted() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const EACH: usize = 2_000;
    const ROUNDS: usize = arenapool::thread::TALLIES / 2 + 8;
    let stray = || -> u64 { arenapool::cross_thread_frees().stray_count.iter().sum() };
    let (m0, s0) = (stray(), arenapool::stats());
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    for _ in 0..ROUNDS {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let blocks: Vec<Box<[u64; 4]>> =
                    (0..EACH).map(|i| Box::new([i as u64; 4])).collect();
                std::thread::spawn(move || {
                    drop(blocks);
                    SEEN.fetch_max(arenapool::thread::tallies_in_use(), Ordering::Relaxed);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }
    let (m1, s1) = (stray(), arenapool::stats());
    // Each thread frees its boxes and their vector's buffer, and a few blocks
    // of the spawn's own (its closure, its result: 4 each with Rust 1.95), far
    // fewer than one thread's boxes.
    let least = (2 * ROUNDS * (EACH + 1)) as u64;
    assert!(
        (least..=least + 2 * 16 * ROUNDS as u64).contains(&(m1 - m0)),
        "{} stray cross-thread frees, {least} expected",
        m1 - m0
    );
    assert!(s1.frees - s0.frees >= least);
    assert!(s1.cross_thread_frees - s0.cross_thread_frees >= least);
    // Without the give-back at exit, the table would be full by now.
    let held = arenapool::thread::tallies_in_use();
    assert!(held < arenapool::thread::TALLIES / 2, "{held} tallies held");
    if cfg!(target_arch = "x86_64") {
        assert!(SEEN.load(Ordering::Relaxed) >= 1, "no thread held a tally");
    }
}

#[test]
fn heap_map_is_written() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let keep: Vec<Vec<u8>> = (0..2_000).map(|i| vec![0; 16 + i * 13]).collect();
    let path = std::env::temp_dir().join(format!("arenapool-stats-{}.svg", std::process::id()));
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert!(arenapool::write_heap_map(&c));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<rect"));
    let _ = std::fs::remove_file(&path);
    drop(keep);
    arenapool::print_stats();
}

/// In a child per mode: 1,000 reallocs; in secure mode (every one moves) they
/// count as 1,000 allocations and 1,000 frees.
#[test]
fn reallocs_count_in_both_modes() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if std::env::var_os("STATS_REALLOC_CHILD").is_some() {
        let s0 = arenapool::stats();
        // SAFETY: one block, reallocated in place or moved, then freed.
        unsafe {
            let mut p = arenapool::raw::malloc(16);
            for i in 0..1000 {
                p = arenapool::raw::realloc(p, 16 + (i % 2) * 4000);
            }
            arenapool::raw::free(p);
        }
        let s1 = arenapool::stats();
        println!("deltas {} {}", s1.allocs - s0.allocs, s1.frees - s0.frees);
        return;
    }
    for secure in ["0", "1"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "reallocs_count_in_both_modes", "--nocapture"])
            .env("STATS_REALLOC_CHILD", "1")
            .env("ARENAPOOL_SECURE", secure)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.starts_with("deltas")).unwrap();
        let v: Vec<u64> = line
            .split(' ')
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect();
        // Secure mode moves every realloc: 1,000 more each way than the malloc and
        // free; the default mode resizes these in place.
        let want = if secure == "1" { 1001 } else { 1 };
        assert!(v[0] >= want && v[1] >= want, "secure {secure}: {line}");
    }
}
