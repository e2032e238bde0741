//! Command-line handling shared by the examples: `[SIZE] [--threads N]`.

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

pub struct Args {
    pub size: Option<u64>,
    pub threads: Option<usize>,
}

/// `[SIZE] [--threads N]`, in any order.
pub fn parse_args(usage: &str) -> Args {
    let mut args = Args {
        size: None,
        threads: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let bad = || -> ! {
            eprintln!("usage: {usage}");
            std::process::exit(2)
        };
        if a == "--threads" || a == "-t" {
            let n: usize = it
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| bad());
            if n == 0 {
                bad();
            }
            args.threads = Some(n);
        } else if let Some(v) = a.strip_prefix("--threads=") {
            args.threads = Some(v.parse().ok().filter(|&n| n > 0).unwrap_or_else(|| bad()));
        } else if a == "-h" || a == "--help" {
            println!("usage: {usage}");
            std::process::exit(0);
        } else {
            args.size = Some(a.parse().unwrap_or_else(|_| bad()));
        }
    }
    args
}

/// Runs `f` on rayon's global pool, or on a pool of `threads` threads.
pub fn with_pool<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> R {
    match threads {
        None => f(),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("cannot build the rayon thread pool")
            .install(f),
    }
}
