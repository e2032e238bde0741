//! Secure mode (`ARENAPOOL_SECURE=1`, or on by default with the cargo feature
//! `secure`): slower, and catching what the default checks cannot.
//!
//! - Thread caches are off, so every free reaches the checks below.
//! - A canary after each arena block: the bytes from the requested size to the
//!   end of the chunk hold a per-block pattern, and the chunk's last 4 bytes the
//!   requested size (both keyed); `free` checks them (small overflows).
//! - Freed arena blocks are filled with zeros, `arena::FILL` (the first 4 KiB of
//!   bigger ones), and held in a per-thread quarantine; a block leaves it, at
//!   random, only when the quarantine is full, and is checked for writes after
//!   free then, or at process exit if it never left (delayed, randomised reuse).
//! - Guard pages: after every pool and huge block (see `large::alloc_with`), and
//!   near the end of every arena span (see `arena::Arena::add_span`).
//! - `malloc(0)` returns a pointer to an inaccessible page (any access faults).
//! - Every block is zeroed when it is made, and every freed one when it is
//!   freed: no block or read after free shows old data.
//! - Big blocks end at their guard page; the few bytes of alignment slack after
//!   them and the run's front before them hold canaries, checked on free.
//! - On free, the block just before the freed one in its span is checked too
//!   (an underflow past the header lands there), and at process exit every
//!   block of the exiting thread still in use (its canary) and in quarantine
//!   (its fill).
//!
//! Pool and huge blocks skip the quarantine: their memory goes back to the pool
//! (or the OS) at once, guard page and all.

use crate::arena::{Arena, FILL, FILL_MAX, QBYTES, QN};
use crate::block;
use crate::config;
use crate::large;
use crate::os::{self, PAGE};
use crate::registry;
use crate::size::*;
use crate::span::{self, CACHED};
use crate::sync::{Mutex, Once};
use crate::thread;
use core::sync::atomic::{AtomicU32, Ordering};

/// Bytes of room an arena block needs past the request: at least 4 canary bytes
/// and the 4-byte stored size.
const TAIL: usize = 8;

#[inline]
fn canary_word(p: *mut u8) -> [u8; 8] {
    mix(config::secret() ^ p as u64).to_le_bytes()
}

#[inline]
fn size_key() -> u32 {
    (config::secret() >> 17) as u32
}

/// Allocates `n` bytes at `align` (a power of two, at least 16) in secure mode.
pub unsafe fn alloc(n: usize, align: usize) -> *mut u8 {
    // The pool's fork handlers (the first arena registers them), then the
    // zero-size region's, before that region's lock is ever taken.
    thread::arena_ready();
    register_atfork();
    if n == 0 && align <= PAGE {
        let z = zero_alloc();
        if !z.is_null() {
            return z;
        }
    }
    let Some(m) = n.checked_add(TAIL) else {
        return core::ptr::null_mut();
    };
    let fits = if align <= UNIT {
        m <= config::arena_max_req()
    } else {
        m + align + 2 * MIN_CHUNK <= config::arena_max_req() + HDR
    };
    // Every block starts zeroed: it never shows what an earlier block left.
    if !fits {
        let (p, clean) = large::alloc_with(n, align, true);
        if !p.is_null() && !clean {
            core::ptr::write_bytes(p, 0, n);
        }
        return p;
    }
    let p = block::alloc_in_arena(m, align);
    if p.is_null() {
        return p;
    }
    core::ptr::write_bytes(p, 0, n);
    let usable = span::size(p.sub(HDR), span::key_of(p.sub(HDR))) - HDR;
    let w = canary_word(p);
    for i in n..usable - 4 {
        *p.add(i) = w[i % 8];
    }
    *(p.add(usable - 4) as *mut u32) = n as u32 ^ size_key();
    p
}

/// The requested size of secure arena block `p` of chunk size `s`, after checking
/// its canary (aborts on an overflow).
unsafe fn checked_size(p: *mut u8, s: usize, op: &[u8]) -> usize {
    match canary_size(p, s) {
        Some(n) => n,
        None => block::misuse(op, b": heap overflow past the end of block", p),
    }
}

