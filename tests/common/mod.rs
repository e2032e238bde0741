//! Helpers shared by the test binaries.
#![allow(dead_code, clippy::disallowed_types, clippy::disallowed_macros)]

/// Small deterministic PRNG (xorshift*), so failures replay.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Resident set size of this process, in KiB.
pub fn rss_kib() -> usize {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// A mebibyte.
pub const MIB: usize = 1 << 20;
/// The page size the pool works in.
pub const PAGE: usize = 4096;

/// Pages of `[p, p + len)` resident in memory (`mincore`; 0 where the range
/// is not mapped).
pub fn resident_pages(p: usize, len: usize) -> usize {
    let mut v = vec![0u8; len / PAGE];
    // SAFETY: v has one byte per page of the range.
    let rc = unsafe { libc::mincore(p as *mut libc::c_void, len, v.as_mut_ptr()) };
    if rc != 0 {
        return 0;
    }
    v.iter().filter(|&&b| b & 1 != 0).count()
}

/// Resident pages of each block of `len` bytes starting at `starts`: its
/// page-aligned whole pages (its header shares the first page).
pub fn resident_blocks(starts: &[usize], len: usize) -> Vec<usize> {
    starts
        .iter()
        .map(|&s| resident_pages((s + PAGE) & !(PAGE - 1), len - 2 * PAGE))
        .collect()
}

/// Lets the page pool's purge passes run: they run at pool frees once the
/// delay (10 ms) has passed; the first marks dirty runs seen, a later one
/// releases those still unchanged. Four rounds of 30 ms, each freeing a
/// 300 KiB (pool) block.
pub fn let_purge_passes_run() {
    for _ in 0..4 {
        std::thread::sleep(std::time::Duration::from_millis(30));
        drop(std::hint::black_box(vec![5u8; 300 << 10]));
    }
}

/// Frees `n` pool blocks of `freed` bytes, each made just before `per`
/// blocks of `live` bytes that stay live (so that the freed ones stay `n`
/// separate free runs), every page touched, after a first big block freed
/// (which switches big blocks from their own mappings to the pool). Returns
/// the freed blocks' starts in address order, and the live blocks.
pub fn free_between_live(
    n: usize,
    freed: usize,
    live: usize,
    per: usize,
) -> (Vec<usize>, Vec<Vec<u8>>) {
    // (Through `black_box`: the compiler may drop an allocation nothing
    // reads, and did here in the debug build.)
    drop(std::hint::black_box(vec![1u8; MIB]));
    let mut gone = Vec::new();
    let mut kept = Vec::new();
    for _ in 0..n {
        gone.push(vec![3u8; freed]);
        for _ in 0..per {
            kept.push(vec![4u8; live]);
        }
    }
    let mut starts: Vec<usize> = gone.iter().map(|v| v.as_ptr() as usize).collect();
    starts.sort_unstable();
    drop(gone);
    (starts, kept)
}

/// A block that knows its own size and checks a pattern derived from it.
pub struct Tagged;
impl Tagged {
    pub fn make(size: usize, seed: u64) -> *mut u8 {
        let v: Vec<u8> = (0..size).map(|i| pat(seed, i)).collect();
        let b = v.into_boxed_slice();
        let p = Box::into_raw(b) as *mut u8;
        let hdr = Box::into_raw(Box::new((p as usize, size, seed)));
        hdr as *mut u8
    }
    pub fn check_and_free(h: *mut u8) {
        // SAFETY: h came from `make` and is freed once.
        let (p, size, seed) = *unsafe { Box::from_raw(h as *mut (usize, usize, u64)) };
        // SAFETY: p/size describe the boxed slice made in `make`.
        let b = unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(p as *mut u8, size)) };
        for (i, &x) in b.iter().enumerate() {
            assert_eq!(x, pat(seed, i), "block of {size} bytes corrupted at {i}");
        }
    }
}
fn pat(seed: u64, i: usize) -> u8 {
    (seed as usize).wrapping_mul(31).wrapping_add(i) as u8
}
