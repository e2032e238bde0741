//! Arena spans: `SPAN`-aligned runs of pages, carved into chunks with boundary tags,
//! whose free chunks form a list sorted by address.
//!
//! ```text
//!  span base (SPAN-aligned)                                      base + SPAN
//!  | SpanHeader | bitmap | chunk | chunk | free chunk | chunk | ... | fence |
//!                        ^ FIRST (8 mod 16)
//!  chunk:      | hdr u64: prev_size << 32 | FREE << 31 | CACHED << 30 | size | payload (16-aligned) ...
//!  free chunk: | hdr | bin_next | bin_prev | addr_prev u16 | addr_next u16 | released u32 | ...
//! ```
//!
//! Every header, and the size-bin links of free chunks, are stored xor the owning
//! arena's key (kept in the span header too): a header overwritten by plain data,
//! or read through a pointer that is not a chunk, decodes to noise that fails the
//! range checks, and a chunk of another arena fails `free`'s fast-path test (see
//! `Arena::key`). Only the accessors below see raw values.
//!
//! Invariants (checked by [`Span::check`]):
//! - chunks tile `[FIRST, FENCE)` exactly; each header's `prev_size` is the size of
//!   the chunk before it (0 for the first);
//! - a chunk is free (the `FREE` flag without `CACHED`) iff its start bit is set in
//!   `bitmap`, and iff it is on the address list; no two free chunks are
//!   neighbours (fully coalesced);
//! - the address list, from `first_free` along `addr_next`, visits the free chunks in
//!   strictly increasing address order, and `addr_prev` mirrors `addr_next`;
//! - `summary` bit `w` is set iff `bitmap[w] != 0`;
//! - `loose` is the sum of the sizes of the chunks with both flags (loose chunks,
//!   which may neighbour free or loose chunks), `used` of the chunks that are not
//!   free.
//!
//! The bitmap is an index over the sorted list: it finds a new free chunk's
//! predecessor on the list in a few word operations, so inserting stays O(1) however
//! many free chunks the span has. Links are offsets in 16-byte units (0 = none).

use crate::remote::Pending;
use crate::size::{HDR, SPAN, UNIT};
use core::sync::atomic::AtomicPtr;

/// Header flag: the chunk is free and in its arena's store. It sits above the size
/// bits, so that `free`'s one range check on `(hdr as u32) >> 4` also rejects free
/// chunks (and pool blocks, whose size bits are zero).
pub const FREE: u64 = 1 << 31;
/// Header flag: the chunk is in its owner's cache or on its remote-free list
/// (freed, not yet in the store). Toggled by xor on the fast paths, so `free`'s
/// range check sends a second free of it to the slow path, which reports it.
pub const CACHED: u64 = 1 << 30;
/// Both flags together: the chunk is *loose*, freed by its owner past a full
/// cache class and set aside in place, not yet merged into the store (see
/// `Arena::loosen`). `free` rejects it as it rejects a cached chunk; the store
/// takes it for in use until a sweep of its span merges it.
pub const LOOSE: u64 = FREE | CACHED;
/// Header flag: the block is a pool or huge block, not a span chunk (see `large`).
pub const LARGE: u64 = 2;
/// Mask of a header's size field.
pub const SIZE_MASK: u64 = 0x3fff_fff0;

const WORDS: usize = SPAN / UNIT / 64;
const SUMMARY: usize = WORDS / 64;

/// Whoever owns a span: an arena, which this layer does not know.
pub enum Owner {}

/// The start of every arena span.
#[repr(C)]
pub struct Span {
    /// The arena that owns this span's chunks (opaque at this layer: see
    /// `arena::owner`). Written before any chunk of the span is handed out and
    /// unchanged while the span holds live chunks.
    pub owner: AtomicPtr<Owner>,
    /// Neighbours on the owning arena's list of spans.
    pub next: *mut Span,
    pub prev: *mut Span,
    /// Unit offset of the lowest free chunk (0: none).
    pub first_free: u16,
    _pad: [u16; 3],
    /// The owning arena's key (see the module docs).
    pub key: u64,
    /// Neighbours on the owning arena's list of spans with loose chunks (see
    /// [`LOOSE`]), valid while `loose` is not 0.
    pub loose_next: *mut Span,
    pub loose_prev: *mut Span,
    /// Blocks of this span freed by other threads (see `remote`), on a cache
    /// line of its own.
    pub pending: Pending,
    summary: [u64; SUMMARY],
    /// Bytes of the span's chunks that are not free (in use, cached or loose),
    /// and of its loose chunks. (Beside `summary`, on the line that every
    /// change to the free chunks writes.)
    pub used: u32,
    pub loose: u32,
    /// Offsets of the lowest and the highest loose chunk (valid while `loose`
    /// is not 0): a sweep walks from one to the other.
    pub loose_lo: u32,
    pub loose_hi: u32,
    bitmap: [u64; WORDS],
}

