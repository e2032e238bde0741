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
