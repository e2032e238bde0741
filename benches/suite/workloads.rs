//! The workloads. Each is a function `(threads, scale) -> ops`; it does its work on
//! `threads` threads (plus, for some, a coordinating main thread that does little),
//! and returns how many operations it did (what counts as one is said per workload,
//! and is the same for every allocator, so ops/s compares within a workload).
//!
//! `scale` multiplies the amount of work: 1 for the short preset, 3 for the full one
//! (`--scale N` overrides). At scale 1 the constants below make a one-thread cell
//! take roughly 0.05-0.3 s on the 2-core development machine (`big-replace`, which
//! makes 5-25 MiB buffers, about 1 s).
//!
//! Scaling with threads: most workloads do a fixed amount of work *per thread*
//! (weak scaling: total work grows with the thread count, so on a machine with `c`
//! cores the ideal wall time is flat up to `c` threads and ops/s grows `c`-fold;
//! `xmalloc` does a fixed amount per producer/consumer pair, with T/2 pairs at T
//! threads but one pair, two threads, at T = 1). `rayon` does a fixed amount of
//! work *in total* (strong scaling). `footprint` starts its own threads and ignores
//! the thread count, so it runs at one thread count only. Each workload's `scaling`
//! field says which.
//!
//! Results are checked cheaply: blocks carry a tag at both ends, written on
//! allocation and read back on free ([`Block`]); every thread adds the tags it
//! allocated and the tags it freed to two global sums, which must agree at the end,
//! and a tag whose two copies differ (an overlapping or corrupted block) counts as an
//! error (`xmalloc` also checks a pattern in every byte between the tags). Blocks
//! too small for two tags (`mixed-sizes`, [`Filled`]: a seed beside the block, a
//! pattern in every byte) and big buffers (`big-replace`, [`BigBuf`]: a word per
//! page) are checked their own way and add their tags to the same sums. Workloads that use std collections check a checksum
//! against its expected value. See [`verify`].

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::collections::{HashMap, VecDeque};
use std::hint::black_box;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Barrier;
use std::thread;

use parking_lot::Mutex;

/// How a workload's total work depends on the thread count.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scaling {
    /// Fixed work per thread; threads never touch each other's blocks.
    ThreadLocal,
    /// Fixed work per thread; blocks move between threads.
    PerThreadShared,
    /// Fixed total work, split among the threads.
    Total,
    /// Fixed work on threads the workload starts itself; the thread count is
    /// ignored, so the workload runs at one thread count only (see
    /// [`Scaling::thread_counts`]).
    Own,
}

impl Scaling {
    pub fn describe(self) -> &'static str {
        match self {
            Scaling::ThreadLocal => "thread-local, fixed work per thread",
            Scaling::PerThreadShared => "cross-thread, fixed work per thread",
            Scaling::Total => "fixed total work",
            Scaling::Own => "fixed work on its own threads, run at one thread count only",
        }
    }

    /// The thread counts, of those `requested` (sorted), that a workload of this kind
    /// runs at: all of them, or for [`Scaling::Own`] just the first.
    pub fn thread_counts(self, requested: &[usize]) -> &[usize] {
        match self {
            Scaling::Own => &requested[..requested.len().min(1)],
            _ => requested,
        }
    }
}

pub struct Workload {
    pub name: &'static str,
    pub scaling: Scaling,
    /// What one operation is.
    pub op: &'static str,
    pub run: fn(usize, u64) -> u64,
}

/// All workloads, in report order.
pub const ALL: &[Workload] = &[
    Workload {
        name: "churn-lifo",
        scaling: Scaling::ThreadLocal,
        op: "alloc+free",
        run: churn_lifo,
    },
    Workload {
        name: "churn-fifo",
        scaling: Scaling::ThreadLocal,
        op: "alloc+free",
        run: churn_fifo,
    },
    Workload {
        name: "churn-random",
        scaling: Scaling::ThreadLocal,
        op: "alloc+free",
        run: churn_random,
    },
    Workload {
        name: "churn-medium",
        scaling: Scaling::ThreadLocal,
        op: "alloc+free",
        run: churn_medium,
    },
    Workload {
        name: "mixed-sizes",
        scaling: Scaling::ThreadLocal,
        op: "free+alloc",
        run: mixed_sizes,
    },
    Workload {
        name: "live-100k",
        scaling: Scaling::ThreadLocal,
        op: "alloc+free",
        run: live_100k,
    },
    Workload {
        name: "larson",
        scaling: Scaling::PerThreadShared,
        op: "alloc+free",
        run: larson,
    },
    Workload {
        name: "prodcons",
        scaling: Scaling::PerThreadShared,
        op: "alloc+free",
        run: prodcons,
    },
    Workload {
        name: "xmalloc",
        scaling: Scaling::PerThreadShared,
        op: "block allocated by a producer, freed by its consumer (T/2 pairs; 1 pair at T=1)",
        run: xmalloc,
    },
    Workload {
        name: "false-share-active",
        scaling: Scaling::ThreadLocal,
        op: "object alloc + 500 writes + free",
        run: false_share_active,
    },
    Workload {
        name: "false-share-passive",
        scaling: Scaling::ThreadLocal,
        op: "object alloc + 500 writes + free",
        run: false_share_passive,
    },
    Workload {
        name: "thread-churn",
        scaling: Scaling::PerThreadShared,
        op: "alloc+free",
        run: thread_churn,
    },
    Workload {
        name: "vec-push",
        scaling: Scaling::ThreadLocal,
        op: "push",
        run: vec_push,
    },
    Workload {
        name: "hashmap",
        scaling: Scaling::ThreadLocal,
        op: "insert",
        run: hashmap,
    },
    Workload {
        name: "json",
        scaling: Scaling::ThreadLocal,
        op: "JSON record built, serialized and parsed back",
        run: json,
    },
    Workload {
        name: "regex",
        scaling: Scaling::ThreadLocal,
        op: "log line matched, its fields copied out",
        run: regex_lines,
    },
    Workload {
        name: "large",
        scaling: Scaling::ThreadLocal,
        op: "alloc+touch+free",
        run: large,
    },
    Workload {
        name: "vec-grow",
        scaling: Scaling::ThreadLocal,
        op: "4 KiB appended to a growing buffer",
        run: vec_grow,
    },
    Workload {
        name: "big-replace",
        scaling: Scaling::ThreadLocal,
        op: "5-25 MiB zeroed buffer replaced",
        run: big_replace,
    },
    Workload {
        name: "rayon",
        scaling: Scaling::Total,
        op: "allocation",
        run: rayon_mapreduce,
    },
    Workload {
        name: "footprint",
        scaling: Scaling::Own,
        op: "object made (a Vec<u8> or a HashMap of Strings)",
        run: footprint,
    },
];

pub fn find(name: &str) -> Option<&'static Workload> {
    ALL.iter().find(|w| w.name == name)
}

// ---------------------------------------------------------------------------------
// Checking

static ALLOC_SUM: AtomicU64 = AtomicU64::new(0);
static FREE_SUM: AtomicU64 = AtomicU64::new(0);
static ERRORS: AtomicU64 = AtomicU64::new(0);

/// After a workload: `Ok` if every tagged block was freed intact and every checksum
/// matched, else a description of what went wrong.
pub fn verify() -> Result<(), String> {
    let (a, f, e) = (
        ALLOC_SUM.load(Ordering::SeqCst),
        FREE_SUM.load(Ordering::SeqCst),
        ERRORS.load(Ordering::SeqCst),
    );
    if a == f && e == 0 {
        Ok(())
    } else {
        Err(format!("alloc-sum={a:x},free-sum={f:x},errors={e}"))
    }
}