/// Offset of the first chunk header: just past the span header, and 8 mod 16 so that
/// payloads are 16-byte aligned.
pub const FIRST: usize = (core::mem::size_of::<Span>() + HDR).div_ceil(UNIT) * UNIT - HDR;
/// Offset of the fence header: a permanent zero-size in-use chunk ending the tiling.
pub const FENCE: usize = SPAN - HDR;
/// Size of the single free chunk of an empty span.
pub const FULL: usize = FENCE - FIRST;

const _: () = assert!(FIRST % UNIT == HDR && FULL % UNIT == 0);

// ---- chunk headers ---------------------------------------------------------------

// Each accessor takes the key of the chunk's span (`k`): the owning arena's, which
// its methods keep in a register (`key_of` reads it from the span header).

/// The key chunk `c`'s headers are stored with (from its span's header).
#[inline(always)]
pub unsafe fn key_of(c: *mut u8) -> u64 {
    (*span_of(c)).key
}
/// The decoded header of chunk `c`.
#[inline(always)]
pub unsafe fn hdr(c: *mut u8, k: u64) -> u64 {
    *(c as *const u64) ^ k
}
#[inline(always)]
unsafe fn put_hdr(c: *mut u8, v: u64, k: u64) {
    *(c as *mut u64) = v ^ k;
}
#[inline(always)]
pub unsafe fn size(c: *mut u8, k: u64) -> usize {
    (hdr(c, k) & SIZE_MASK) as usize
}
/// Whether chunk `c` is free and in the store (not loose).
#[inline(always)]
pub unsafe fn is_free(c: *mut u8, k: u64) -> bool {
    hdr(c, k) & LOOSE == FREE
}
#[inline(always)]
pub unsafe fn prev_size(c: *mut u8, k: u64) -> usize {
    (hdr(c, k) >> 32) as usize
}
/// Whether the header of chunk `n`, right after an in-use chunk of `s` bytes,
/// agrees with it (`prev_size`) and has its low bits clear, as every decoded
/// header has: the first byte a write past the end of the chunk before it
/// (an overflow) lands on. With the key xored in, a byte written there leaves
/// those bits clear only when it matches the key's (1 in 16).
#[inline(always)]
pub unsafe fn next_agrees(n: *mut u8, k: u64, s: usize) -> bool {
    hdr(n, k) & (!0u64 << 32 | (UNIT as u64 - 1)) == (s as u64) << 32
}
/// Whether the low bits of chunk `n`'s header are clear (see [`next_agrees`]).
#[inline(always)]
pub unsafe fn low_bits_clear(n: *mut u8, k: u64) -> bool {
    hdr(n, k) & (UNIT as u64 - 1) == 0
}
/// Erases the header of chunk `c`, which a merge has just made part of a bigger
/// chunk: a stale header left in the middle of a block would otherwise pass for
/// a chunk if a program freed a pointer into that block. (All-zero raw bits
/// decode to the key itself, which no check takes for a chunk.)
#[inline(always)]
pub unsafe fn bury(c: *mut u8) {
    *(c as *mut u64) = 0;
}
/// Sets size and flags, keeping `prev_size`. Writes only the low half: the high
/// half of a live chunk's header belongs to its neighbour's updates.
#[inline(always)]
pub unsafe fn set_size(c: *mut u8, size: usize, flags: u64, k: u64) {
    *(c as *mut u32) = (size as u64 | flags) as u32 ^ k as u32;
}
/// Sets `prev_size`, keeping size and flags. Writes only the high half, so that it
/// never undoes another thread's store of the `CACHED` flag to the low half (a remote
/// free of this live chunk racing with the owner merging its neighbour).
#[inline(always)]
pub unsafe fn set_prev_size(c: *mut u8, ps: usize, k: u64) {
    *(c.add(4) as *mut u32) = ps as u32 ^ (k >> 32) as u32;
}
/// Writes a whole in-use chunk header.
#[inline(always)]
pub unsafe fn set_hdr(c: *mut u8, size: usize, prev: usize, k: u64) {
    put_hdr(c, ((prev as u64) << 32) | size as u64, k);
}
/// Toggles the `CACHED` flag without decoding (xor commutes with the key).
#[inline(always)]
pub unsafe fn toggle_cached(c: *mut u8) {
    *(c as *mut u32) ^= CACHED as u32;
}