/// The requested size of secure arena block `p` of chunk size `s`, or None if
/// its canary or size word was overwritten.
unsafe fn canary_size(p: *mut u8, s: usize) -> Option<usize> {
    let usable = s - HDR;
    let n = (*(p.add(usable - 4) as *const u32) ^ size_key()) as usize & SIZE_BITS;
    let w = canary_word(p);
    if n + 4 > usable || (n..usable - 4).any(|i| *p.add(i) != w[i % 8]) {
        return None;
    }
    Some(n)
}

/// The size word of a secure arena block keeps how it was made in its top
/// bits (see [`set_kind`]); the size below.
const SIZE_BITS: usize = (1 << 30) - 1;
const KIND_SHIFT: u32 = 30;

/// How a block was made: `malloc` and the rest of the C family, C++ `new`,
/// C++ `new[]`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Malloc = 0,
    New = 1,
    NewArray = 2,
}

/// The word that records a secure block's requested size and kind, and the
/// bit where the kind starts; None for a block with no such word (zero-size
/// blocks, big blocks aligned past a page).
unsafe fn size_word(p: *mut u8) -> Option<(*mut u8, u32)> {
    if registry::get(p as usize) == registry::ZERO {
        return None;
    }
    match block::classify(p, b"delete") {
        block::Block::Chunk(_, s) => Some((p.add(s - HDR - 4), KIND_SHIFT)),
        block::Block::Large => large::size_word(p).map(|w| (w, large::KIND_SHIFT)),
    }
}

/// Records that `p`, just made, was made by C++ `new` or `new[]`.
pub unsafe fn set_kind(p: *mut u8, kind: Kind) {
    match size_word(p) {
        Some((w, KIND_SHIFT)) => *(w as *mut u32) ^= (kind as u32) << KIND_SHIFT,
        Some((_, _)) => large::mark_kind(p, kind as u64),
        None => {}
    }
}

/// Checks, before `p` is freed by C++ `delete` (`Kind::New`) or `delete[]`
/// (`Kind::NewArray`), that the matching `new` made it and, for a sized
/// delete, with `size` bytes.
pub unsafe fn check_delete(p: *mut u8, kind: Kind, size: Option<usize>) {
    let Some((w, shift)) = size_word(p) else {
        return;
    };
    let v = if shift == KIND_SHIFT {
        (*(w as *const u32) ^ size_key()) as u64
    } else {
        *(w as *const u64) ^ config::secret()
    };
    let (made, n) = (v >> shift, (v & ((1 << shift) - 1)) as usize);
    if made != kind as u64 {
        let what: &[u8] = if kind == Kind::New {
            b" of a block not made by new:"
        } else {
            b" of a block not made by new[]:"
        };
        block::misuse(
            if kind == Kind::New {
                b"delete"
            } else {
                b"delete[]"
            },
            what,
            p,
        );
    }
    if size.is_some_and(|s| s != n) {
        block::misuse(
            b"sized delete",
            b" with a size the block was not made with:",
            p,
        );
    }
}

/// Frees `p` in secure mode.
pub unsafe fn free(p: *mut u8) {
    if registry::get(p as usize) == registry::ZERO {
        return zero_free(p);
    }
    let block::Block::Chunk(owner, s) = block::classify(p, b"free") else {
        return large::free(p);
    };
    checked_size(p, s, b"free");
    if !thread::has_arena() {
        return block::release(p, owner, s);
    }
    if owner == thread::arena() {
        check_prev(p);
    }
    // Flag it as freed (a second free is reported by `classify`), poison it, and
    // hold it back.
    let h = &*(p.sub(HDR) as *const AtomicU32);
    h.fetch_xor(CACHED as u32, Ordering::AcqRel);
    core::ptr::write_bytes(p, FILL, (s - HDR).min(FILL_MAX));
    let q = &mut (*thread::arena()).quarantine;
    while q.len > 0 && (q.len == QN || q.bytes + s > QBYTES) {
        let j = q.draw() % q.len;
        let (victim, vs) = unpack(q.slots[j]);
        q.len -= 1;
        q.slots[j] = q.slots[q.len];
        q.bytes -= vs;
        evict(victim);
    }
    q.slots[q.len] = p as usize;
    q.len += 1;
    q.bytes += s;
}

