//! Sizes, classes and the boundaries between arena blocks, pool blocks and
//! individually mapped blocks. Pure arithmetic; no state.
//!
//! Glossary: a *chunk* is a block of an arena span including its 8-byte header; its
//! *payload* starts 8 bytes after it and is 16-byte aligned. Chunk sizes are
//! multiples of [`UNIT`] and at least [`MIN_CHUNK`].

/// Chunk size granularity and the alignment every `malloc` result has.
pub const UNIT: usize = 16;
/// Bytes of header in front of every chunk's payload.
pub const HDR: usize = 8;
/// Smallest chunk: a free chunk must hold its header and its list links.
pub const MIN_CHUNK: usize = 32;

/// Arena span size, and its alignment: the span of any chunk is found by masking.
/// 256 KiB keeps the per-span free-start bitmap at 2 KiB (under 1%) and lets span
/// offsets in 16-byte units fit in a `u16`.
pub const SPAN: usize = 256 * 1024;

/// Largest chunk the per-thread cache holds; chunks up to this size have one cache
/// class each (exact sizes, 16 bytes apart).
pub const CACHE_MAX_CHUNK: usize = 1024;
/// Cache classes are indexed by chunk size / 16, so `free` finds the class from a
/// decoded header with no arithmetic, and `malloc` by `(n + 23) / 16`. Class 1
/// (requests of 8 bytes or less) holds 32-byte chunks like class 2: frees go to
/// class 2, and an empty class 1 takes class 2's list whole, or the other way round (`Arena::refill`), so
/// `malloc` needs no minimum. Class 0 is never used; classes above
/// `CACHE_MAX_CHUNK / 16` exist with limit 0, so that `free`'s fast-path test can
/// be one mask (chunk sizes below 2048) instead of a compare.
pub const CLASS_FIRST: usize = 1;
/// Number of cache classes: chunk sizes below 2048 (see [`CLASS_FIRST`]).
pub const NCLASSES: usize = 128;
/// Classes that may hold chunks.
pub const CACHED_CLASSES: core::ops::Range<usize> = CLASS_FIRST..CACHE_MAX_CHUNK / UNIT + 1;
/// Largest request served by the cache's fast path.
pub const CACHE_MAX_REQ: usize = CACHE_MAX_CHUNK - HDR;

/// Largest chunk carved from an arena span; larger requests are pool blocks.
/// Chosen by the `large` and `churn` benchmarks (see the `design` module, "Size boundaries").
pub const ARENA_MAX_CHUNK: usize = 128 * 1024;
/// Largest request served from an arena span.
pub const ARENA_MAX_REQ: usize = ARENA_MAX_CHUNK - HDR;

/// The medium tier of the cache: chunks over [`CACHE_MAX_CHUNK`] up to
/// [`ARENA_MAX_CHUNK`], one list per medium class (see [`medium_class`]):
/// eight per power of two from 1 KiB, and `ARENA_MAX_CHUNK` itself.
pub const MEDIUM_LISTS: usize = 8 * (ARENA_MAX_CHUNK.trailing_zeros() - LOG_FIRST) as usize + 1;
/// Most bytes of chunks the medium tier of one arena holds: this much, or a
/// quarter of the arena's chunks in use if more ([`MEDIUM_SHARE`]); past it,
/// the tier's lists go into the store, the biggest class first, until it holds
/// half of that.
pub const MEDIUM_BYTES: usize = 256 * 1024;
/// The medium tier may hold `1 / MEDIUM_SHARE` of the arena's chunks in use.
pub const MEDIUM_SHARE: usize = 4;

/// The shelf: pool blocks a thread frees are kept, up to [`SHELF_SLOTS`] blocks
/// and [`SHELF_BYTES`] bytes of runs up to [`SHELF_BLOCK_MAX`] each, for its
/// next pool-block allocations of about their size, which take them without
/// the pool lock (see `large`).
pub const SHELF_SLOTS: usize = 8;
pub const SHELF_BYTES: usize = 1024 * 1024;
pub const SHELF_BLOCK_MAX: usize = 264 * 1024;

/// Requests of at least this many bytes get a mapping of their own, unmapped on
/// free (glibc's adaptive mmap threshold tops out at the same 32 MiB).
pub const HUGE_MIN: usize = 32 * 1024 * 1024;

/// Largest request we try to serve; anything above fails with null (and `ENOMEM`).
pub const MAX_REQ: usize = isize::MAX as usize - 2 * SPAN;

/// Chunk size for a request of `n` bytes (`n <= ARENA_MAX_REQ`).
#[inline(always)]
pub const fn chunk_size(n: usize) -> usize {
    let c = (n + HDR + UNIT - 1) & !(UNIT - 1);
    if c < MIN_CHUNK {
        MIN_CHUNK
    } else {
        c
    }
}