// Free-chunk link fields (size-bin links encoded with the key, checked on read:
// a chunk address is 8 mod 16 and null is 0, so low bits 0..=2 set mean a
// corrupted link; one test).
#[inline(always)]
unsafe fn get_link(c: *mut u8, at: usize, k: u64) -> *mut u8 {
    let v = *(c.add(at) as *const usize) ^ k as usize;
    if v & (HDR - 1) != 0 {
        crate::os::fatal_at(b"corrupted free list at", Some(c as usize + HDR));
    }
    v as *mut u8
}
#[inline(always)]
pub unsafe fn bin_next(c: *mut u8, k: u64) -> *mut u8 {
    get_link(c, 8, k)
}
#[inline(always)]
pub unsafe fn bin_prev(c: *mut u8, k: u64) -> *mut u8 {
    get_link(c, 16, k)
}
#[inline(always)]
pub unsafe fn set_bin_next(c: *mut u8, v: *mut u8, k: u64) {
    *(c.add(8) as *mut usize) = v as usize ^ k as usize;
}
#[inline(always)]
pub unsafe fn set_bin_prev(c: *mut u8, v: *mut u8, k: u64) {
    *(c.add(16) as *mut usize) = v as usize ^ k as usize;
}
/// Free-chunk field: how many whole pages inside the chunk (see
/// [`interior`]) have been released to the OS and not touched since (0: none
/// known to be), and in its top bit whether a purge pass has already seen the
/// chunk as it is (it is purged at the next pass if still unchanged).
#[inline(always)]
pub unsafe fn released(c: *mut u8) -> u32 {
    *(c.add(28) as *const u32) & !SEEN
}
/// Sets the released-page count, clearing the seen bit (the chunk changed).
#[inline(always)]
pub unsafe fn set_released(c: *mut u8, pages: u32) {
    *(c.add(28) as *mut u32) = pages;
}
/// Whether a purge pass saw free chunk `c` unchanged since (see [`released`]).
#[inline(always)]
pub unsafe fn seen(c: *mut u8) -> bool {
    *(c.add(28) as *const u32) & SEEN != 0
}
#[inline(always)]
pub unsafe fn set_seen(c: *mut u8) {
    *(c.add(28) as *mut u32) |= SEEN;
}
const SEEN: u32 = 1 << 31;
/// The whole pages inside a free chunk `c` of `s` bytes that hold nothing the
/// allocator reads: past its header and links (the first `MIN_CHUNK` bytes), up
/// to the next chunk's header. Start and end, page-aligned (equal when none).
#[inline]
pub fn interior(c: *mut u8, s: usize) -> (usize, usize) {
    let start = crate::os::align_up(c as usize + crate::size::MIN_CHUNK, crate::os::PAGE);
    let end = (c as usize + s) & !(crate::os::PAGE - 1);
    (start, end.max(start))
}
/// Pages in [`interior`].
#[inline]
pub fn interior_pages(c: *mut u8, s: usize) -> u32 {
    let (a, b) = interior(c, s);
    ((b - a) / crate::os::PAGE) as u32
}
#[inline(always)]
unsafe fn addr_prev(c: *mut u8) -> u16 {
    *(c.add(24) as *const u16)
}
#[inline(always)]
unsafe fn addr_next(c: *mut u8) -> u16 {
    *(c.add(26) as *const u16)
}
#[inline(always)]
unsafe fn set_addr_prev(c: *mut u8, v: u16) {
    *(c.add(24) as *mut u16) = v;
}
#[inline(always)]
unsafe fn set_addr_next(c: *mut u8, v: u16) {
    *(c.add(26) as *mut u16) = v;
}

/// The span holding chunk or payload address `p`.
#[inline(always)]
pub fn span_of(p: *mut u8) -> *mut Span {
    (p as usize & !(SPAN - 1)) as *mut Span
}