#[inline]
unsafe fn unpack(v: usize) -> (*mut u8, usize) {
    let p = v as *mut u8;
    (p, span::size(p.sub(HDR), span::key_of(p.sub(HDR))))
}

/// Takes `p` out of the calling thread's quarantine: checks the poison, then
/// frees it for real.
unsafe fn evict(p: *mut u8) {
    (*thread::arena()).unquarantine(p, &mut crate::pool::Global);
}

/// Checks every block in `a`'s quarantine for writes after free, leaving them
/// there (process exit: the blocks will never leave it).
pub unsafe fn check_quarantine(a: *mut Arena) {
    let q = &(*a).quarantine;
    for &v in &q.slots[..q.len] {
        let (p, s) = unpack(v);
        crate::arena::check_fill(p, s);
    }
}

/// Checks every block of `a` still in use (its canary, so an overflow of a
/// block never freed is found) and the headers between them (an underflow),
/// at process exit.
pub unsafe fn check_live_blocks(a: *mut Arena) {
    let r = (*a).each_live_block(|p, s| {
        checked_size(p, s, b"exit");
    });
    if let Err(p) = r {
        block::misuse(b"", b"corrupted block header at", p);
    }
}

/// Checks the block just before `p` in its span (the caller owns both): its
/// canary if it is in use, its fill if it is quarantined. An underflow of `p`
/// that runs past its header lands there.
unsafe fn check_prev(p: *mut u8) {
    let c = p.sub(HDR);
    let k = span::key_of(c);
    let ps = span::prev_size(c, k);
    if ps == 0 {
        return;
    }
    let prev = c.sub(ps);
    let h = span::hdr(prev, k);
    if span::size(prev, k) != ps {
        block::misuse(b"", b"corrupted block header at", p);
    }
    // A free or flagged chunk is left alone: a flagged one may be in another
    // thread's quarantine, being filled this very moment. An in-use chunk is
    // written by no other thread but its user (flags are set before a free
    // writes to it, and stay set until its owner takes it back).
    if h & (span::FREE | CACHED) == 0
        && !is_guard_chunk(prev)
        && canary_size(prev.add(HDR), ps).is_none()
    {
        // Unless another thread freed it meanwhile: its flag came before its
        // fill, so a fill seen above means the flag is seen now.
        core::sync::atomic::fence(Ordering::Acquire);
        let now = (*(prev as *const AtomicU32)).load(Ordering::Acquire) ^ k as u32;
        if now & (span::FREE | CACHED) as u32 == 0 {
            block::misuse(
                b"free",
                b": heap overflow past the end of block",
                prev.add(HDR),
            );
        }
    }
}

/// Whether chunk `c` is the guard chunk near a span's end (no canary).
fn is_guard_chunk(c: *mut u8) -> bool {
    let off = c as usize & (SPAN - 1);
    off + 2 * crate::os::PAGE == span::FENCE
}

/// Bytes usable at secure block `p`: the requested size for arena blocks.
pub unsafe fn usable_size(p: *mut u8) -> usize {
    usable_for(p, b"malloc_usable_size")
}

unsafe fn usable_for(p: *mut u8, op: &[u8]) -> usize {
    if registry::get(p as usize) == registry::ZERO {
        // (The guard is dropped before the report, as in `zero_free`.)
        let slot = zero_slot(&ZERO.lock(), p);
        if let Err(what) = slot {
            block::misuse(op, what, p);
        }
        return 0;
    }
    match block::classify(p, op) {
        block::Block::Chunk(_, s) => checked_size(p, s, op),
        block::Block::Large => large::usable(p),
    }
}

/// `realloc` in secure mode: always moves, so the old block goes through `free`.
pub unsafe fn realloc(p: *mut u8, n: usize) -> *mut u8 {
    let have = usable_for(p, b"realloc");
    let q = alloc(n, UNIT);
    if q.is_null() {
        return q;
    }
    block::count_alloc(n);
    core::ptr::copy_nonoverlapping(p, q, have.min(n));
    block::count_free();
    free(p);
    q
}