fn error() {
    ERRORS.fetch_add(1, Ordering::Relaxed);
}

fn expect(got: u64, want: u64) {
    if got != want {
        error();
    }
}

/// Per-thread sums of the tags allocated and freed, added to the global sums when
/// dropped (one atomic add per thread, not per block).
#[derive(Default)]
struct Tally {
    allocated: u64,
    freed: u64,
}

impl Tally {
    #[inline]
    fn alloc(&mut self, size: usize, tag: u64) -> Block {
        self.allocated = self.allocated.wrapping_add(tag);
        Block::new(size, tag)
    }
    #[inline]
    fn free(&mut self, b: Block) {
        self.freed = self.freed.wrapping_add(b.free());
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        ALLOC_SUM.fetch_add(self.allocated, Ordering::Relaxed);
        FREE_SUM.fetch_add(self.freed, Ordering::Relaxed);
    }
}

/// A raw heap block of at least 8 bytes, with a tag in its first and last 8 bytes
/// (just the first 8 for blocks under 16 bytes, where the copies would overlap).
/// Not freed on drop: a workload must hand every block to [`Tally::free`].
pub struct Block {
    ptr: NonNull<u8>,
    size: usize,
}

// SAFETY: a Block owns its memory exclusively, like a Box<[u8]>.
unsafe impl Send for Block {}

impl Block {
    #[inline]
    fn layout(size: usize) -> Layout {
        // Sizes here are small multiples of nothing in particular, align 8: valid.
        match Layout::from_size_align(size, 8) {
            Ok(l) => l,
            Err(_) => unreachable!(),
        }
    }

    /// Offset of the tag's second copy.
    #[inline]
    fn tail(size: usize) -> usize {
        if size >= 16 {
            size - 8
        } else {
            0
        }
    }

    #[inline]
    fn new(size: usize, tag: u64) -> Block {
        debug_assert!(size >= 8);
        let layout = Self::layout(size);
        // SAFETY: layout has non-zero size.
        let p = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(p) else {
            handle_alloc_error(layout)
        };
        // SAFETY: p is valid for `size >= 8` bytes, aligned to 8.
        unsafe {
            p.cast::<u64>().write(tag);
            p.add(Self::tail(size)).cast::<u64>().write_unaligned(tag);
        }
        Block { ptr, size }
    }

    /// Frees the block and returns its tag (counting an error if its copies differ).
    #[inline]
    fn free(self) -> u64 {
        let p = self.ptr.as_ptr();
        // SAFETY: as in `new`; the block is still allocated.
        let (head, tail) = unsafe {
            (
                p.cast::<u64>().read(),
                p.add(Self::tail(self.size)).cast::<u64>().read_unaligned(),
            )
        };
        if head != tail {
            error();
        }
        // SAFETY: allocated by `new` with this layout.
        unsafe { dealloc(p, Self::layout(self.size)) };
        head
    }

    /// The bytes between the tags: after the head copy, up to the tail copy (or the
    /// end, for blocks under 16 bytes, which have no tail copy).
    #[inline]
    fn body(size: usize) -> std::ops::Range<usize> {
        8..if size >= 16 { size - 8 } else { size }
    }

    #[inline]
    fn pattern_byte(tag: u64, i: usize) -> u8 {
        ((tag >> 8) as u8).wrapping_add(i as u8)
    }

    /// Writes a pattern derived from the tag into every byte between the tags.
    #[inline]
    fn write_pattern(&mut self) {
        let p = self.ptr.as_ptr();
        // SAFETY: p is valid for `size` bytes, and aligned to 8.
        let tag = unsafe { p.cast::<u64>().read() };
        for i in Self::body(self.size) {
            // SAFETY: i < size.
            unsafe { p.add(i).write(Self::pattern_byte(tag, i)) };
        }
    }

    /// Whether the bytes between the tags still hold [`Block::write_pattern`]'s
    /// pattern (for the tag in the head copy).
    #[inline]
    fn pattern_intact(&self) -> bool {
        let p = self.ptr.as_ptr();
        // SAFETY: as in `write_pattern`.
        let tag = unsafe { p.cast::<u64>().read() };
        let mut diff = 0u8;
        for i in Self::body(self.size) {
            // SAFETY: i < size.
            diff |= unsafe { p.add(i).read() } ^ Self::pattern_byte(tag, i);
        }
        diff == 0
    }

    /// Writes every byte of the block (the tags are rewritten after).
    #[inline]
    fn fill(&mut self, byte: u8) {
        let p = self.ptr.as_ptr();
        // SAFETY: p is valid for `size` bytes.
        unsafe {
            let tag = p.cast::<u64>().read();
            p.write_bytes(byte, self.size);
            p.cast::<u64>().write(tag);
            p.add(Self::tail(self.size))
                .cast::<u64>()
                .write_unaligned(tag);
        }
    }
}

// ---------------------------------------------------------------------------------
// Helpers

/// xorshift64*: fast, good enough for picking sizes and indices.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    #[inline]
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `0..n` (n > 0), by multiply-shift.
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
    /// Log-uniform-ish in `lo..=hi` (powers of two `lo`, `hi`): a random power-of-two
    /// class, then uniform within it. Small sizes are as common as large classes.
    #[inline]
    pub fn log_size(&mut self, lo: usize, hi: usize) -> usize {
        let classes = (hi / lo).trailing_zeros() as usize; // hi = lo << classes
        let base = lo << self.below(classes);
        base + self.below(base + 1)
    }
}

/// Small-block sizes, 8 B ..= 1 KiB.
#[inline]
fn small(rng: &mut Rng) -> usize {
    rng.log_size(8, 1024)
}

/// Runs `f(i)` on threads `0..n` (scoped) and returns the sum of their results.
fn on_threads(n: usize, f: impl Fn(usize) -> u64 + Sync) -> u64 {
    let f = &f;
    thread::scope(|s| {
        let hs: Vec<_> = (0..n).map(|i| s.spawn(move || f(i))).collect();
        hs.into_iter()
            .map(|h| h.join().expect("worker thread panicked"))
            .sum()
    })
}

// ---------------------------------------------------------------------------------
// 1. Small-block churn (thread-local, fixed work per thread).
//
// Each thread keeps a window of WINDOW live blocks of 8 B..1 KiB and repeatedly frees
// BATCH of them and allocates BATCH new ones, the freed ones chosen in LIFO order
// (the youngest), FIFO order (the oldest) or at random. One op = one alloc + free.

const CHURN_WINDOW: usize = 2000;
const CHURN_BATCH: usize = 64;
const CHURN_OPS: u64 = 6_000_000;

#[derive(Clone, Copy)]
enum Order {
    Lifo,
    Fifo,
    Random,
}

fn churn(threads: usize, scale: u64, order: Order) -> u64 {
    on_threads(threads, |t| {
        let mut rng = Rng::new(t as u64 + 1);
        let mut tally = Tally::default();
        let mut live: VecDeque<Block> = VecDeque::with_capacity(CHURN_WINDOW + CHURN_BATCH);
        for _ in 0..CHURN_WINDOW {
            let s = small(&mut rng);
            live.push_back(tally.alloc(s, rng.next()));
        }
        let rounds = CHURN_OPS * scale / CHURN_BATCH as u64;
        for _ in 0..rounds {
            match order {
                Order::Lifo => {
                    for _ in 0..CHURN_BATCH {
                        tally.free(live.pop_back().unwrap());
                    }
                    for _ in 0..CHURN_BATCH {
                        let s = small(&mut rng);
                        live.push_back(tally.alloc(s, rng.next()));
                    }
                }
                Order::Fifo => {
                    for _ in 0..CHURN_BATCH {
                        tally.free(live.pop_front().unwrap());
                    }
                    for _ in 0..CHURN_BATCH {
                        let s = small(&mut rng);
                        live.push_back(tally.alloc(s, rng.next()));
                    }
                }
                Order::Random => {
                    // Free a batch of random blocks (swap-remove), then refill.
                    for _ in 0..CHURN_BATCH {
                        let i = rng.below(live.len());
                        tally.free(live.swap_remove_back(i).unwrap());
                    }
                    for _ in 0..CHURN_BATCH {
                        let s = small(&mut rng);
                        live.push_back(tally.alloc(s, rng.next()));
                    }
                }
            }
        }
        for b in live {
            tally.free(b);
        }
        rounds * CHURN_BATCH as u64 + CHURN_WINDOW as u64
    })
}

