//! Tunables, read once from the environment (`getenv` does not allocate).
//!
//! | variable | default | range | meaning |
//! |---|---|---|---|
//! | `ARENAPOOL_ARENA_MAX` | 128K | 1K..=128K | largest request carved from an arena span; larger ones are pool blocks |
//! | `ARENAPOOL_HUGE_MIN` | 32M | 1M..=1G | smallest request given a mapping of its own |
//! | `ARENAPOOL_RETAIN` | 32M | 0..=1G | free pool memory always kept for reuse (the bound grows with use, see `pool`) |
//! | `ARENAPOOL_PURGE` | 1 | 0, 1 | give free pages back to the OS (0: keep them resident for speed; only whole empty regions past the retain bound are unmapped) |
//! | `ARENAPOOL_PURGE_DELAY` | 10 | 0..=3600000 (ms) | how long free pages may stay resident before they are released (inside arena spans and in the pool; an arena whose released pages keep coming back into use waits up to 8 times as long); 0: at the next allocator operation |
//! | `ARENAPOOL_SECURE` | 0 (1 with feature `secure`) | 0, 1 | secure mode (see `secure`) |
//! | `ARENAPOOL_SHOW_STATS` | 0 | 0, 1 | print statistics to stderr at exit |
//! | `ARENAPOOL_VERBOSE` | 0 | 0, 1 | print the configuration at start-up and OS failures |
//! | `ARENAPOOL_HEAP_MAP` | unset | a path | write an SVG heap map there at exit |
//!
//! Sizes take an optional `K`, `M` or `G` suffix (powers of 1024). A value that
//! does not parse or is out of range is ignored (the default stays).

use crate::size;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

static LOADED: AtomicU32 = AtomicU32::new(0);
static ARENA_MAX_REQ: AtomicUsize = AtomicUsize::new(size::ARENA_MAX_REQ);
static HUGE_MIN: AtomicUsize = AtomicUsize::new(size::HUGE_MIN);
/// Default of `ARENAPOOL_RETAIN`.
pub const RETAIN: usize = 32 * 1024 * 1024;
static RETAIN_MIN: AtomicUsize = AtomicUsize::new(RETAIN);
/// Default of `ARENAPOOL_PURGE_DELAY`, in milliseconds.
pub const PURGE_DELAY_MS: usize = 10;
static PURGE_DELAY: AtomicUsize = AtomicUsize::new(PURGE_DELAY_MS);

/// Largest request served from an arena span.
#[inline]
pub fn arena_max_req() -> usize {
    ARENA_MAX_REQ.load(Ordering::Relaxed)
}

/// Smallest request that gets a mapping of its own.
#[inline]
pub fn huge_min() -> usize {
    HUGE_MIN.load(Ordering::Relaxed)
}

/// How long free pages may stay resident before they are released, in ms.
#[inline]
pub fn purge_delay_ms() -> u64 {
    PURGE_DELAY.load(Ordering::Relaxed) as u64
}

/// Free pool bytes always kept.
#[inline]
pub fn retain_min() -> usize {
    RETAIN_MIN.load(Ordering::Relaxed)
}

static SECRET: AtomicU64 = AtomicU64::new(0);
static FLAGS: AtomicU32 = AtomicU32::new(if cfg!(feature = "secure") {
    SECURE | PURGE
} else {
    PURGE
});
static HEAP_MAP: AtomicPtr<libc::c_char> = AtomicPtr::new(core::ptr::null_mut());
const SECURE: u32 = 1;
const SHOW_STATS: u32 = 2;
const VERBOSE: u32 = 4;
const PURGE: u32 = 8;

/// Whether free pages go back to the OS (`ARENAPOOL_PURGE`).
#[inline]
pub fn purge() -> bool {
    FLAGS.load(Ordering::Relaxed) & PURGE != 0
}

/// Whether secure mode is on (see `secure`).
#[inline]
pub fn secure() -> bool {
    FLAGS.load(Ordering::Relaxed) & SECURE != 0
}
/// Whether to print statistics at exit.
pub fn show_stats() -> bool {
    FLAGS.load(Ordering::Relaxed) & SHOW_STATS != 0
}
/// Whether to report the configuration and OS failures.
pub fn verbose() -> bool {
    FLAGS.load(Ordering::Relaxed) & VERBOSE != 0
}
/// Where to write a heap map at exit, if anywhere.
pub fn heap_map_path() -> Option<&'static core::ffi::CStr> {
    let p = HEAP_MAP.load(Ordering::Relaxed);
    // SAFETY: a non-null value came from getenv: a NUL-terminated string that lives as long as the environment.
    (!p.is_null()).then(|| unsafe { core::ffi::CStr::from_ptr(p) })
}

