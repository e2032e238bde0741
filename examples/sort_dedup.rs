//! Parallel **sort and dedup of millions of `String`s** with rayon: generate them
//! on the worker threads, clone them, sort one copy with `par_sort_unstable` and
//! the other with `par_sort` (a merge sort, with its own temporary buffers),
//! dedup, uppercase the unique ones in parallel into new `String`s, and drop
//! everything in parallel.
//!
//! For the allocator: millions of small blocks of many sizes, allocated on one
//! thread and freed on another (the dedup frees, on the main thread, strings the
//! workers made; the parallel drops free them on whichever worker gets them),
//! large `Vec` buffers, and the sort's scratch space.
//!
//! The data (default 4,000,000 strings) come from a seeded PRNG: string `i` encodes
//! a key drawn from `0..n/4` (skewed towards small keys, so there are many
//! duplicates) as a stem of 0 to 23 letters, `-`, and the key in hex. Checks: both
//! sorts agree and are sorted, the deduplicated list is strictly increasing, has
//! exactly as many strings as there are distinct keys (counted sequentially with
//! a bitmap over all the keys) and holds only generated strings, and the
//! uppercased list is the deduplicated one uppercased (still strictly increasing).
//!
//! Run it (arenapool is the default allocator, see `benches/common/select.rs`):
//!
//! ```text
//! cargo run --release --example sort_dedup                 # 4,000,000 strings, all cores
//! cargo run --release --example sort_dedup -- 8000000 --threads 2
//! ARENAPOOL_ALLOC=system cargo run --release --example sort_dedup   # glibc malloc
//! ARENAPOOL_ALLOC=mimalloc cargo run --release --example sort_dedup # or jemalloc
//! ```
//!
//! Arguments: an optional number of strings (default 4,000,000, at least 1,000)
//! and `--threads N` (default: rayon's global pool, one thread per core).

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[path = "../benches/common/select.rs"]
mod select;

#[path = "common/cli.rs"]
mod cli;

#[global_allocator]
static GLOBAL: select::Selected = select::Selected;

use rayon::prelude::*;
use std::fmt::Write;
use std::time::{Duration, Instant};

const DEFAULT_COUNT: u64 = 4_000_000;
const SEED: u64 = 0x0ddb_a115_0f77;

/// SplitMix64's finaliser: a good hash of a counter, so string `i` can be made on
/// any thread, deterministically.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(SEED);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The key of string `i`: the smaller of two uniform draws from `0..keys`.
fn key(i: u64, keys: u64) -> u64 {
    let a = mix(2 * i) % keys;
    let b = mix(2 * i + 1) % keys;
    a.min(b)
}

/// The string of a key: a stem of 0 to 23 lowercase letters, `-`, the key in hex.
/// Injective (the hex after the only `-` is the key), and uppercasing it keeps the
/// order ('-' < digits < letters in both cases).
fn make(key: u64) -> String {
    let h = mix(key ^ 0xabcd_ef01_2345_6789);
    let stem = (h % 24) as usize;
    let mut s = String::with_capacity(stem + 17);
    let mut bits = h >> 5;
    for j in 0..stem {
        if j % 12 == 11 {
            bits = mix(bits);
        }
        s.push((b'a' + (bits % 26) as u8) as char);
        bits /= 26;
    }
    s.push('-');
    write!(s, "{key:x}").expect("writing to a String cannot fail");
    s
}

/// The key a string was made from, if it is one `make` can produce.
fn parse(s: &str) -> Option<u64> {
    let (_, hex) = s.rsplit_once('-')?;
    u64::from_str_radix(hex, 16).ok()
}

/// Times the phases, in order.
struct Phases(Vec<(&'static str, Duration)>, Instant);

impl Phases {
    fn new() -> Self {
        Phases(Vec::new(), Instant::now())
    }
    fn done(&mut self, name: &'static str) {
        let now = Instant::now();
        self.0.push((name, now - self.1));
        self.1 = now;
    }
}

fn run(n: u64, t: &mut Phases) {
    let keys = (n / 4).max(1);

    let mut a: Vec<String> = (0..n).into_par_iter().map(|i| make(key(i, keys))).collect();
    t.done("generate");
    let mut b: Vec<String> = a.par_iter().cloned().collect();
    t.done("clone");
    a.par_sort_unstable();
    t.done("par_sort_unstable");
    b.par_sort();
    t.done("par_sort");

    assert!(
        a.par_windows(2).all(|w| w[0] <= w[1]),
        "par_sort_unstable: not sorted"
    );
    assert!(
        a.par_iter().zip(&b).all(|(x, y)| x == y),
        "the two sorts disagree"
    );
    t.done("check sorts");
    b.into_par_iter().for_each(drop);
    t.done("drop the clone");

    a.dedup();
    t.done("dedup");
    let upper: Vec<String> = a.par_iter().map(|s| s.to_uppercase()).collect();
    t.done("uppercase");

    // Sequentially: which keys were drawn.
    let mut seen = vec![0u64; keys.div_ceil(64) as usize];
    for i in 0..n {
        let k = key(i, keys);
        seen[(k / 64) as usize] |= 1 << (k % 64);
    }
    let distinct: u64 = seen.iter().map(|w| w.count_ones() as u64).sum();
    assert_eq!(a.len() as u64, distinct, "unique count");
    assert!(
        a.par_windows(2).all(|w| w[0] < w[1]),
        "dedup: not strictly increasing"
    );
    assert!(
        a.par_iter().all(|s| parse(s).is_some_and(|k| {
            k < keys && seen[(k / 64) as usize] & (1 << (k % 64)) != 0 && make(k) == *s
        })),
        "dedup: a string that was never generated"
    );
    assert_eq!(upper.len(), a.len());
    assert!(
        upper.par_windows(2).all(|w| w[0] < w[1]),
        "uppercase: order lost"
    );
    assert!(
        upper
            .par_iter()
            .zip(&a)
            .all(|(u, s)| u.eq_ignore_ascii_case(s)),
        "uppercase: wrong string"
    );
    t.done("check dedup");

    println!(
        "{n} strings, {} distinct (keys 0..{keys}); first {:?}, last {:?}",
        a.len(),
        a.first().map_or("", String::as_str),
        upper.last().map_or("", String::as_str)
    );
    a.into_par_iter().for_each(drop);
    upper.into_par_iter().for_each(drop);
    t.done("drop");
}

fn main() {
    let args = cli::parse_args("sort_dedup [STRINGS (default 4000000)] [--threads N]");
    let n = args.size.unwrap_or(DEFAULT_COUNT);
    if !(1000..=1 << 32).contains(&n) {
        eprintln!("the number of strings must be 1000 to 2^32");
        std::process::exit(2);
    }
    let start = Instant::now();
    let mut phases = Phases::new();
    let threads = cli::with_pool(args.threads, || {
        run(n, &mut phases);
        rayon::current_num_threads()
    });
    let wall = start.elapsed();
    let times: Vec<String> = phases
        .0
        .iter()
        .map(|(name, d)| format!("{name} {:.3}", d.as_secs_f64()))
        .collect();
    println!("time (s): {}", times.join(", "));
    println!(
        "sort_dedup: {n} strings, {threads} threads, allocator {}, wall {:.3} s",
        select::name(),
        wall.as_secs_f64()
    );
}