fn churn_lifo(threads: usize, scale: u64) -> u64 {
    churn(threads, scale, Order::Lifo)
}
fn churn_fifo(threads: usize, scale: u64) -> u64 {
    churn(threads, scale, Order::Fifo)
}
fn churn_random(threads: usize, scale: u64) -> u64 {
    churn(threads, scale, Order::Random)
}

/// Medium-block churn (thread-local, fixed work per thread): a window of MED_WINDOW
/// live blocks of 1 KiB..256 KiB (log-uniform), a random one replaced at a time.
/// These sizes straddle the boundary between arena chunks and pool blocks, so this
/// is the workload that places that boundary. One op = one alloc + free.
const MED_WINDOW: usize = 256;
const MED_OPS: u64 = 400_000;

fn churn_medium(threads: usize, scale: u64) -> u64 {
    on_threads(threads, |t| {
        let mut rng = Rng::new(50 + t as u64);
        let mut tally = Tally::default();
        let mut live: Vec<Block> = (0..MED_WINDOW)
            .map(|_| {
                let s = rng.log_size(1024, 256 * 1024);
                tally.alloc(s, rng.next())
            })
            .collect();
        for _ in 0..MED_OPS * scale {
            let s = rng.log_size(1024, 256 * 1024);
            let b = tally.alloc(s, rng.next());
            let i = rng.below(MED_WINDOW);
            tally.free(std::mem::replace(&mut live[i], b));
        }
        for b in live {
            tally.free(b);
        }
        MED_OPS * scale
    })
}

/// mixed-sizes (thread-local, fixed work per thread): MS_LIVE live blocks of 4 B to
/// 32 KiB, one at random replaced per step (freed, then a new one allocated). Sizes
/// are multiples of 4, `4 * k` with `k = floor(1/u)` for `u` uniform in (0, 1],
/// clipped to MS_MAX_K: P(k) = 1/(k(k+1)), an inverse-square law (half the blocks
/// are 4 B, a sixth 8 B, one in 12 12 B, ...; about 1 in 1,000 is over 4 KiB and 1
/// in 8,192 is 32 KiB; the mean is 4 H(8192), about 38 B). Every byte of a block
/// holds a pattern from a seed kept beside it, written on allocation and checked
/// on free ([`Filled`]). One op = one free + one alloc.
const MS_LIVE: usize = 1024;
const MS_OPS: u64 = 3_000_000;
const MS_MAX_K: u64 = 32 * 1024 / 4;

#[inline]
fn ms_size(rng: &mut Rng) -> usize {
    // u = (r + 1) / 2^53, so floor(1/u) = floor(2^53 / (r + 1)), in integers.
    let r = rng.next() >> 11;
    4 * ((1u64 << 53) / (r + 1)).min(MS_MAX_K) as usize
}

/// A raw heap block of any size (4 bytes and up here), too small for [`Block`]'s
/// tags: its seed is kept beside it and every byte holds a pattern derived from the
/// seed. The seeds go into a [`Tally`] like tags do. Not freed on drop: a workload
/// must hand every one to [`Filled::free`].
struct Filled {
    ptr: NonNull<u8>,
    size: usize,
    seed: u64,
}

impl Filled {
    #[inline]
    fn layout(size: usize) -> Layout {
        // Align 8, as malloc would give a block this small: valid for any size.
        match Layout::from_size_align(size, 8) {
            Ok(l) => l,
            Err(_) => unreachable!(),
        }
    }

    #[inline]
    fn byte(seed: u64, i: usize) -> u8 {
        (seed as u8).wrapping_add(i as u8)
    }

    #[inline]
    fn new(tally: &mut Tally, size: usize, seed: u64) -> Filled {
        debug_assert!(size > 0);
        let layout = Self::layout(size);
        // SAFETY: layout has non-zero size.
        let p = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(p) else {
            handle_alloc_error(layout)
        };
        // SAFETY: p is valid for `size` bytes.
        let bytes = unsafe { std::slice::from_raw_parts_mut(p, size) };
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = Self::byte(seed, i);
        }
        tally.allocated = tally.allocated.wrapping_add(seed);
        Filled { ptr, size, seed }
    }

    /// Checks the pattern (an error if any byte differs) and frees the block.
    #[inline]
    fn free(self, tally: &mut Tally) {
        let p = self.ptr.as_ptr();
        // SAFETY: still allocated, valid for `size` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(p, self.size) };
        let diff = bytes
            .iter()
            .enumerate()
            .fold(0u8, |d, (i, &b)| d | (b ^ Self::byte(self.seed, i)));
        if diff != 0 {
            error();
        }
        tally.freed = tally.freed.wrapping_add(self.seed);
        // SAFETY: allocated by `new` with this layout.
        unsafe { dealloc(p, Self::layout(self.size)) };
    }
}

fn mixed_sizes(threads: usize, scale: u64) -> u64 {
    on_threads(threads, |t| {
        let mut rng = Rng::new(60 + t as u64);
        let mut tally = Tally::default();
        let mut live: Vec<Filled> = (0..MS_LIVE)
            .map(|_| {
                let s = ms_size(&mut rng);
                Filled::new(&mut tally, s, rng.next())
            })
            .collect();
        for _ in 0..MS_OPS * scale {
            let i = rng.below(MS_LIVE);
            let s = ms_size(&mut rng);
            let seed = rng.next();
            // Free first, then allocate: the new block may reuse the old one's memory.
            live.swap_remove(i).free(&mut tally);
            live.push(Filled::new(&mut tally, s, seed));
        }
        for b in live {
            b.free(&mut tally);
        }
        MS_OPS * scale
    })
}

// ---------------------------------------------------------------------------------
// 2. live-100k (thread-local, fixed work per thread): allocate 100,000 blocks of
// mixed small sizes (8..256 B), then free them all in random order; repeat. With
// address-ordered free lists every free is a sorted insertion into a long list.
// One op = one alloc + free.

const LIVE_BLOCKS: usize = 100_000;
const LIVE_ROUNDS: u64 = 6;

fn live_100k(threads: usize, scale: u64) -> u64 {
    on_threads(threads, |t| {
        let mut rng = Rng::new(100 + t as u64);
        let mut tally = Tally::default();
        let mut live: Vec<Block> = Vec::with_capacity(LIVE_BLOCKS);
        for _ in 0..LIVE_ROUNDS * scale {
            for _ in 0..LIVE_BLOCKS {
                let s = rng.log_size(8, 256);
                live.push(tally.alloc(s, rng.next()));
            }
            // Fisher-Yates, then free in that order.
            for i in (1..live.len()).rev() {
                live.swap(i, rng.below(i + 1));
            }
            for b in live.drain(..) {
                tally.free(b);
            }
        }
        LIVE_ROUNDS * scale * LIVE_BLOCKS as u64
    })
}

