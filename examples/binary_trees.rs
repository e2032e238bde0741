//! The Benchmarks Game **binary-trees** program, in parallel with rayon: one `Box`
//! per tree node, so nearly all of its time is spent allocating and freeing small,
//! same-sized blocks from several threads at once.
//!
//! It builds a stretch tree of depth `max + 1`, then a long-lived tree of depth
//! `max` (kept until the end), then, for depths 4, 6, ..., `max`,
//! `2^(max - d + 4)` trees of depth `d`, built and checked in parallel; each check
//! count is asserted against the formula (a tree of depth `d` has `2^(d+1) - 1`
//! nodes).
//!
//! Run it (arenapool is the default allocator, see `benches/common/select.rs`):
//!
//! ```text
//! cargo run --release --example binary_trees                 # max depth 19, all cores
//! cargo run --release --example binary_trees -- 20 --threads 2
//! ARENAPOOL_ALLOC=system cargo run --release --example binary_trees   # glibc malloc
//! ARENAPOOL_ALLOC=mimalloc cargo run --release --example binary_trees # or jemalloc
//! ```
//!
//! Arguments: an optional max depth (default 19, at least 6) and `--threads N`
//! (default: rayon's global pool, one thread per core). With arenapool,
//! `BINARY_TREES_HEAP_MAP=map.svg` draws the heap (`arenapool::write_heap_map`)
//! after the parallel trees, while the long-lived tree is still alive.

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[path = "../benches/common/select.rs"]
mod select;

#[path = "common/cli.rs"]
mod cli;

#[global_allocator]
static GLOBAL: select::Selected = select::Selected;

use rayon::prelude::*;
use std::time::Instant;

const MIN_DEPTH: u32 = 4;
const DEFAULT_MAX_DEPTH: u32 = 19;

struct Node {
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

fn bottom_up(depth: u32) -> Box<Node> {
    if depth == 0 {
        Box::new(Node {
            left: None,
            right: None,
        })
    } else {
        Box::new(Node {
            left: Some(bottom_up(depth - 1)),
            right: Some(bottom_up(depth - 1)),
        })
    }
}

fn check(node: &Node) -> u64 {
    1 + node.left.as_deref().map_or(0, check) + node.right.as_deref().map_or(0, check)
}

/// Nodes in a complete tree of depth `d`.
fn nodes(d: u32) -> u64 {
    (1u64 << (d + 1)) - 1
}

fn run(max_depth: u32) {
    let stretch = max_depth + 1;
    let c = check(&bottom_up(stretch));
    assert_eq!(c, nodes(stretch));
    println!("stretch tree of depth {stretch}\t check: {c}");

    let long_lived = bottom_up(max_depth);

    let lines: Vec<String> = (MIN_DEPTH..=max_depth)
        .step_by(2)
        .map(|d| {
            let iterations = 1u64 << (max_depth - d + MIN_DEPTH);
            let c: u64 = (0..iterations)
                .into_par_iter()
                .map(|_| check(&bottom_up(d)))
                .sum();
            assert_eq!(c, iterations * nodes(d), "wrong check at depth {d}");
            format!("{iterations}\t trees of depth {d}\t check: {c}")
        })
        .collect();
    for l in &lines {
        println!("{l}");
    }
    if let Some(path) = std::env::var_os("BINARY_TREES_HEAP_MAP") {
        if select::name() == "arenapool" {
            use std::os::unix::ffi::OsStringExt;
            let path = std::ffi::CString::new(path.into_vec()).expect("a path without NUL");
            assert!(
                arenapool::write_heap_map(&path),
                "cannot write the heap map"
            );
        }
    }

    let c = check(&long_lived);
    assert_eq!(c, nodes(max_depth));
    println!("long lived tree of depth {max_depth}\t check: {c}");
}

fn main() {
    let args = cli::parse_args("binary_trees [MAX_DEPTH (default 19)] [--threads N]");
    let max_depth = args.size.map_or(DEFAULT_MAX_DEPTH, |s| s as u32);
    if !(MIN_DEPTH + 2..=30).contains(&max_depth) {
        eprintln!("max depth must be in 6..=30");
        std::process::exit(2);
    }
    let start = Instant::now();
    let threads = cli::with_pool(args.threads, || {
        run(max_depth);
        rayon::current_num_threads()
    });
    let wall = start.elapsed();
    println!(
        "binary_trees: max depth {max_depth}, {threads} threads, allocator {}, wall {:.3} s",
        select::name(),
        wall.as_secs_f64()
    );
}
