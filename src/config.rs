//! Tunables, read once from the environment (`getenv` does not allocate).
//!
//! | variable | default | range | meaning |
//! |---|---|---|---|
//! | `ARENAPOOL_ARENA_MAX` | 128K | 1K..=128K | largest request carved from an arena span; larger ones are pool blocks |
//! | `ARENAPOOL_HUGE_MIN` | 32M | 1M..=1G | smallest request given a mapping of its own |
//! | `ARENAPOOL_RETAIN` | 32M | 0..=1G | free pool memory always kept for reuse (the bound grows with use, see `pool`) |
//!
//! Sizes take an optional `K`, `M` or `G` suffix (powers of 1024). A value that
//! does not parse or is out of range is ignored (the default stays).

use crate::size;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

static LOADED: AtomicU32 = AtomicU32::new(0);
static ARENA_MAX_REQ: AtomicUsize = AtomicUsize::new(size::ARENA_MAX_REQ);
static HUGE_MIN: AtomicUsize = AtomicUsize::new(size::HUGE_MIN);
/// Default of `ARENAPOOL_RETAIN`.
pub const RETAIN: usize = 32 * 1024 * 1024;
static RETAIN_MIN: AtomicUsize = AtomicUsize::new(RETAIN);

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

/// Free pool bytes always kept.
#[inline]
pub fn retain_min() -> usize {
    RETAIN_MIN.load(Ordering::Relaxed)
}

/// Reads the environment once (racing first callers read it twice, harmlessly).
pub fn load() {
    if LOADED.load(Ordering::Acquire) != 0 {
        return;
    }
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
    LOADED.store(1, Ordering::Release);
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