// ---------------------------------------------------------------------------------
// 3. larson (cross-thread, fixed work per thread), after Larson & Krishnan's server
// simulation: a shared pool holds 2 x threads arrays of LARSON_SLOTS live blocks
// (16 B..512 B). A thread takes the array at the head of the pool, replaces
// LARSON_STEP random blocks in it (free + alloc), and puts it back at the tail; the
// next array it takes was most likely last worked on by another thread, so blocks are
// freed by threads that did not allocate them. One op = one alloc + free.

const LARSON_SLOTS: usize = 1000;
const LARSON_STEP: usize = 500;
const LARSON_OPS: u64 = 8_000_000;

fn larson(threads: usize, scale: u64) -> u64 {
    let pool: Mutex<VecDeque<Vec<Block>>> = Mutex::new(VecDeque::new());
    {
        let mut tally = Tally::default();
        let mut rng = Rng::new(7);
        let mut p = pool.lock();
        for _ in 0..2 * threads {
            let arr = (0..LARSON_SLOTS)
                .map(|_| {
                    let s = rng.log_size(16, 512);
                    tally.alloc(s, rng.next())
                })
                .collect();
            p.push_back(arr);
        }
    }
    let steps = LARSON_OPS * scale / LARSON_STEP as u64;
    let ops = on_threads(threads, |t| {
        let mut rng = Rng::new(200 + t as u64);
        let mut tally = Tally::default();
        for _ in 0..steps {
            let mut arr = pool.lock().pop_front().expect("larson pool empty");
            for _ in 0..LARSON_STEP {
                let i = rng.below(LARSON_SLOTS);
                let s = rng.log_size(16, 512);
                let nb = tally.alloc(s, rng.next());
                tally.free(std::mem::replace(&mut arr[i], nb));
            }
            pool.lock().push_back(arr);
        }
        steps * LARSON_STEP as u64
    });
    let mut tally = Tally::default();
    for arr in pool.into_inner() {
        for b in arr {
            tally.free(b);
        }
    }
    ops
}

// ---------------------------------------------------------------------------------
// 4. prodcons (cross-thread, fixed work per thread): threads pair up; in each pair a
// producer allocates and fills batches of PC_BATCH blocks (16 B..1 KiB) and sends
// them through a bounded channel (PC_QUEUE batches) to its consumer, which frees
// them: every free is cross-thread. With an odd thread count the odd one out (and
// with one thread, the only one) plays both roles, alternating batch by batch.
// One op = one alloc + free.

const PC_BATCH: usize = 256;
const PC_QUEUE: usize = 4;
const PC_OPS: u64 = 4_800_000;

fn produce(rng: &mut Rng, tally: &mut Tally) -> Vec<Block> {
    let mut batch = Vec::with_capacity(PC_BATCH);
    for _ in 0..PC_BATCH {
        let s = rng.log_size(16, 1024);
        let mut b = tally.alloc(s, rng.next());
        b.fill(s as u8);
        batch.push(b);
    }
    batch
}

fn prodcons(threads: usize, scale: u64) -> u64 {
    let batches = PC_OPS * scale / PC_BATCH as u64;
    let pairs = threads / 2;
    let solo = threads % 2 == 1;
    thread::scope(|s| {
        for p in 0..pairs {
            let (tx, rx) = sync_channel::<Vec<Block>>(PC_QUEUE);
            s.spawn(move || {
                let mut rng = Rng::new(300 + p as u64);
                let mut tally = Tally::default();
                // Each pair is two threads' worth of work: 2 x batches.
                for _ in 0..2 * batches {
                    tx.send(produce(&mut rng, &mut tally))
                        .expect("consumer gone");
                }
            });
            s.spawn(move || {
                let mut tally = Tally::default();
                for batch in rx {
                    for b in batch {
                        tally.free(b);
                    }
                }
            });
        }
        if solo {
            s.spawn(move || {
                let mut rng = Rng::new(399);
                let mut tally = Tally::default();
                for _ in 0..batches {
                    let batch = produce(&mut rng, &mut tally);
                    for b in batch {
                        tally.free(b);
                    }
                }
            });
        }
    });
    (2 * pairs as u64 + solo as u64) * batches * PC_BATCH as u64
}

// ---------------------------------------------------------------------------------
// 4b. xmalloc (cross-thread, fixed work per producer/consumer pair), after
// xmalloc-test: one thread allocates, another frees. With T threads, T/2 pairs (with
// an odd T the odd one out stays idle); at T = 1 one pair, two threads, runs anyway,
// so the 1- and 2-thread cells do the same work on the same two threads. In each
// pair the producer allocates blocks of 8..=64 B (uniform), tags them and fills them
// with a pattern ([`Block::write_pattern`]), and hands them over in batches of
// XM_BATCH through a bounded channel (XM_QUEUE batches deep) to its consumer, which
// checks every block's pattern and tags and frees it. Unlike `prodcons`, the blocks
// are all tiny and every byte is checked. Each pair moves XM_OPS blocks (x scale).
// One op = one block allocated (by the producer) and freed (by the consumer).

const XM_BATCH: usize = 64;
const XM_QUEUE: usize = 16;
const XM_OPS: u64 = 1_000_000;

fn xmalloc(threads: usize, scale: u64) -> u64 {
    let pairs = (threads / 2).max(1);
    let batches = XM_OPS * scale / XM_BATCH as u64;
    thread::scope(|s| {
        for p in 0..pairs {
            let (tx, rx) = sync_channel::<Vec<Block>>(XM_QUEUE);
            s.spawn(move || {
                let mut rng = Rng::new(350 + p as u64);
                let mut tally = Tally::default();
                for _ in 0..batches {
                    let mut batch = Vec::with_capacity(XM_BATCH);
                    for _ in 0..XM_BATCH {
                        let size = 8 + rng.below(57);
                        let mut b = tally.alloc(size, rng.next());
                        b.write_pattern();
                        batch.push(b);
                    }
                    tx.send(batch).expect("xmalloc consumer gone");
                }
            });
            s.spawn(move || {
                let mut tally = Tally::default();
                let mut blocks = 0u64;
                for batch in rx {
                    for b in batch {
                        if !b.pattern_intact() {
                            error();
                        }
                        tally.free(b);
                        blocks += 1;
                    }
                }
                expect(blocks, batches * XM_BATCH as u64);
            });
        }
    });
    pairs as u64 * batches * XM_BATCH as u64
}

// ---------------------------------------------------------------------------------
// 5. False sharing, after Berger et al.'s Hoard tests (thread-local, fixed work per
// thread). `active`: each thread repeatedly allocates a small object, writes every
// byte of it FS_WRITES times, and frees it; the sizes cycle 8, 16, .., 64 B, in the
// same order on every thread. `passive`: the main thread first allocates one 8-byte
// object per worker (likely neighbours on one cache line) and hands one to each; the
// worker frees it, then does the same as in `active` (its first object is 8 bytes, so
// an allocator that reuses the freed block gives it straight back). An
// allocator that gives different threads blocks on one cache line makes the writes
// bounce the line between cores. One op = one pass writing an object.

const FS_OBJECTS: u64 = 16_000;
const FS_WRITES: u64 = 500;

fn write_object(i: u64, rng: &mut Rng, tally: &mut Tally) {
    let size = 8 * (1 + i as usize % 8);
    let b = tally.alloc(size, rng.next());
    let p = b.ptr.as_ptr();
    for _ in 0..FS_WRITES {
        // Every byte, the tags included (restored below); volatile, so every
        // read-modify-write really goes to memory.
        for k in 0..size {
            // SAFETY: k < size; volatile keeps each store.
            unsafe {
                let q = p.add(k);
                let v = q.read_volatile();
                q.write_volatile(v.wrapping_add(1));
            }
        }
    }
    // Undo the FS_WRITES increments (mod 256) so the tags read back intact.
    for k in 0..size {
        // SAFETY: as above.
        unsafe {
            let q = p.add(k);
            q.write_volatile(q.read_volatile().wrapping_sub(FS_WRITES as u8));
        }
    }
    tally.free(b);
}

