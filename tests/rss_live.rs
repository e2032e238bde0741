//! Resident memory follows the live set: after threads allocate a lot, keep a
//! scattered 1% and exit, the free pages between the survivors go back to the
//! OS (inside arena spans and in the pool), so RSS ends near the live bytes,
//! not near the peak. (A binary of its own: no other test allocates meanwhile.)

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

mod common;
use common::{rss_kib, Rng};
use std::sync::Mutex;

#[test]
fn rss_follows_the_live_set() {
    if std::env::var_os("RSS_LIVE_CHILD").is_some() {
        return;
    }
    let start = rss_kib();
    let survivors: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    let peak = std::sync::atomic::AtomicUsize::new(0);
    // All four threads hold their blocks at once when RSS is sampled: a
    // thread that finished early must not free (and purge) before the others
    // sample, or the peak seen depends on timing.
    let all_made = std::sync::Barrier::new(4);
    for round in 0..3u64 {
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (survivors, peak, all_made) = (&survivors, &peak, &all_made);
                s.spawn(move || {
                    let mut rng = Rng(0x9e37_79b9 ^ (round * 4 + t + 1));
                    let mut made: Vec<Vec<u8>> = Vec::new();
                    let mut bytes = 0;
                    // About 64 MB per thread: small and medium blocks.
                    while bytes < 64 << 20 {
                        let n = match rng.below(4) {
                            0 => 16 + rng.below(240) as usize,
                            1 => 256 + rng.below(1800) as usize,
                            _ => 2048 + rng.below(4096) as usize,
                        };
                        made.push(vec![(n % 251) as u8; n]);
                        bytes += n;
                    }
                    all_made.wait();
                    peak.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                    all_made.wait();
                    let mut keep = Vec::new();
                    for v in made.drain(..) {
                        if rng.below(100) == 0 {
                            keep.push(v);
                        }
                    }
                    survivors.lock().unwrap().extend(keep);
                });
            }
        });
    }
    // The program goes on: a little allocation now and then gives the purge
    // passes their turns. Free memory goes back one to two purge delays after
    // it last changed, and an exited thread's parked arena a delay after its
    // exit. The delay is 10 ms by default but doubles, up to 80 ms
    // (`purge::MAX_SCALE`), for an arena whose released pages keep coming
    // back into use, as they do here from round to round: the program must go
    // on for more than two of the longest delays. (Three steps, 90 ms, failed
    // 3 runs of 40, and once in CI: up to 15 MiB more resident, pages that
    // the passes had not yet released; ten steps failed none of 60, 20 of
    // them beside a busy loop.)
    for _ in 0..10 {
        std::thread::sleep(std::time::Duration::from_millis(30));
        let v: Vec<Vec<u8>> = (0..64).map(|i| vec![1u8; 4096 + i * 512]).collect();
        drop(std::hint::black_box(v));
        drop(std::hint::black_box(vec![2u8; 300 << 10]));
    }
    let end = rss_kib();
    let peak = peak.into_inner();
    let survivors = survivors.into_inner().unwrap();
    let live: usize = survivors.iter().map(|v| v.len()).sum::<usize>() / 1024;
    for v in &survivors {
        assert!(
            v.iter().all(|&b| b == (v.len() % 251) as u8),
            "survivor corrupted"
        );
    }
    // The floor no allocator can go below: the pages the survivors (and their
    // 8-byte headers) occupy, plus two pages (header and fence) of each 256 KiB
    // span that holds one.
    let mut pages = std::collections::BTreeSet::new();
    let mut spans = std::collections::BTreeSet::new();
    for v in &survivors {
        let a = v.as_ptr() as usize - 8;
        for p in a / 4096..=(a + 8 + v.len() - 1) / 4096 {
            pages.insert(p);
        }
        spans.insert(a >> 18);
    }
    let floor = (pages.len() + 2 * spans.len()) * 4;
    let s = arenapool::stats();
    eprintln!(
        "RSS: start {start} KiB, peak {peak} KiB, end {end} KiB, live {live} KiB, \
         pages the live blocks occupy {floor} KiB\n{s:?}"
    );
    assert!(
        peak > start + 200 * 1024,
        "the test did not allocate what it meant to"
    );
    // What stays resident beyond those pages: at most 8 MiB (this test's own
    // data, thread stacks, metadata); without purging it is over 150 MiB.
    assert!(
        end - start <= floor + 8 * 1024,
        "RSS grew {} KiB for {live} KiB live occupying {floor} KiB of pages (peak {peak} KiB)",
        end - start
    );
}

/// `ARENAPOOL_PURGE=0` keeps free pages resident: the same work in a child
/// releases nothing (and by default it does).
#[test]
fn purging_can_be_turned_off() {
    if std::env::var_os("RSS_LIVE_CHILD").is_some() {
        let keep: Vec<Vec<u8>> = std::thread::spawn(|| {
            let mut all: Vec<Vec<u8>> = (0..20_000).map(|i| vec![1u8; 2000 + i % 4000]).collect();
            let keep = all.iter_mut().step_by(50).map(std::mem::take).collect();
            drop(all);
            keep
        })
        .join()
        .unwrap();
        // The exited thread's arena is purged a delay after its exit (at most
        // 80 ms by default), at the next allocator operation that comes by.
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(std::hint::black_box(vec![2u8; 300 << 10]));
        let s = arenapool::stats();
        println!("released {} {}", s.span_released_bytes, s.pool_purged_bytes);
        drop(keep);
        return;
    }
    for (purge, want_some) in [("0", false), ("1", true)] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "purging_can_be_turned_off", "--nocapture"])
            .env("RSS_LIVE_CHILD", "1")
            .env("ARENAPOOL_PURGE", purge)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.starts_with("released")).unwrap();
        let n: u64 = line
            .split(' ')
            .skip(1)
            .map(|x| x.parse::<u64>().unwrap())
            .sum();
        assert_eq!(n > 0, want_some, "ARENAPOOL_PURGE={purge}: {line}");
    }
}