/// The per-process random key that pool and huge block tags are stored xor (and
/// arena keys derive from). Nonzero once [`load`] has run; never changes after.
#[inline]
pub fn secret() -> u64 {
    SECRET.load(Ordering::Relaxed)
}

fn make_secret() {
    let mut k = 0u64;
    // SAFETY: getrandom fills at most 8 bytes of `k`; it never allocates.
    let got = unsafe {
        libc::getrandom(
            &mut k as *mut u64 as *mut libc::c_void,
            8,
            libc::GRND_NONBLOCK,
        )
    };
    if got != 8 {
        // No entropy yet (early boot): the clock and an address still differ per run.
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the timespec.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        k = (ts.tv_nsec as u64) ^ ((ts.tv_sec as u64) << 32) ^ (&ts as *const _ as u64);
    }
    k = crate::size::mix(k) | 1;
    // The first caller's key wins; it is written before any block exists.
    let _ = SECRET.compare_exchange(0, k, Ordering::AcqRel, Ordering::Acquire);
}

/// Reads the environment once (racing first callers read it twice, harmlessly)
/// and makes the process's secret.
pub fn load() {
    if LOADED.load(Ordering::Acquire) != 0 {
        return;
    }
    make_secret();
    if let Some(v) = read(c"ARENAPOOL_ARENA_MAX", 1024, 128 * 1024) {
        // Chunk arithmetic needs the request to leave room for the header.
        ARENA_MAX_REQ.store(v / size::UNIT * size::UNIT - size::HDR, Ordering::Relaxed);
    }
    if let Some(v) = read(c"ARENAPOOL_HUGE_MIN", 1 << 20, 1 << 30) {
        HUGE_MIN.store(v, Ordering::Relaxed);
    }
    if let Some(v) = read(c"ARENAPOOL_RETAIN", 0, 1 << 30) {
        RETAIN_MIN.store(v, Ordering::Relaxed);
    }
    if let Some(v) = read(c"ARENAPOOL_PURGE_DELAY", 0, 3_600_000) {
        PURGE_DELAY.store(v, Ordering::Relaxed);
    }
    for (name, bit) in [
        (c"ARENAPOOL_SECURE", SECURE),
        (c"ARENAPOOL_SHOW_STATS", SHOW_STATS),
        (c"ARENAPOOL_PURGE", PURGE),
        (c"ARENAPOOL_VERBOSE", VERBOSE),
    ] {
        match read(name, 0, 1) {
            Some(1) => FLAGS.fetch_or(bit, Ordering::Relaxed),
            Some(_) => FLAGS.fetch_and(!bit, Ordering::Relaxed),
            None => 0,
        };
    }
    // SAFETY: getenv with a NUL-terminated name.
    let map = unsafe { libc::getenv(c"ARENAPOOL_HEAP_MAP".as_ptr()) };
    HEAP_MAP.store(map, Ordering::Relaxed);
    crate::os::set_verbose(verbose());
    LOADED.store(1, Ordering::Release);
    if verbose() {
        report();
    }
}

/// Prints the configuration (`ARENAPOOL_VERBOSE=1`).
fn report() {
    use core::fmt::Write;
    let mut w = crate::os::FdOut::new(2);
    let _ = writeln!(
        w,
        "arenapool: arena max request {} B, huge from {} B, retain {} B, purge {} (delay {} ms), secure {}, show stats {}, heap map {}",
        arena_max_req(),
        huge_min(),
        retain_min(),
        purge() as u8,
        purge_delay_ms(),
        secure() as u8,
        show_stats() as u8,
        heap_map_path().and_then(|p| p.to_str().ok()).unwrap_or("-"),
    );
    w.flush();
}

fn read(name: &core::ffi::CStr, min: usize, max: usize) -> Option<usize> {
    // SAFETY: getenv with a NUL-terminated name; the result is NUL-terminated.
    let v = unsafe { libc::getenv(name.as_ptr()) };
    if v.is_null() {
        return None;
    }
    // SAFETY: as above.
    let bytes = unsafe { core::ffi::CStr::from_ptr(v) }.to_bytes();
    parse_size(bytes).filter(|&n| (min..=max).contains(&n))
}

/// Parses `123`, `64K`, `32M`, `1G` (powers of 1024).
pub fn parse_size(s: &[u8]) -> Option<usize> {
    let (digits, mult) = match s.last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1usize << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: usize = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((d - b'0') as usize)?;
    }
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size(b"123"), Some(123));
        assert_eq!(parse_size(b"64K"), Some(65536));
        assert_eq!(parse_size(b"32m"), Some(32 << 20));
        assert_eq!(parse_size(b"1G"), Some(1 << 30));
        assert_eq!(parse_size(b""), None);
        assert_eq!(parse_size(b"K"), None);
        assert_eq!(parse_size(b"12x"), None);
        assert_eq!(parse_size(b"99999999999999999999999"), None);
    }
}