fn false_share_active(threads: usize, scale: u64) -> u64 {
    let barrier = Barrier::new(threads);
    on_threads(threads, |t| {
        let mut rng = Rng::new(400 + t as u64);
        let mut tally = Tally::default();
        barrier.wait();
        for i in 0..FS_OBJECTS * scale {
            write_object(i, &mut rng, &mut tally);
        }
        FS_OBJECTS * scale
    })
}

fn false_share_passive(threads: usize, scale: u64) -> u64 {
    let mut tally = Tally::default();
    let mut rng = Rng::new(500);
    let handed: Vec<Block> = (0..threads).map(|_| tally.alloc(8, rng.next())).collect();
    let handed: Vec<Mutex<Option<Block>>> =
        handed.into_iter().map(|b| Mutex::new(Some(b))).collect();
    let barrier = Barrier::new(threads);
    let ops = on_threads(threads, |t| {
        let mut rng = Rng::new(600 + t as u64);
        let mut tally = Tally::default();
        let b = handed[t].lock().take().unwrap();
        tally.free(b);
        barrier.wait();
        for i in 0..FS_OBJECTS * scale {
            write_object(i, &mut rng, &mut tally);
        }
        FS_OBJECTS * scale
    });
    black_box(&handed);
    ops
}

// ---------------------------------------------------------------------------------
// 6. thread-churn (cross-thread, fixed work per thread): TC_GENERATIONS rounds; in
// each, `threads` fresh threads start, each takes the blocks left to it by the
// thread of the same index in the previous generation, frees half of them, allocates
// TC_BLOCKS new ones (16 B..1 KiB), does some churn, leaves half of its live blocks to
// the next generation, frees the rest and exits. Blocks thus outlive the threads
// that allocated them. One op = one alloc + free.

const TC_GENERATIONS: u64 = 160;
const TC_BLOCKS: usize = 5_000;
const TC_CHURN: usize = 10_000;

