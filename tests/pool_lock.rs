#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! No memory system call (`mmap`, `munmap`, `madvise`, `mremap`, `mprotect`)
//! is made while the page pool's lock is held: other threads would wait on the
//! kernel. Each test drives one of the paths that used to make one under the
//! lock, checks that its work was still done, and that the count of such
//! calls (`Stats::lock_held_calls`, kept since the process started, so the
//! pool's first use and the test harness's threads are covered too) is 0.
//! Each case runs in a process of its own, on a pool in a known state.

use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

#[test]
fn child() {
    if let Ok(case) = std::env::var("POOL_LOCK_CASE") {
        match case.as_str() {
            "trim" => trim_of_many_runs(),
            "purge" => purge_pass_over_many_runs(),
            "parked" => frees_into_a_parked_arena(),
            "arenas" => new_arenas(),
            _ => panic!("no case {case}"),
        }
        assert_eq!(calls_under_lock(), 0, "{case}: calls under the lock");
        println!("POOL LOCK CASE PASSED");
        std::process::exit(0);
    }
}

/// Runs `case` in a child process; fails with its output if it failed.
fn run(case: &str) {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
        .env("POOL_LOCK_CASE", case)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("POOL LOCK CASE PASSED"),
        "{case}: {:?}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_trim_of_many_runs_unmaps_them_all_outside_the_lock() {
    run("trim");
}

#[test]
fn a_purge_pass_over_many_runs_leaves_the_rest_to_the_next() {
    run("purge");
}

#[test]
fn frees_into_a_parked_arena_leave_its_purge_for_later() {
    run("parked");
}

#[test]
fn new_arenas_map_their_metadata_outside_the_lock() {
    run("arenas");
}

fn calls_under_lock() -> u64 {
    arenapool::stats().lock_held_calls
}

/// Pool blocks of `size` bytes (over the arena limit and the shelf's), `n`
/// to be freed, each between two that stay: `n` free runs apart.
fn separated(n: usize, size: usize) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    // Until the program frees a big block, big blocks are mapped on their
    // own; from then on they come from the pool.
    drop(vec![0u8; size]);
    let (mut keep, mut free) = (Vec::new(), Vec::new());
    keep.push(vec![1u8; 140 * 1024]);
    for _ in 0..n {
        free.push(vec![2u8; size]);
        keep.push(vec![1u8; 140 * 1024]);
    }
    (keep, free)
}

/// A trim that must unmap more runs than one hold of the lock may leave for
/// after it goes on with the lock released, relocking between batches, until
/// it is done.
fn trim_of_many_runs() {
    // 20 MiB free in 50 runs: under the pool's retain bound (32 MiB at
    // least), so the frees trim nothing.
    let (keep, free) = separated(50, 400 * 1024);
    drop(free);
    let runs = arenapool::pool::lock().runs();
    assert!(runs > 40, "only {runs} free runs to trim");
    let before = arenapool::stats();
    arenapool::pool::lock().trim(0);
    let after = arenapool::stats();
    assert_eq!(after.pool_free_bytes, 0, "the trim stopped: {after:?}");
    assert!(
        after.returned_bytes >= before.returned_bytes + 40 * 400 * 1024,
        "{before:?}\n{after:?}"
    );
    drop(keep);
}

/// A purge pass with more dirty runs to release than one hold of the lock
/// may leave for after it releases that many and leaves the others to the
/// next pass.
fn purge_pass_over_many_runs() {
    // 24 MiB free in 60 runs: under the pool's retain bound (32 MiB at
    // least), so nothing is unmapped, and over what the pool keeps warm (the
    // bytes in live pool blocks, 8.5 MiB here): 39 runs to release, more
    // than one pass may.
    let (keep, free) = separated(60, 400 * 1024);
    let before = arenapool::stats();
    drop(free);
    let mut passes = 0;
    let mut after = arenapool::stats();
    // A pass marks the runs it sees; the next releases those still unchanged.
    // Each free of a pool block runs a pass when one is due.
    while after.pool_purged_bytes < before.pool_purged_bytes + 35 * 400 * 1024 && passes < 200 {
        thread::sleep(Duration::from_millis(15));
        drop(vec![3u8; 400 * 1024]);
        passes += 1;
        after = arenapool::stats();
    }
    assert!(
        after.pool_purged_bytes >= before.pool_purged_bytes + 35 * 400 * 1024,
        "{passes} passes released too little\n{before:?}\n{after:?}"
    );
    drop(keep);
}

/// Frees into the arena of a thread that has exited are drained under the
/// pool lock; a purge pass that falls due meanwhile is put off, run later
/// with the lock released, and still releases the arena's free pages.
fn frees_into_a_parked_arena() {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let blocks: Vec<Vec<u8>> = (0..4_000).map(|i| vec![i as u8; 8_000]).collect();
        tx.send(blocks).unwrap();
    })
    .join()
    .unwrap();
    let mut blocks: Vec<Option<Vec<u8>>> = rx.recv().unwrap().into_iter().map(Some).collect();
    let before = arenapool::stats();
    // Three blocks of four, in a scattered order (every span keeps live
    // blocks, so its free pages are released inside it), with pauses:
    // passes fall due while the frees are drained.
    let mut k = 0;
    for i in 0..blocks.len() {
        k = (k + 1_237) % blocks.len();
        if k % 4 != 0 {
            blocks[k] = None;
        }
        if i % 250 == 0 {
            thread::sleep(Duration::from_millis(5));
        }
    }
    let mut after = arenapool::stats();
    for _ in 0..200 {
        if after.span_released_bytes >= before.span_released_bytes + (4 << 20) {
            break;
        }
        thread::sleep(Duration::from_millis(10));
        // A pool block taken and given back: the way in and out of the pool
        // runs the parked arenas' due passes.
        drop(vec![4u8; 400 * 1024]);
        after = arenapool::stats();
    }
    assert!(
        after.span_released_bytes >= before.span_released_bytes + (4 << 20),
        "the parked arena's free pages were not released\n{before:?}\n{after:?}"
    );
    drop(blocks);
}

/// Arenas for new threads are made 16 to a mapping, which is made with the
/// lock released.
fn new_arenas() {
    let before = arenapool::stats().arenas;
    let start = std::sync::Barrier::new(48);
    thread::scope(|s| {
        for i in 0..48 {
            let start = &start;
            s.spawn(move || {
                start.wait();
                let b = vec![i as u8; 100];
                start.wait();
                drop(b);
            });
        }
    });
    let after = arenapool::stats().arenas;
    assert!(after >= before + 32, "{before} -> {after} arenas");
}