/// Cache class of a chunk size (`MIN_CHUNK..=CACHE_MAX_CHUNK`).
#[inline(always)]
pub const fn class_of_chunk(c: usize) -> usize {
    c / UNIT
}

/// Cache class for a request of `n <= CACHE_MAX_REQ` bytes (1 for `n <= 8`).
#[inline(always)]
pub const fn class_of_req(n: usize) -> usize {
    (n + HDR).div_ceil(UNIT)
}

/// Chunk size of a cache class.
#[inline(always)]
pub const fn class_chunk(cls: usize) -> usize {
    if cls * UNIT < MIN_CHUNK {
        MIN_CHUNK
    } else {
        cls * UNIT
    }
}

/// Bytes of chunks the thread cache may hold per class (see [`class_limit`]).
pub const CACHE_BYTES: usize = 64 * 1024;
/// Fewest and most chunks a cache class may hold.
pub const CACHE_MIN_COUNT: u32 = 32;
pub const CACHE_MAX_COUNT: u32 = 2048;

/// A class that overflows may double its limit, up to this many times its
/// [`class_limit`] (8 MiB of chunks, at most 262,144: half of what all may
/// gain), while what the classes
/// have gained by growing stays under [`CACHE_GROWN_MAX`] bytes in all: a
/// program that frees tens of thousands of blocks of one size at a time (a
/// tree or a map dropped, to be built again) keeps them for its next build
/// instead of sending them through the store one by one. Switching the cache
/// off (a sparse arena, a thread's exit) resets every limit.
pub const CACHE_GROW: u32 = 128;
/// Most bytes of room the cache classes may gain by growing, in all (on top of
/// their base limits, 64 KiB each).
pub const CACHE_GROWN_MAX: usize = 16 * 1024 * 1024;

/// How many chunks of a class the thread cache may hold: [`CACHE_BYTES`] worth,
/// within [`CACHE_MIN_COUNT`]..=[`CACHE_MAX_COUNT`] (none for the unused
/// classes).
#[inline(always)]
pub const fn class_limit(cls: usize) -> u32 {
    if cls < CACHED_CLASSES.start || cls >= CACHED_CLASSES.end {
        return 0;
    }
    let n = CACHE_BYTES / class_chunk(cls);
    if n < CACHE_MIN_COUNT as usize {
        CACHE_MIN_COUNT
    } else if n > CACHE_MAX_COUNT as usize {
        CACHE_MAX_COUNT
    } else {
        n as u32
    }
}

// Store bins (size-segregated index over an arena's free chunks): exact bins for
// chunk sizes up to 1 KiB, then four bins per power of two up to the span size.

const EXACT_BINS: usize = CACHE_MAX_CHUNK / UNIT - 1; // 63: sizes 32..=1024
const LOG_FIRST: u32 = 10; // 1 KiB
/// Number of store bins.
pub const NBINS: usize = EXACT_BINS + 4 * (SPAN.trailing_zeros() - LOG_FIRST) as usize;

/// Store bin holding free chunks of size `s` (`MIN_CHUNK <= s < SPAN`).
#[inline(always)]
pub const fn bin_of(s: usize) -> usize {
    if s <= CACHE_MAX_CHUNK {
        s / UNIT - 2
    } else {
        let l = usize::BITS - 1 - s.leading_zeros();
        let sub = (s >> (l - 2)) & 3;
        EXACT_BINS + ((l - LOG_FIRST) as usize) * 4 + sub
    }
}

/// First store bin all of whose chunks are at least `s` bytes.
#[inline(always)]
pub const fn bin_at_least(s: usize) -> usize {
    if s <= CACHE_MAX_CHUNK {
        bin_of(s)
    } else {
        let l = usize::BITS - 1 - s.leading_zeros();
        let step = 1usize << (l - 2);
        let lower = s & !(step - 1);
        if lower == s {
            bin_of(s)
        } else {
            bin_of(lower + step)
        }
    }
}

/// The chunk size a medium request of chunk size `s` (over
/// `CACHE_MAX_CHUNK`, at most `ARENA_MAX_CHUNK`) gets: `s` rounded up to a
/// medium class, eight per power of two (at most an eighth more), except
/// where `s` is a unit over a class bound, a request of exactly a bound's
/// bytes (a power of two among them, as a vector doubling asks), which stays
/// as it is. Every request of a class then gets one size, which the medium
/// tier's list for that class holds.
#[inline(always)]
pub const fn medium_class(s: usize) -> usize {
    // Bounds from 2^l up are 2^(l - 3) apart.
    let x = s - UNIT;
    let step = 1usize << (usize::BITS - 4 - x.leading_zeros());
    if x & (step - 1) == 0 {
        return s;
    }
    let step = 1usize << (usize::BITS - 4 - s.leading_zeros());
    (s + step - 1) & !(step - 1)
}