fn thread_churn(threads: usize, scale: u64) -> u64 {
    let mut inherit: Vec<Vec<Block>> = (0..threads).map(|_| Vec::new()).collect();
    let mut ops = 0;
    for g in 0..TC_GENERATIONS * scale {
        let next: Vec<(Vec<Block>, u64)> = thread::scope(|s| {
            let hs: Vec<_> = inherit
                .drain(..)
                .enumerate()
                .map(|(t, mut old)| {
                    s.spawn(move || {
                        let mut rng = Rng::new(g * 1000 + t as u64);
                        let mut tally = Tally::default();
                        let mut ops = 0u64;
                        // Free every other inherited block.
                        let mut live = Vec::with_capacity(TC_BLOCKS + old.len());
                        for (i, b) in old.drain(..).enumerate() {
                            if i % 2 == 0 {
                                tally.free(b);
                            } else {
                                live.push(b);
                            }
                        }
                        for _ in 0..TC_BLOCKS {
                            let s = rng.log_size(16, 1024);
                            live.push(tally.alloc(s, rng.next()));
                            ops += 1;
                        }
                        for _ in 0..TC_CHURN {
                            let i = rng.below(live.len());
                            let s = rng.log_size(16, 1024);
                            let nb = tally.alloc(s, rng.next());
                            tally.free(std::mem::replace(&mut live[i], nb));
                            ops += 1;
                        }
                        // Leave half (the odd ones) to the next generation.
                        let mut keep = Vec::with_capacity(live.len() / 2 + 1);
                        for (i, b) in live.into_iter().enumerate() {
                            if i % 2 == 1 {
                                keep.push(b);
                            } else {
                                tally.free(b);
                            }
                        }
                        (keep, ops)
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().expect("thread-churn worker panicked"))
                .collect()
        });
        for (keep, n) in next {
            inherit.push(keep);
            ops += n;
        }
    }
    let mut tally = Tally::default();
    for b in inherit.into_iter().flatten() {
        tally.free(b);
    }
    ops
}

// ---------------------------------------------------------------------------------
// 7a. vec-push (thread-local, fixed work per thread): build Vec<u64>s and Strings of
// random lengths (up to 1024 elements / 2 KiB) by pushing, so they grow by realloc;
// a window of VP_LIVE of them stays alive so that growth happens among other live
// blocks. One op = one push.

const VP_ROUNDS: u64 = 60_000;
const VP_LIVE: usize = 64;

fn vec_push(threads: usize, scale: u64) -> u64 {
    on_threads(threads, |t| {
        let mut rng = Rng::new(700 + t as u64);
        let mut vecs: Vec<Vec<u64>> = (0..VP_LIVE).map(|_| Vec::new()).collect();
        let mut strs: Vec<String> = (0..VP_LIVE).map(|_| String::new()).collect();
        let (mut ops, mut got, mut want) = (0u64, 0u64, 0u64);
        for _ in 0..VP_ROUNDS * scale {
            let i = rng.below(VP_LIVE);
            let n = 1 + rng.below(1024);
            let mut v = Vec::new();
            for k in 0..n as u64 {
                v.push(k);
            }
            got = got.wrapping_add(v.iter().sum::<u64>());
            want = want.wrapping_add((n as u64) * (n as u64 - 1) / 2);
            vecs[i] = black_box(v);
            let m = 1 + rng.below(2048 / 8);
            let mut s = String::new();
            for _ in 0..m {
                s.push_str("abcdefgh");
            }
            got = got.wrapping_add(s.len() as u64);
            want = want.wrapping_add(8 * m as u64);
            strs[i] = black_box(s);
            ops += (n + m) as u64;
        }
        expect(got, want);
        ops
    })
}

// 7b. hashmap (thread-local, fixed work per thread): build a HashMap<u64, String>
// of HM_ENTRIES entries (values are the keys in decimal), look every key up, drop
// the map; repeat. One op = one insert.

const HM_ENTRIES: u64 = 50_000;
const HM_ROUNDS: u64 = 15;

fn hashmap(threads: usize, scale: u64) -> u64 {
    on_threads(threads, |t| {
        let mut rng = Rng::new(800 + t as u64);
        let (mut got, mut want) = (0u64, 0u64);
        for _ in 0..HM_ROUNDS * scale {
            let base = rng.next() >> 20;
            let mut m: HashMap<u64, String> = HashMap::new();
            for k in 0..HM_ENTRIES {
                m.insert(base + k, (base + k).to_string());
            }
            for k in 0..HM_ENTRIES {
                got = got.wrapping_add(m[&(base + k)].len() as u64);
                want = want.wrapping_add(decimal_len(base + k));
            }
            drop(black_box(m));
        }
        expect(got, want);
        HM_ROUNDS * scale * HM_ENTRIES
    })
}

fn decimal_len(mut x: u64) -> u64 {
    let mut n = 1;
    while x >= 10 {
        x /= 10;
        n += 1;
    }
    n
}

// ---------------------------------------------------------------------------------
// 7c. json (thread-local, fixed work per thread), on serde_json: build a document of
// JSON_RECORDS records (each an object of a number, two strings, an array of 1-8
// strings and a nested object), serialize it to a String, parse the text back into
// a `Value`, and check that it equals the document; repeat. One op = one record
// built, serialized and parsed.

const JSON_RECORDS: u64 = 500;
const JSON_DOCS: u64 = 60;

fn json_record(rng: &mut Rng, i: u64) -> serde_json::Value {
    use serde_json::{Map, Value};
    let tags = (0..1 + rng.below(8))
        .map(|k| Value::String(format!("tag-{}", rng.next() % 1000 + k as u64)))
        .collect();
    let mut inner = Map::new();
    inner.insert("x".into(), Value::from(rng.below(1 << 20) as u64));
    inner.insert("label".into(), Value::String("q".repeat(1 + rng.below(40))));
    let mut rec = Map::new();
    rec.insert("id".into(), Value::from(i));
    rec.insert("name".into(), Value::String(format!("user{i:08}")));
    rec.insert(
        "email".into(),
        Value::String(format!("u{}@example.org", rng.next() % 100_000)),
    );
    rec.insert("tags".into(), Value::Array(tags));
    rec.insert("inner".into(), Value::Object(inner));
    Value::Object(rec)
}

fn json(threads: usize, scale: u64) -> u64 {
    on_threads(threads, |t| {
        let mut rng = Rng::new(900 + t as u64);
        for _ in 0..JSON_DOCS * scale {
            let doc = serde_json::Value::Array(
                (0..JSON_RECORDS)
                    .map(|i| json_record(&mut rng, i))
                    .collect(),
            );
            let text = serde_json::to_string(&doc).expect("serialize");
            let back: serde_json::Value = serde_json::from_str(&text).expect("parse");
            expect((back == doc) as u64, 1);
            drop(black_box((doc, text, back)));
        }
        JSON_DOCS * scale * JSON_RECORDS
    })
}

// ---------------------------------------------------------------------------------
// 7d. regex (thread-local, fixed work per thread), on the regex crate: compile three
// patterns (a program building its matchers from configuration; compiling
// allocates the most), generate REGEX_LINES log lines, match each and copy its
// fields out into owned Strings, counting the lines of each kind against the
// counts generated; repeat. One op = one line matched.

const REGEX_LINES: u64 = 4_000;
const REGEX_ROUNDS: u64 = 12;

// Compiling in the loop is the point: it is where regex allocates most.
#[allow(clippy::regex_creation_in_loops)]
fn regex_lines(threads: usize, scale: u64) -> u64 {
    use regex::Regex;
    on_threads(threads, |t| {
        let mut rng = Rng::new(1000 + t as u64);
        let (mut got, mut want) = (0u64, 0u64);
        for round in 0..REGEX_ROUNDS * scale {
            let get = Regex::new(&format!(
                r"^(\d+\.\d+\.\d+\.\d+) - (\w+) \[(\d+)\] GET (/[a-z0-9/]*) {round}$"
            ))
            .expect("pattern");
            let post =
                Regex::new(r"^(\d+\.\d+\.\d+\.\d+) - (\w+) \[(\d+)\] POST (/\S+) (\d+) bytes$")
                    .expect("pattern");
            let word = Regex::new(r"\b[A-Z][a-z]+\b").expect("pattern");
            let mut fields: Vec<String> = Vec::new();
            for i in 0..REGEX_LINES {
                let ip = format!(
                    "10.{}.{}.{}",
                    rng.below(256),
                    rng.below(256),
                    rng.below(256)
                );
                let line = match rng.below(3) {
                    0 => format!(
                        "{ip} - user{} [{i}] GET /api/v{}/item/{} {round}",
                        rng.below(99),
                        rng.below(3),
                        rng.next() % 100_000
                    ),
                    1 => format!(
                        "{ip} - svc [{i}] POST /upload/{} {} bytes",
                        rng.below(1000),
                        rng.below(1 << 20)
                    ),
                    _ => format!(
                        "Warning Disk {} Almost Full on Host{}",
                        rng.below(9),
                        rng.below(9)
                    ),
                };
                want += 1;
                if let Some(c) = get.captures(&line) {
                    fields.extend(c.iter().skip(1).flatten().map(|m| m.as_str().to_owned()));
                    got += 1;
                } else if let Some(c) = post.captures(&line) {
                    fields.extend(c.iter().skip(1).flatten().map(|m| m.as_str().to_owned()));
                    got += 1;
                } else {
                    let words: Vec<&str> = word.find_iter(&line).map(|m| m.as_str()).collect();
                    got += (words.len() >= 4) as u64;
                }
                if fields.len() > 1024 {
                    fields.clear();
                }
            }
            drop(black_box((get, post, word, fields)));
        }
        expect(got, want);
        REGEX_ROUNDS * scale * REGEX_LINES
    })
}

// ---------------------------------------------------------------------------------
// 8. large (thread-local, fixed work per thread): blocks of 64 KiB..32 MiB,
// log-distributed; each is allocated, one byte written per 4 KiB page, and put in a
// window of LARGE_LIVE live blocks, replacing (freeing) a random one. One op = one
// block allocated, touched and (eventually) freed.

const LARGE_OPS: u64 = 100;
const LARGE_LIVE: usize = 2;

fn large(threads: usize, scale: u64) -> u64 {
    on_threads(threads, |t| {
        let mut rng = Rng::new(900 + t as u64);
        let mut tally = Tally::default();
        let mut live: Vec<Block> = Vec::with_capacity(LARGE_LIVE);
        for _ in 0..LARGE_OPS * scale {
            // Log-uniform over 2^16..2^25 (a random exponent, then a random mantissa).
            let e = 16 + rng.below(9);
            let size = (1usize << e) + rng.below(1 << e) / 4096 * 4096;
            let b = tally.alloc(size, rng.next());
            let p = b.ptr.as_ptr();
            let mut off = 4096;
            while off + 8 < size {
                // SAFETY: off < size - 8; between the tags.
                unsafe { p.add(off).write_volatile(1) };
                off += 4096;
            }
            if live.len() < LARGE_LIVE {
                live.push(b);
            } else {
                let i = rng.below(LARGE_LIVE);
                tally.free(std::mem::replace(&mut live[i], b));
            }
        }
        for b in live {
            tally.free(b);
        }
        LARGE_OPS * scale
    })
}

// ---------------------------------------------------------------------------------
// 8a. vec-grow (thread-local, fixed work per thread): big buffers built by
// appending, as a program reads a file or serializes a document into a Vec<u8>.
// Each thread keeps VG_LIVE buffers; VG_ROUNDS times (x scale) it replaces a
// random one with a new Vec<u8> grown from empty by 4 KiB appends to 256 KiB ..
// 8 MiB (log-uniform), so it doubles by realloc through the sizes the page pool
// serves, among live buffers. Every append writes a tag-derived page; the whole
// buffer is checked when it is dropped. One op = one 4 KiB append.

const VG_LIVE: usize = 4;
const VG_ROUNDS: u64 = 60;
const VG_PIECE: usize = 4096;

/// The byte at `i` of a `vec-grow` buffer made with `tag`.
#[inline]
fn vg_byte(tag: u64, i: usize) -> u8 {
    (tag as usize).wrapping_add(i / VG_PIECE * 7 + i % 251) as u8
}

/// A buffer of at least `size` bytes grown by VG_PIECE appends.
fn vg_make(size: usize, tag: u64) -> Vec<u8> {
    let mut v = Vec::new();
    let mut piece = [0u8; VG_PIECE];
    while v.len() < size {
        let at = v.len();
        for (k, b) in piece.iter_mut().enumerate() {
            *b = vg_byte(tag, at + k);
        }
        v.extend_from_slice(&piece);
    }
    v
}

/// Whether `v` still holds what `vg_make` put there (every page's first and
/// last byte: the pages a realloc moved or kept in place).
fn vg_intact(v: &[u8], tag: u64) -> bool {
    (0..v.len())
        .step_by(VG_PIECE)
        .all(|i| v[i] == vg_byte(tag, i) && v[i + VG_PIECE - 1] == vg_byte(tag, i + VG_PIECE - 1))
}

fn vec_grow(threads: usize, scale: u64) -> u64 {
    on_threads(threads, |t| {
        let mut rng = Rng::new(900 + t as u64);
        let mut live: Vec<(Vec<u8>, u64)> = (0..VG_LIVE).map(|_| (Vec::new(), 0)).collect();
        let mut ops = 0u64;
        for _ in 0..VG_ROUNDS * scale {
            let size = rng.log_size(256 << 10, 8 << 20);
            let tag = rng.next();
            let v = vg_make(size, tag);
            ops += (v.len() / VG_PIECE) as u64;
            let i = rng.below(VG_LIVE);
            let (old, old_tag) = std::mem::replace(&mut live[i], (black_box(v), tag));
            if !vg_intact(&old, old_tag) {
                error();
            }
        }
        for (v, tag) in live {
            if !vg_intact(&v, tag) {
                error();
            }
        }
        ops
    })
}

// 8b. big-replace (thread-local, fixed work per thread), after mimalloc-bench's
// malloc-large: each thread keeps BR_LIVE buffers of 5..=25 MiB (uniform), made
// zero-filled (`vec![0u8; n]`: the allocator's zeroed allocation, calloc) and
// replaces a random one BR_OPS times (x scale). A new buffer has one 8-byte word per
// 4 KiB page set (so every page is touched) and its last 8 bytes; each word must
// have been zero before ([`BigBuf::new`]), and holds a tag-derived value checked
// when the buffer is freed. The original replaces 2,000 times, which would take
// about 7 s at one thread on glibc on the 2-core development machine (about 0.4 s
// to make the first 20 buffers, then 3-4 ms a replacement), so BR_OPS is 150
// (0.85-1 s on glibc, 1.4 s on arenapool). Live data is about 300 MiB per thread
// (peak RSS 420-580 MiB at one thread), so mind the thread count on small machines.
// One op = one buffer replaced (the old one freed, a new one made and touched).

const BR_LIVE: usize = 20;
const BR_MIN: usize = 5 << 20;
const BR_MAX: usize = 25 << 20;
const BR_OPS: u64 = 150;
const BR_PAGE: usize = 4096;

/// A zero-filled buffer with a word per page (and its last 8 bytes) set from a
/// tag.
struct BigBuf {
    data: Vec<u8>,
    tag: u64,
}

impl BigBuf {
    /// Offsets of the per-page words: 8-aligned, one per page, all before the last
    /// 8 bytes.
    fn words(data: &[u8]) -> impl Iterator<Item = usize> {
        // The distance to the next multiple of 8 (not `align_offset`, which may
        // give up).
        let first = (data.as_ptr() as usize).wrapping_neg() & 7;
        let end = data.len().saturating_sub(16);
        (first..end).step_by(BR_PAGE)
    }

    fn new(tally: &mut Tally, size: usize, tag: u64) -> BigBuf {
        let mut data = vec![0u8; size];
        let p = data.as_mut_ptr();
        for (k, off) in Self::words(&data).enumerate() {
            // An atomic swap: one write access, so an untouched page is faulted in
            // once (a read, then a write, would fault twice), and the old value
            // comes back to be checked.
            // SAFETY: off is 8-aligned (align_offset) and off + 8 <= size; nothing
            // else accesses the buffer.
            let old = unsafe { AtomicU64::from_ptr(p.add(off).cast::<u64>()) }
                .swap(tag ^ k as u64, Ordering::Relaxed);
            if old != 0 {
                error();
            }
        }
        let last = size - 8;
        let tail = u64::from_ne_bytes(data[last..].try_into().unwrap());
        if tail != 0 {
            error();
        }
        data[last..].copy_from_slice(&tag.to_ne_bytes());
        tally.allocated = tally.allocated.wrapping_add(tag);
        BigBuf { data, tag }
    }

    /// Checks the words (an error for each that differs) and frees the buffer.
    fn free(self, tally: &mut Tally) {
        let d = &self.data;
        for (k, off) in Self::words(d).enumerate() {
            let w = u64::from_ne_bytes(d[off..off + 8].try_into().unwrap());
            if w != self.tag ^ k as u64 {
                error();
            }
        }
        let tail = u64::from_ne_bytes(d[d.len() - 8..].try_into().unwrap());
        tally.freed = tally.freed.wrapping_add(tail);
        drop(black_box(self.data));
    }
}

fn br_size(rng: &mut Rng) -> usize {
    BR_MIN + rng.below(BR_MAX - BR_MIN + 1)
}

fn big_replace(threads: usize, scale: u64) -> u64 {
    on_threads(threads, |t| {
        let mut rng = Rng::new(950 + t as u64);
        let mut tally = Tally::default();
        let mut live: Vec<BigBuf> = (0..BR_LIVE)
            .map(|_| {
                let s = br_size(&mut rng);
                BigBuf::new(&mut tally, s, rng.next())
            })
            .collect();
        for _ in 0..BR_OPS * scale {
            let i = rng.below(BR_LIVE);
            let s = br_size(&mut rng);
            let tag = rng.next();
            // As in malloc-large (`buffers[i] = make_unique<char[]>(n)`): the new
            // buffer is made before the old one is freed.
            let b = BigBuf::new(&mut tally, s, tag);
            std::mem::replace(&mut live[i], b).free(&mut tally);
        }
        for b in live {
            b.free(&mut tally);
        }
        BR_OPS * scale
    })
}

// ---------------------------------------------------------------------------------
// 9. rayon (fixed total work): a map-reduce on a rayon pool of `threads` threads;
// each of RAYON_ITEMS items builds a Vec of short Strings and a boxed binary tree,
// reduces them to a number and drops them; rayon's work stealing moves the tasks
// (and thus who frees what) between threads. One op = one allocation (string or
// tree node).

const RAYON_ITEMS: u64 = 4_000;
const RAYON_STRINGS: u64 = 100;
const RAYON_DEPTH: u32 = 9; // 2^9 - 1 = 511 nodes

enum Tree {
    Leaf,
    Node(Box<Tree>, u64, Box<Tree>),
}

fn build(depth: u32, v: u64) -> Box<Tree> {
    if depth == 0 {
        Box::new(Tree::Leaf)
    } else {
        Box::new(Tree::Node(
            build(depth - 1, 2 * v),
            v,
            build(depth - 1, 2 * v + 1),
        ))
    }
}

fn tree_sum(t: &Tree) -> u64 {
    match t {
        Tree::Leaf => 0,
        Tree::Node(l, v, r) => tree_sum(l) + v + tree_sum(r),
    }
}

fn rayon_mapreduce(threads: usize, scale: u64) -> u64 {
    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("rayon pool");
    let items = RAYON_ITEMS * scale;
    let got: u64 = pool.install(|| {
        (0..items)
            .into_par_iter()
            .map(|i| {
                let strings: Vec<String> = (0..RAYON_STRINGS)
                    .map(|k| (i * 1000 + k).to_string())
                    .collect();
                let tree = build(RAYON_DEPTH, 1);
                let s: u64 = strings.iter().map(|s| s.len() as u64).sum();
                s + tree_sum(&tree)
            })
            .sum()
    });
    // Expected: the tree with root 1 and children 2v, 2v+1 holds 1..2^depth - 1.
    let nodes = (1u64 << RAYON_DEPTH) - 1;
    let tree = nodes * (nodes + 1) / 2;
    let strings: u64 = (0..items)
        .map(|i| {
            (0..RAYON_STRINGS)
                .map(|k| decimal_len(i * 1000 + k))
                .sum::<u64>()
        })
        .sum();
    expect(got, items * tree + strings);
    // Leaves are boxed too: 2^depth of them.
    items * (RAYON_STRINGS + 1 + nodes + (1u64 << RAYON_DEPTH))
}

// ---------------------------------------------------------------------------------
// 10. footprint (fixed work on its own threads; the thread count is ignored):
// FP_ROUNDS rounds; each builds a fresh rayon pool of FP_POOL threads and in it makes
// about FP_ROUND_BYTES x scale bytes of temporary objects (a quarter of them
// HashMaps of 1-32 String -> String entries, the rest Vec<u8>s of 1 B..6 KiB), in
// batches of about FP_BATCH_BYTES made by one task each. A batch keeps its objects
// alive until it ends; then each object survives with probability 1/FP_KEEP (about
// 1% of the bytes, scattered through everything the round made) and the others are
// dropped. The survivors go to a Vec on the main thread that lives across rounds;
// then the pool is dropped and its threads joined. After every round the main
// thread samples its resident set size and the bytes the survivors hold (see
// [`round_samples`]): whether RSS follows the live bytes or the threads' dead
// arenas and the holes the survivors pin. At the end every survivor's contents are
// checked against the pattern it was made with. One op = one object made.

const FP_ROUNDS: u64 = 20;
/// 128 MiB, not 200 MB: at 200 MB a run took 2-4 s per allocator on the 2-core
/// development machine (arenapool the slowest), over the 3 s aimed at.
const FP_ROUND_BYTES: u64 = 128 << 20;
const FP_BATCH_BYTES: u64 = 2 << 20;
const FP_POOL: usize = 4;
const FP_KEEP: usize = 100;
const FP_VEC_MAX: usize = 6 * 1024;
const FP_MAP_MAX: usize = 32;

/// Per-round samples: (RSS in KiB, survivors' bytes), one per round, in order.
static ROUNDS: Mutex<Vec<(u64, u64)>> = Mutex::new(Vec::new());

/// The per-round samples of the workload just run, as (RSS KiB, live KiB); empty
/// for workloads that take none.
pub fn round_samples() -> Vec<(u64, u64)> {
    ROUNDS
        .lock()
        .iter()
        .map(|&(rss, live)| (rss, live.div_ceil(1024)))
        .collect()
}

/// Current resident set size in KiB: /proc/self/statm's second field (resident
/// pages) times the page size.
fn rss_now_kib() -> u64 {
    let pages: u64 = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    pages * page / 1024
}

/// One temporary object; `seed` determines its contents, so they can be checked.
enum Obj {
    Bytes {
        seed: u64,
        data: Vec<u8>,
    },
    Map {
        seed: u64,
        n: usize,
        map: HashMap<String, String>,
    },
}

fn fp_byte(seed: u64, i: usize) -> u8 {
    (seed as u8).wrapping_add((i as u8).wrapping_mul(31))
}

fn fp_key(seed: u64, j: usize) -> String {
    format!("{seed:x}.{j}")
}

fn fp_value(seed: u64, j: usize) -> String {
    let c = (b'a' + ((seed as usize + j) % 26) as u8) as char;
    c.to_string().repeat((seed as usize ^ j) % 48)
}

impl Obj {
    fn make(rng: &mut Rng) -> Obj {
        let seed = rng.next();
        if rng.below(4) == 0 {
            let n = 1 + rng.below(FP_MAP_MAX);
            let map = (0..n)
                .map(|j| (fp_key(seed, j), fp_value(seed, j)))
                .collect();
            Obj::Map { seed, n, map }
        } else {
            let len = 1 + rng.below(FP_VEC_MAX);
            let data = (0..len).map(|i| fp_byte(seed, i)).collect();
            Obj::Bytes { seed, data }
        }
    }

    /// Bytes the object holds on the heap: exact for vectors and strings; for a
    /// map's table, from its bucket count (hashbrown: one (String, String) and one
    /// control byte per bucket, plus a 16-byte group of control bytes).
    fn bytes(&self) -> u64 {
        match self {
            Obj::Bytes { data, .. } => data.capacity() as u64,
            Obj::Map { map, .. } => {
                let cap = map.capacity();
                let buckets = match cap {
                    0 => 0,
                    1..=7 => cap + 1,
                    _ => cap * 8 / 7,
                };
                let table = if buckets == 0 {
                    0
                } else {
                    buckets * (std::mem::size_of::<(String, String)>() + 1) + 16
                };
                let strings: usize = map.iter().map(|(k, v)| k.capacity() + v.capacity()).sum();
                (table + strings) as u64
            }
        }
    }

    /// Whether the contents are still what `make` put there.
    fn intact(&self) -> bool {
        match self {
            Obj::Bytes { seed, data } => data
                .iter()
                .enumerate()
                .all(|(i, &b)| b == fp_byte(*seed, i)),
            Obj::Map { seed, n, map } => {
                map.len() == *n
                    && (0..*n).all(|j| {
                        map.get(&fp_key(*seed, j)).map(String::as_str)
                            == Some(fp_value(*seed, j).as_str())
                    })
            }
        }
    }
}

/// One task: makes about FP_BATCH_BYTES of objects; returns them all (they stay
/// alive until the whole round is made).
fn fp_batch(seed: u64) -> Vec<Obj> {
    let mut rng = Rng::new(seed);
    let mut objs = Vec::new();
    let mut made = 0;
    while made < FP_BATCH_BYTES {
        let o = Obj::make(&mut rng);
        made += o.bytes();
        objs.push(o);
    }
    objs
}

/// One task of a round's second half: keeps 1 in FP_KEEP of a batch (chosen at
/// random), drops the rest; returns the survivors and how many objects it saw.
fn fp_sift(objs: Vec<Obj>, seed: u64) -> (Vec<Obj>, u64) {
    let mut rng = Rng::new(seed);
    let n = objs.len() as u64;
    let kept = objs
        .into_iter()
        .filter(|_| rng.below(FP_KEEP) == 0)
        .collect();
    (kept, n)
}

fn footprint(_threads: usize, scale: u64) -> u64 {
    use rayon::prelude::*;
    let batches = (FP_ROUND_BYTES * scale).div_ceil(FP_BATCH_BYTES);
    let mut kept: Vec<Obj> = Vec::new();
    let mut live = 0u64;
    let mut ops = 0u64;
    ROUNDS.lock().clear();
    for round in 0..FP_ROUNDS {
        // Spawned by hand so that the threads can be joined after the pool is
        // dropped (rayon does not wait for them): the sample must not race with
        // their exit.
        let mut handles = Vec::with_capacity(FP_POOL);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(FP_POOL)
            .spawn_handler(|t| {
                handles.push(thread::Builder::new().spawn(|| t.run())?);
                Ok(())
            })
            .build()
            .expect("rayon pool");
        // The whole round's temporaries are alive at once, then the pool's
        // threads drop 99% of them (not always the thread that made them).
        let made: Vec<Vec<Obj>> = pool.install(|| {
            (0..batches)
                .into_par_iter()
                .map(|b| fp_batch(round << 32 | b))
                .collect()
        });
        black_box(&made);
        let made: Vec<(Vec<Obj>, u64)> = pool.install(|| {
            made.into_par_iter()
                .enumerate()
                .map(|(i, objs)| fp_sift(objs, !(round << 32 | i as u64)))
                .collect()
        });
        for (objs, n) in made {
            ops += n;
            live += objs.iter().map(Obj::bytes).sum::<u64>();
            kept.extend(objs);
        }
        drop(pool);
        for h in handles {
            h.join().expect("footprint pool thread panicked");
        }
        let rss = rss_now_kib();
        ROUNDS.lock().push((rss, live));
    }
    for o in &kept {
        if !o.intact() {
            error();
        }
    }
    expect(kept.iter().map(Obj::bytes).sum(), live);
    drop(black_box(kept));
    ops
}