impl Span {
    /// Prepares a fresh span at `base` for `arena`: one free chunk covering it all is
    /// written but *not* yet linked into the arena's bins (the caller does that).
    ///
    /// # Safety
    /// `base` is SPAN-aligned, SPAN bytes, writable, and owned by the caller.
    pub unsafe fn init(base: *mut u8, owner: *mut Owner, key: u64) -> *mut u8 {
        let s = base as *mut Span;
        (*s).owner = AtomicPtr::new(owner);
        (*s).key = key;
        let k = (*s).key;
        (*s).next = core::ptr::null_mut();
        (*s).prev = core::ptr::null_mut();
        (*s).first_free = 0;
        (*s).used = 0;
        (*s).loose = 0;
        (*s).loose_lo = 0;
        (*s).loose_hi = 0;
        (*s).loose_next = core::ptr::null_mut();
        (*s).loose_prev = core::ptr::null_mut();
        core::ptr::write(&mut (*s).pending, Pending::new());
        (*s).summary = [0; SUMMARY];
        (*s).bitmap = [0; WORDS];
        let c = base.add(FIRST);
        set_hdr(c, FULL, 0, k);
        // The fence is "in use" with size 0 and carries CACHED, so that `free`'s
        // fast-path mask rejects a pointer just past the span (nothing else
        // reads its flags).
        set_hdr(base.add(FENCE), CACHED as usize, FULL, k);
        c
    }

    #[inline(always)]
    fn base(&self) -> *mut u8 {
        self as *const Span as *mut u8
    }
    #[inline(always)]
    fn unit(&self, c: *mut u8) -> u16 {
        ((c as usize - self.base() as usize) / UNIT) as u16
    }
    #[inline(always)]
    fn chunk(&self, u: u16) -> *mut u8 {
        // SAFETY: u is a unit offset inside this span (checked by callers' invariants).
        unsafe { self.base().add(u as usize * UNIT + HDR) }
    }

    #[inline(always)]
    fn bit_set(&mut self, u: u16) {
        let (w, b) = (u as usize / 64, u as usize % 64);
        self.bitmap[w] |= 1 << b;
        self.summary[w / 64] |= 1 << (w % 64);
    }
    #[inline(always)]
    fn bit_clear(&mut self, u: u16) {
        let (w, b) = (u as usize / 64, u as usize % 64);
        self.bitmap[w] &= !(1 << b);
        if self.bitmap[w] == 0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
    }
    /// Whether a free chunk of this span (one on its address list) starts at
    /// `c`: its bit in the bitmap (see [`Span::check`]).
    pub fn has_free_start(&self, c: *mut u8) -> bool {
        let u = self.unit(c) as usize;
        self.bitmap[u / 64] >> (u % 64) & 1 == 1
    }

    /// Highest set bit below `u`, if any: the free chunk just before `u` in address
    /// order.
    #[inline]
    fn bit_pred(&self, u: u16) -> Option<u16> {
        let (w, b) = (u as usize / 64, u as usize % 64);
        let m = self.bitmap[w] & ((1u64 << b) - 1);
        if m != 0 {
            return Some((w * 64 + 63 - m.leading_zeros() as usize) as u16);
        }
        let (sw, sb) = (w / 64, w % 64);
        let mut sm = self.summary[sw] & ((1u64 << sb) - 1);
        let mut swi = sw;
        loop {
            if sm != 0 {
                let word = swi * 64 + 63 - sm.leading_zeros() as usize;
                let bits = self.bitmap[word];
                return Some((word * 64 + 63 - bits.leading_zeros() as usize) as u16);
            }
            if swi == 0 {
                return None;
            }
            swi -= 1;
            sm = self.summary[swi];
        }
    }

    /// Puts free chunk `c` (header already has `FREE`) on the address list and in the
    /// bitmap. O(1): the bitmap names its predecessor.
    ///
    /// # Safety
    /// `c` is a chunk of this span, not on the list.
    pub unsafe fn list_insert(&mut self, c: *mut u8) {
        let u = self.unit(c);
        let next = match self.bit_pred(u) {
            Some(p) => {
                let pc = self.chunk(p);
                let n = addr_next(pc);
                set_addr_next(pc, u);
                set_addr_prev(c, p);
                n
            }
            None => {
                let n = self.first_free;
                self.first_free = u;
                set_addr_prev(c, 0);
                n
            }
        };
        set_addr_next(c, next);
        if next != 0 {
            set_addr_prev(self.chunk(next), u);
        }
        self.bit_set(u);
    }

