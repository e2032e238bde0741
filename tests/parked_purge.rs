//! An exited thread's free pages: kept resident for one purge delay (a new
//! thread adopting the arena meanwhile finds them warm), then released at the
//! next allocator operation. Each case runs in a child process of its own with
//! a long `ARENAPOOL_PURGE_DELAY`, so that no pass can come due while the case
//! runs unless the case waits for it.

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

use std::time::Duration;

/// The delay the children run with, in milliseconds.
const DELAY_MS: u64 = 2000;

/// Minor page faults of the calling thread so far.
fn thread_faults() -> i64 {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, &mut u), 0);
        u.ru_minflt
    }
}

/// Makes 40 MB of 4 KiB blocks, keeps one in 50 (pinning the spans), frees the
/// rest; returns the survivors and the page faults this took.
fn churn() -> (Vec<Vec<u8>>, i64) {
    let f0 = thread_faults();
    let mut all: Vec<Vec<u8>> = (0..10_000).map(|i| vec![i as u8; 4000]).collect();
    let keep: Vec<Vec<u8>> = all.iter_mut().step_by(50).map(std::mem::take).collect();
    drop(all);
    (keep, thread_faults() - f0)
}

/// Runs `case` in a child process with the long purge delay; returns its stdout.
fn child(case: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", case, "--nocapture", "--test-threads", "1"])
        .env("PARKED_PURGE_CHILD", "1")
        .env("ARENAPOOL_PURGE_DELAY", DELAY_MS.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{case} child failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The number printed after the word `key` (the harness may print on the
/// same line).
fn value(text: &str, key: &str) -> i64 {
    let mut words = text.split_whitespace();
    words
        .find(|w| *w == key)
        .and_then(|_| words.next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {text}"))
}

/// A thread started right after another exits adopts its arena and reuses its
/// free pages without faulting them in again (they were released at the exit
/// before, and it took as many faults as the first).
#[test]
fn a_thread_adopting_an_arena_within_the_delay_finds_it_warm() {
    if std::env::var_os("PARKED_PURGE_CHILD").is_some() {
        let (k1, first) = std::thread::spawn(churn).join().unwrap();
        let (k2, second) = std::thread::spawn(churn).join().unwrap();
        println!("first {first}\nsecond {second}");
        drop((k1, k2));
        return;
    }
    let text = child("a_thread_adopting_an_arena_within_the_delay_finds_it_warm");
    let (first, second) = (value(&text, "first"), value(&text, "second"));
    assert!(
        first > 5_000,
        "the first thread took {first} faults: it did not allocate what it meant to"
    );
    assert!(
        second * 4 < first,
        "the second thread faulted {second} times, the first {first}: the free pages were released"
    );
}

/// Past the delay, the next allocation releases the parked arena's free pages.
#[test]
fn an_exited_threads_free_pages_go_back_after_the_delay() {
    if std::env::var_os("PARKED_PURGE_CHILD").is_some() {
        let (keep, _) = std::thread::spawn(churn).join().unwrap();
        let at_exit = arenapool::stats().span_released_bytes;
        std::thread::sleep(Duration::from_millis(DELAY_MS + 500));
        // An allocation off the cache's fast path comes by.
        drop(std::hint::black_box(vec![2u8; 300 << 10]));
        let after = arenapool::stats().span_released_bytes;
        println!("at_exit {at_exit}\nafter {after}");
        drop(keep);
        return;
    }
    let text = child("an_exited_threads_free_pages_go_back_after_the_delay");
    let (at_exit, after) = (value(&text, "at_exit"), value(&text, "after"));
    // 39 MB were freed, in chunks of 49 blocks between survivors: most of
    // their pages can go back.
    assert!(
        at_exit < 4 << 20,
        "{at_exit} bytes released at the thread's exit, before the delay"
    );
    assert!(
        after > 24 << 20,
        "only {after} bytes released a delay after the thread's exit"
    );
}