// ---- zero-size blocks ------------------------------------------------------------

/// Zero-size blocks: slot `i` of a reserved region is two pages, a readable one
/// (all zeros, never written: `free` reads the 16 bytes before a pointer) and an
/// inaccessible one, whose start is the block.
const ZSLOTS: usize = 1024;
const ZLEN: usize = ZSLOTS * 2 * PAGE;

struct Zero {
    base: usize,
    /// Slots handed out so far (each made readable once).
    made: usize,
    used: [u64; ZSLOTS / 64],
    free: [u16; ZSLOTS],
    nfree: usize,
}

static ZERO: Mutex<Zero> = Mutex::new(Zero {
    base: 0,
    made: 0,
    used: [0; ZSLOTS / 64],
    free: [0; ZSLOTS],
    nfree: 0,
});

static ATFORK: Once = Once::new();

/// Registers the handlers that hold the zero-size region's lock across `fork`,
/// once, before the lock is first used (see [`alloc`]). They come after the
/// pool's (which the first arena registers, and `alloc` makes sure of the
/// thread's arena first), and `fork` runs prepare handlers in the reverse
/// order of registration: this lock is taken before the pool's, the order
/// every thread takes them in. (Were the order ever reversed, by an arena that
/// could not be made, nothing would deadlock: no thread waits for one of these
/// locks while holding the other.)
fn register_atfork() {
    ATFORK.call(|| {
        // SAFETY: plain extern fns with no preconditions.
        unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child)) };
    });
}

extern "C" fn fork_prepare() {
    core::mem::forget(ZERO.lock());
}

extern "C" fn fork_parent() {
    // SAFETY: fork_prepare leaked the guard of this thread's lock.
    unsafe { ZERO.force_unlock() };
}

extern "C" fn fork_child() {
    // SAFETY: the child has one thread, this one; nobody else can hold the lock.
    unsafe { ZERO.reset() };
}

/// A fresh zero-size block, or null when all slots are taken (the caller then
/// makes an ordinary small block).
unsafe fn zero_alloc() -> *mut u8 {
    let mut z = ZERO.lock();
    if z.base == 0 {
        let m = os::map_aligned(ZLEN, SPAN);
        if m.is_null() {
            return m;
        }
        os::protect(m, ZLEN, false);
        registry::set(m as usize, ZLEN, registry::ZERO);
        z.base = m as usize;
    }
    let i = if z.nfree > 0 {
        z.nfree -= 1;
        z.free[z.nfree] as usize
    } else if z.made < ZSLOTS {
        let i = z.made;
        z.made += 1;
        os::protect((z.base + 2 * i * PAGE) as *mut u8, PAGE, true);
        i
    } else {
        return core::ptr::null_mut();
    };
    z.used[i / 64] |= 1 << (i % 64);
    (z.base + (2 * i + 1) * PAGE) as *mut u8
}

/// The slot of live zero-size block `p` in region `z`, or what is wrong with
/// `p`: not a slot's block, or a block already freed (the report's wording).
fn zero_slot(z: &Zero, p: *mut u8) -> Result<usize, &'static [u8]> {
    let off = (p as usize).wrapping_sub(z.base);
    let i = off / (2 * PAGE);
    if z.base == 0 || off >= ZLEN || off % (2 * PAGE) != PAGE || i >= z.made {
        return Err(b" of a pointer arenapool never returned:");
    }
    if z.used[i / 64] & (1 << (i % 64)) == 0 {
        return Err(b" of a block already freed (double free):");
    }
    Ok(i)
}

unsafe fn zero_free(p: *mut u8) {
    let mut z = ZERO.lock();
    let i = match zero_slot(&z, p) {
        Ok(i) => i,
        Err(what) => {
            drop(z);
            block::misuse(b"free", what, p);
        }
    };
    z.used[i / 64] &= !(1 << (i % 64));
    let k = z.nfree;
    z.free[k] = i as u16;
    z.nfree += 1;
}