    /// Takes free chunk `c` off the address list and out of the bitmap.
    ///
    /// # Safety
    /// `c` is on this span's list.
    pub unsafe fn list_remove(&mut self, c: *mut u8) {
        let (p, n) = (addr_prev(c), addr_next(c));
        if p != 0 {
            set_addr_next(self.chunk(p), n);
        } else {
            self.first_free = n;
        }
        if n != 0 {
            set_addr_prev(self.chunk(n), p);
        }
        self.bit_clear(self.unit(c));
    }

    /// Puts free chunk `new` in the place of `old` on the address list, where no
    /// other free chunk lies between them (a chunk whose front was allocated, or
    /// one freed just before a free neighbour it merges with).
    ///
    /// # Safety
    /// `old` is on this span's list; `new` is a chunk of this span, not on it, with
    /// no free chunk between the two.
    pub unsafe fn list_replace(&mut self, old: *mut u8, new: *mut u8) {
        let (p, n) = (addr_prev(old), addr_next(old));
        let u = self.unit(new);
        set_addr_prev(new, p);
        set_addr_next(new, n);
        if p != 0 {
            set_addr_next(self.chunk(p), u);
        } else {
            self.first_free = u;
        }
        if n != 0 {
            set_addr_prev(self.chunk(n), u);
        }
        self.bit_clear(self.unit(old));
        self.bit_set(u);
    }

    /// The free chunks in address order.
    pub fn free_chunks(&self) -> FreeIter<'_> {
        FreeIter {
            span: self,
            u: self.first_free,
        }
    }

    /// Walks the span and checks every invariant in the module docs. Returns the
    /// number of free bytes, or a description of the first violation.
    ///
    /// # Safety
    /// The span must be initialised and not concurrently modified.
    pub unsafe fn check(&self) -> Result<usize, &'static str> {
        let base = self.base();
        let k = self.key;
        let mut off = FIRST;
        let mut prev = 0usize;
        let mut prev_free = false;
        let mut free_bytes = 0;
        let mut free_count = 0usize;
        let mut loose = 0;
        while off < FENCE {
            let c = base.add(off);
            let s = size(c, k);
            if s < crate::size::MIN_CHUNK || s % UNIT != 0 || off + s > FENCE {
                return Err("chunk size out of range");
            }
            if prev_size(c, k) != prev {
                return Err("prev_size does not match the chunk before");
            }
            let f = is_free(c, k);
            if hdr(c, k) & LOOSE == LOOSE {
                loose += s;
            }
            if hdr(c, k) & LARGE != 0 {
                return Err("LARGE flag on a span chunk");
            }
            if f != self.has_free_start(c) {
                return Err("FREE flag and bitmap disagree");
            }
            if f {
                if prev_free {
                    return Err("two free neighbours not coalesced");
                }
                free_bytes += s;
                free_count += 1;
            }
            prev_free = f;
            prev = s;
            off += s;
        }
        if off != FENCE || prev_size(base.add(FENCE), k) != prev || size(base.add(FENCE), k) != 0 {
            return Err("chunks do not tile the span up to the fence");
        }
        if loose != self.loose as usize {
            return Err("loose bytes do not match the loose chunks");
        }
        if FULL - free_bytes != self.used as usize {
            return Err("used bytes do not match the chunks");
        }
        for w in 0..WORDS {
            let bit = self.summary[w / 64] >> (w % 64) & 1 == 1;
            if bit != (self.bitmap[w] != 0) {
                return Err("summary and bitmap disagree");
            }
        }
        let mut last = 0u16;
        let mut n = 0usize;
        let mut u = self.first_free;
        while u != 0 {
            let c = self.chunk(u);
            if u <= last || !is_free(c, k) || addr_prev(c) != last {
                return Err("address list out of order or links broken");
            }
            last = u;
            n += 1;
            if n > free_count {
                return Err("address list longer than the free chunks");
            }
            u = addr_next(c);
        }
        if n != free_count {
            return Err("address list misses free chunks");
        }
        Ok(free_bytes)
    }
}

pub struct FreeIter<'a> {
    span: &'a Span,
    u: u16,
}

impl Iterator for FreeIter<'_> {
    type Item = *mut u8;
    fn next(&mut self) -> Option<*mut u8> {
        if self.u == 0 {
            return None;
        }
        let c = self.span.chunk(self.u);
        // SAFETY: `c` is on the list, so it is a free chunk with valid links.
        self.u = unsafe { addr_next(c) };
        Some(c)
    }
}