/// The medium tier's list for chunk size `s` (over `CACHE_MAX_CHUNK`, at
/// most `ARENA_MAX_CHUNK`): that of the largest class bound at most `s`.
#[inline(always)]
pub const fn medium_list(s: usize) -> usize {
    eighth_class(s) - 8 * LOG_FIRST as usize
}

/// The size class of `n` (at least 8) with eight classes to each power of
/// two: eight times its binary logarithm (rounded down) plus the three bits
/// after its leading one.
#[inline(always)]
pub const fn eighth_class(n: usize) -> usize {
    let l = (usize::BITS - 1 - n.leading_zeros()) as usize;
    8 * l + ((n >> (l - 3)) & 7)
}

/// The smallest chunk size medium list `i` holds.
pub const fn medium_list_min(i: usize) -> usize {
    let l = LOG_FIRST as usize + i / 8;
    (1 << l) + (i % 8) * (1 << (l - 3))
}

/// Smallest chunk size a store bin may hold (for checks).
pub const fn bin_min(b: usize) -> usize {
    if b < EXACT_BINS {
        (b + 2) * UNIT
    } else {
        let k = b - EXACT_BINS;
        let l = LOG_FIRST as usize + k / 4;
        (1 << l) + (k % 4) * (1 << (l - 2))
    }
}

/// A 64-bit finaliser (splitmix64's): spreads `x` over all bits.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes_hold_the_request_and_header() {
        for n in 0..=ARENA_MAX_REQ {
            let c = chunk_size(n);
            assert!(c >= n + HDR && c >= MIN_CHUNK && c % UNIT == 0);
            assert!(c < n + HDR + UNIT || c == MIN_CHUNK);
        }
    }

    #[test]
    fn classes_round_trip() {
        for cls in CACHED_CLASSES {
            assert!(cls == 1 || class_of_chunk(class_chunk(cls)) == cls);
            assert!(class_limit(cls) >= CACHE_MIN_COUNT && class_limit(cls) <= CACHE_MAX_COUNT);
        }
        for n in 0..=CACHE_MAX_REQ {
            let cls = class_of_req(n);
            assert!(CACHED_CLASSES.contains(&cls) && class_chunk(cls) == chunk_size(n));
        }
        assert_eq!(class_limit(0), 0);
        assert_eq!(class_limit(CACHED_CLASSES.end), 0);
        assert_eq!(class_of_req(CACHE_MAX_REQ), CACHED_CLASSES.end - 1);
        assert_eq!(class_of_req(0), 1);
    }

    #[test]
    fn bins_are_monotonic_and_fit() {
        let mut last = 0;
        for s in (MIN_CHUNK..SPAN).step_by(UNIT) {
            let b = bin_of(s);
            assert!(b < NBINS, "size {s} bin {b}");
            assert!(b >= last);
            last = b;
            assert!(bin_min(b) <= s, "size {s} bin {b} min {}", bin_min(b));
            // every chunk in bin_at_least(s) or above is big enough
            let a = bin_at_least(s);
            assert!(bin_min(a) >= s, "size {s}: bin {a} min {}", bin_min(a));
            assert!(a == b || a == b + 1);
        }
    }

    #[test]
    fn medium_classes_fit_and_waste_little() {
        let mut classes = 0;
        for s in (CACHE_MAX_CHUNK + UNIT..=ARENA_MAX_CHUNK).step_by(UNIT) {
            let c = medium_class(s);
            assert!(
                c >= s && c <= ARENA_MAX_CHUNK && c % UNIT == 0,
                "{s} -> {c}"
            );
            // At most an eighth more, and a request of a class bound's bytes
            // (a power of two among them; its chunk one unit over) is not
            // rounded at all.
            assert!(c - s <= s / 8, "{s} -> {c}");
            let i = medium_list(s - UNIT);
            if medium_list_min(i) == s - UNIT {
                assert_eq!(c, s);
            } else {
                assert_eq!(c, medium_list_min(medium_list(s - 1) + 1), "{s}");
            }
            // Every request of a class gets the same size, and the class's
            // chunks go on one list, whose chunks all fit the request.
            assert!(medium_class(c) == c, "{s} -> {c} -> {}", medium_class(c));
            let i = medium_list(c);
            assert!(i < MEDIUM_LISTS && medium_list_min(i) <= c);
            assert!(i + 1 == MEDIUM_LISTS || medium_list_min(i + 1) > c);
            classes += (c == s) as usize;
        }
        // The class bounds over 1 KiB up to 128 KiB (eight per power of
        // two), and a unit over each bound from 1 KiB to below 128 KiB.
        assert_eq!(classes, 2 * 8 * 7);
        assert_eq!(medium_list(ARENA_MAX_CHUNK), MEDIUM_LISTS - 1);
    }
}
