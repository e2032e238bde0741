//! Blocks too big for an arena span: pool blocks (runs of pages from the page
//! pool) and huge blocks (a mapping each, unmapped on free).
//!
//! ```text
//!  run start                       p (payload, aligned)
//!  | ... padding ... | len u64 | tag u64 | payload ...                      |
//!                     p-16      p-8
//!  tag = log2(offset of p from the run start) << 32 | LARGE | HUGE?
//!  (the offset is 16, the alignment, or a page: always a power of two, and the
//!  alignment may be 4 GiB or more)
//! ```
//! The `LARGE` flag sits where a span chunk keeps its flags. Both words are stored
//! xor the process's secret (`config::secret`), whose id bits are those of no
//! arena, so a tag never passes `free`'s fast path and a forged or overwritten one
//! decodes to noise. Huge mappings start on a `SPAN` boundary, and the registry
//! marks that slot, so `free` can tell a huge block's start from anything else.

use crate::config;
use crate::os::{self, align_up, PAGE};
use crate::pool;
use crate::registry;
use crate::size::SPAN;
use crate::span::LARGE;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Blocks of at least this many bytes get a mapping of their own, as huge
/// blocks do: at first every block too big for an arena (0), until the
/// program frees one; from then on only huge blocks (`usize::MAX`: the test is
/// `ARENAPOOL_HUGE_MIN`'s). A program's first big blocks are fresh memory, and
/// a use after their free faults (see [`bury`]); a program that keeps making
/// and freeing them gets them from the pool, where freed memory is reused
/// warm. (glibc's mmap threshold also starts low and rises at the first frees,
/// one size at a time: the `large` workload, sizes 64 KiB to 32 MiB, ran three
/// times slower rising that way.)
static MAP_MIN: AtomicUsize = AtomicUsize::new(0);

/// Whether a block of `size` bytes gets a mapping of its own.
#[inline]
fn own_mapping(size: usize) -> bool {
    size >= config::huge_min() || size >= MAP_MIN.load(Ordering::Relaxed)
}

/// Tag flag: the block has a mapping of its own.
pub const HUGE: u64 = 4;
/// Tag mark: a bit no arena key touches and no cacheable chunk size has, so a
/// tag never passes `free`'s fast-path mask whatever arena decodes it.
pub const MARK: u64 = 1 << 11;
/// Tag flag (secure mode): the last page of the run is a guard page.
pub const GUARD: u64 = 8;
/// Tag flag: the block was freed; its mapping is gone but for the page that
/// holds this tag, kept read-only (a tombstone, see `bury`).
pub const FREED: u64 = 16;
/// Tag flag (secure mode): the block ends at its guard page; the tag's high
/// half holds the payload's offset / 16 (not its log2), the word before the
/// tag's length word the requested size, and the bytes between the requested
/// size and the guard page a canary (see [`alloc_with`]).
pub const RIGHT: u64 = 32;
/// Tag flag (secure mode, with `RIGHT`): the payload starts on a page
/// boundary and the pages before it (tag, size word, canary) are read-only
/// until the free, so a write just before the block faults.
pub const READONLY: u64 = 64;
/// Tag flag: the pool block was freed onto its freeing thread's shelf (see
/// `shelve`); it is in use to the pool until the shelf gives it back.
pub const SHELVED: u64 = 128;
const TAG_FLAGS: u64 = MARK | LARGE | HUGE | GUARD | FREED | RIGHT | READONLY | SHELVED;

/// Tombstones kept, most recent first out of a ring; the oldest is unmapped
/// when a new one comes.
const TOMBS: usize = 64;
#[allow(clippy::declare_interior_mutable_const)]
const NO_TOMB: AtomicUsize = AtomicUsize::new(0);
static TOMB: [AtomicUsize; TOMBS] = [NO_TOMB; TOMBS];
static TOMB_NEXT: AtomicUsize = AtomicUsize::new(0);

#[inline]
unsafe fn write_tag(p: *mut u8, len: usize, off: usize, flags: u64) {
    let k = config::secret();
    let off_field = if flags & RIGHT != 0 {
        (off / 16) as u64
    } else {
        debug_assert!(off.is_power_of_two());
        off.trailing_zeros() as u64
    };
    *(p.sub(16) as *mut u64) = len as u64 ^ k;
    *(p.sub(8) as *mut u64) = (off_field << 32 | MARK | LARGE | flags) ^ k;
}

/// The payload offset a decoded tag records.
#[inline]
fn tag_offset(tag: u64) -> usize {
    if tag & RIGHT != 0 {
        ((tag >> 32) as usize) << 4
    } else {
        1usize << ((tag >> 32) & 63)
    }
}

/// The canary byte `i` of right-aligned block `p` holds.
#[inline]
fn canary(p: *mut u8, i: usize) -> u8 {
    (crate::size::mix(config::secret() ^ p as u64) >> ((i % 8) * 8)) as u8
}

/// A mapping for a huge block, `SPAN`-aligned, registered.
unsafe fn map_huge(len: usize, align: usize) -> *mut u8 {
    let start = os::map_aligned(len, align.max(SPAN));
    if !start.is_null() {
        registry::set(start as usize, 1, registry::HUGE);
        pool::HUGE_BYTES.fetch_add(len, Ordering::Relaxed);
    }
    start
}

/// Unmaps freed huge block `p` (run `start`, `len`) but for a tombstone: the
/// page holding its tag, zeroed, the tag marked [`FREED`], read-only. A second
/// free of `p` then reads a tag that says so (and is reported) instead of
/// faulting, a write to the block faults, a read sees zeros, and the next
/// mapping cannot land on the same address. The last [`TOMBS`] are kept.
unsafe fn bury(p: *mut u8, start: *mut u8, len: usize, flags: u64) {
    let page = (p as usize - 16) & !(PAGE - 1);
    let off = p as usize - start as usize;
    registry::set(start as usize, 1, registry::NONE);
    pool::HUGE_BYTES.fetch_sub(len, Ordering::Relaxed);
    pool::HUGE_RETURNED.fetch_add(len - PAGE, Ordering::Relaxed);
    core::ptr::write_bytes(page as *mut u8, 0, PAGE);
    write_tag(p, len, off, flags | FREED);
    if !os::try_protect_read(page as *mut u8, PAGE)
        || (page > start as usize && !os::try_unmap(start, page - start as usize))
        || (start as usize + len > page + PAGE
            && !os::try_unmap((page + PAGE) as *mut u8, start as usize + len - page - PAGE))
    {
        // (At the kernel's limit on mappings: no tombstone; unmap it all.)
        os::try_unmap(start, len);
        return;
    }
    keep_tomb(page);
}

/// Keeps tombstone `page` (read-only, the freed block's tag on it): the
/// oldest of the [`TOMBS`] kept is unmapped.
unsafe fn keep_tomb(page: usize) {
    let old = TOMB[TOMB_NEXT.fetch_add(1, Ordering::Relaxed) % TOMBS].swap(page, Ordering::AcqRel);
    if old != 0 {
        os::try_unmap(old as *mut u8, PAGE);
    }
}

/// Huge block `p` (payload offset 16, run `start` of `len` bytes) has moved
/// elsewhere (`mremap`), its old pages unmapped: a tombstone is mapped where
/// its tag was, as [`bury`] leaves one, so that a use of the stale pointer
/// (a free, a `realloc`, `malloc_usable_size`) is reported instead of
/// faulting. Not if something was mapped there meanwhile.
unsafe fn entomb_moved(p: *mut u8, start: *mut u8, len: usize) {
    if !os::map_at(start, PAGE) {
        return;
    }
    write_tag(p, len, 16, HUGE | FREED);
    if os::try_protect_read(start, PAGE) {
        keep_tomb(start as usize);
    } else {
        os::try_unmap(start, PAGE);
    }
}

/// Whether `p` is a freed block that still says so: one freed from its own
/// mapping whose tombstone is still there (see `bury`), or a pool block on a
/// thread's shelf (see `shelve`). Reads the 8 bytes before `p` (readable:
/// `free` read them).
pub unsafe fn is_freed(p: *mut u8) -> bool {
    let tag = *(p.sub(8) as *const u64) ^ config::secret();
    let off_bits = if tag & RIGHT != 0 { !0 << 32 } else { 63 << 32 };
    tag & !(off_bits | TAG_FLAGS) == 0
        && (tag & (MARK | LARGE | HUGE | FREED) == MARK | LARGE | HUGE | FREED
            || (tag & (MARK | LARGE | HUGE | SHELVED) == MARK | LARGE | SHELVED
                && registry::get(p as usize) == registry::POOL))
}

/// Pool block `p` (run `start`, `len` bytes) freed: kept on the calling
/// thread's shelf if it has room (see [`crate::arena::Shelf`]) and the block is
/// plain (16-aligned, no guard page: not secure mode's), so that the thread's
/// next pool block of about its size needs no pool lock. True if shelved.
#[inline]
unsafe fn shelve(p: *mut u8, start: *mut u8, len: usize, flags: u64) -> bool {
    if flags & !(MARK | LARGE) != 0 || p as usize - start as usize != 16 {
        return false;
    }
    match my_arena() {
        Some(a) if (*a).shelf.put(start as usize, len) => {
            write_tag(p, len, 16, SHELVED);
            true
        }
        _ => false,
    }
}

/// A pool block of run length `len` or up to a quarter more, 16-aligned, off
/// the calling thread's shelf; null if none fits.
#[inline]
unsafe fn unshelve(len: usize) -> *mut u8 {
    let Some((start, rlen)) = my_arena().and_then(|a| (*a).shelf.take(len, len + len / 4)) else {
        return core::ptr::null_mut();
    };
    let p = (start as *mut u8).add(16);
    write_tag(p, rlen, 16, 0);
    p
}

/// The calling thread's own arena, whose shelf it alone touches; None for a
/// thread without one (or past its exit cleanup).
#[inline]
fn my_arena() -> Option<*mut crate::arena::Arena> {
    crate::thread::has_arena().then(crate::thread::arena)
}

/// Gives the calling thread's shelf back to the pool (`malloc_trim`'s first
/// step).
pub unsafe fn flush_own_shelf() {
    if my_arena().is_some_and(|a| (*a).shelf.bytes != 0) {
        give_back_shelf(&mut pool::lock());
    }
}

/// Gives the calling thread's shelf back to `pool` (locked). On a pool-block
/// request the shelf did not serve: what the shelf holds is not what the
/// program asks for now, so it goes back, where its runs can serve this
/// request or merge with their neighbours.
fn give_back_shelf(pool: &mut pool::PoolInner) {
    if let Some(a) = my_arena() {
        // SAFETY: the calling thread's own arena, touched by no other thread.
        unsafe { (*a).flush_shelf(&mut pool::Locked(pool)) };
    }
}

/// Payload offset and run length for `size` bytes at `align`.
#[inline]
fn geometry(size: usize, align: usize) -> Option<(usize, usize)> {
    let off = align.max(16);
    let len = off.checked_add(size)?.checked_add(PAGE - 1)? & !(PAGE - 1);
    Some((off, len))
}

/// Allocates a pool or huge block. Returns the payload (null when out of memory)
/// and whether it is known to read as zeros.
///
/// # Safety
/// `align` is a power of two.
pub unsafe fn alloc(size: usize, align: usize) -> (*mut u8, bool) {
    alloc_with(size, align, false)
}

/// [`alloc`], with a guard page (no access) after the block when `guard`.
pub unsafe fn alloc_with(size: usize, align: usize, guard: bool) -> (*mut u8, bool) {
    let Some((off, len)) = geometry(size, align) else {
        return (core::ptr::null_mut(), false);
    };
    // Secure mode (`guard`): the block ends where its guard page starts, so
    // that an overflow faults at once, the few bytes of rounding up to the
    // alignment hold a canary, and the requested size is kept before the tag.
    let right = guard && align <= PAGE && size < 1 << 36;
    let (off, len) = if right {
        let Some(r) = size.checked_add(align.max(16) - 1) else {
            return (core::ptr::null_mut(), false);
        };
        let r = r & !(align.max(16) - 1);
        let len = align_up(r + 32, PAGE);
        (len - r, len)
    } else {
        (off, len)
    };
    let extra = if guard { PAGE } else { 0 };
    let ro = right && off % PAGE == 0;
    let flags = (if guard { GUARD } else { 0 })
        | (if right { RIGHT } else { 0 })
        | (if ro { READONLY } else { 0 });
    // The pool lock is held across fork by handlers the first arena registers: a
    // program whose first allocation is a big block gets its arena here.
    crate::thread::arena_ready();
    config::load();
    if own_mapping(size) {
        let len = len + extra;
        let start = map_huge(len, align);
        if start.is_null() {
            return (start, false);
        }
        if guard {
            os::protect(start.add(len - PAGE), PAGE, false);
        }
        let p = start.add(off);
        write_tag(p, len, off, HUGE | flags);
        if right {
            mark_end(p, size, start as usize, start as usize + len - PAGE);
        }
        if ro {
            os::protect_read(start, off);
        }
        return (p, true);
    }
    // Pool blocks: with alignment above a page, only the header page precedes p.
    let (off, len, lead) = if align > PAGE {
        (PAGE, PAGE + align_up(size, PAGE) + extra, PAGE)
    } else {
        (off, len + extra, 0)
    };
    if !guard && align <= 16 {
        let p = unshelve(len);
        if !p.is_null() {
            return (p, false);
        }
    }
    // A miss: the shelf goes back, in the lock acquisition that serves the
    // request (see `give_back_shelf`).
    let (start, clean) =
        crate::pool::take_run(len, align, lead, give_back_shelf, |p| p.large_in_use += len);
    if start.is_null() {
        return (start, false);
    }
    if guard {
        os::protect(start.add(len - PAGE), PAGE, false);
    }
    let p = start.add(off);
    write_tag(p, len, off, flags);
    if right {
        mark_end(p, size, start as usize, start as usize + len - PAGE);
    }
    if ro {
        os::protect_read(start, off);
    }
    (p, clean)
}

/// Bit where the size word of a right-aligned block keeps how it was made
/// (see `secure::set_kind`).
pub const KIND_SHIFT: u32 = 62;

/// The size word of right-aligned block `p` (secure mode), if it has one.
pub unsafe fn size_word(p: *mut u8) -> Option<*mut u8> {
    let tag = *(p.sub(8) as *const u64) ^ config::secret();
    (tag & RIGHT != 0).then(|| p.sub(24))
}

/// Records how right-aligned block `p` was made (see `secure::set_kind`) in
/// its size word, opening its read-only front pages for the write if need be.
pub unsafe fn mark_kind(p: *mut u8, kind: u64) {
    let (start, _, flags) = tag_of(p);
    let front = p as usize - start as usize;
    if flags & READONLY != 0 {
        os::protect(start, front, true);
    }
    *(p.sub(24) as *mut u64) ^= kind << KIND_SHIFT;
    if flags & READONLY != 0 {
        os::protect_read(start, front);
    }
}

/// Right-aligned block `p` of `size` bytes ending at `end`: keeps the size
/// before the tag and fills the bytes past it with the canary.
unsafe fn mark_end(p: *mut u8, size: usize, start: usize, end: usize) {
    *(p.sub(24) as *mut u64) = size as u64 ^ config::secret();
    for i in size..end - p as usize {
        *p.add(i) = canary(p, i);
    }
    // The run's front, before the size word, too (an underflow).
    let front = p as usize - 24 - start;
    for i in 0..front {
        *(start as *mut u8).add(i) = canary(p, i);
    }
}

/// The requested size of right-aligned block `p` ending at `end`, after
/// checking its canary (aborts on an overflow or a size that cannot be).
unsafe fn checked_end(p: *mut u8, start: usize, end: usize) -> usize {
    let size = (*(p.sub(24) as *const u64) ^ config::secret()) as usize & ((1 << KIND_SHIFT) - 1);
    let room = end - p as usize;
    let front = p as usize - 24 - start;
    if (0..front).any(|i| *(start as *const u8).add(i) != canary(p, i)) {
        crate::os::fatal_at(
            b"free: heap underflow before the start of block",
            Some(p as usize),
        );
    }
    if size > room || room - size >= PAGE || (size..room).any(|i| *p.add(i) != canary(p, i)) {
        crate::os::fatal_at(
            b"free: heap overflow past the end of block",
            Some(p as usize),
        );
    }
    size
}

/// Start, length (guard page included) and flags of validated block `p`.
#[inline]
unsafe fn tag_of(p: *mut u8) -> (*mut u8, usize, u64) {
    let k = config::secret();
    let tag = *(p.sub(8) as *const u64) ^ k;
    let len = (*(p.sub(16) as *const u64) ^ k) as usize;
    (p.sub(tag_offset(tag)), len, tag & 0xffff)
}

/// Whether `p` is a pool or huge block, judged from its tag and the registry
/// (a pool block may be one already freed: [`free`] checks that under the pool
/// lock). Reads only the 16 bytes before `p` (readable: `free` read them).
pub unsafe fn validate(p: *mut u8) -> bool {
    let k = config::secret();
    let tag = *(p.sub(8) as *const u64) ^ k;
    let off_bits = if tag & RIGHT != 0 { !0 << 32 } else { 63 << 32 };
    if tag & !(off_bits | TAG_FLAGS) != 0 || tag & (MARK | LARGE | FREED | SHELVED) != MARK | LARGE
    {
        return false;
    }
    let off = tag_offset(tag);
    let len = (*(p.sub(16) as *const u64) ^ k) as usize;
    let Some(start) = (p as usize).checked_sub(off) else {
        return false;
    };
    if off < 16 || start % PAGE != 0 || len % PAGE != 0 || len < off || len > crate::size::MAX_REQ {
        return false;
    }
    if tag & HUGE != 0 {
        return start % SPAN == 0 && registry::get(start) == registry::HUGE;
    }
    registry::get(p as usize) == registry::POOL && registry::get(start) == registry::POOL
}

/// Bytes usable at `p`.
pub unsafe fn usable(p: *mut u8) -> usize {
    let (start, len, flags) = tag_of(p);
    let guard = if flags & GUARD != 0 { PAGE } else { 0 };
    let end = start as usize + len - guard;
    if flags & RIGHT != 0 {
        return checked_end(p, start as usize, end);
    }
    end - p as usize
}

/// Frees a pool or huge block.
///
/// # Safety
/// `p` is a live block returned by [`alloc`].
pub unsafe fn free(p: *mut u8) {
    free_with(p, true)
}

/// Frees pool or huge block `p` that `realloc` moved out of: not onto the
/// shelf, since the program now wants a bigger block, and the run, back in
/// the pool, can merge with its neighbours into one.
///
/// # Safety
/// As [`free`].
pub unsafe fn free_moved(p: *mut u8) {
    free_with(p, false)
}

unsafe fn free_with(p: *mut u8, may_shelve: bool) {
    let (start, len, flags) = tag_of(p);
    if flags & RIGHT != 0 {
        checked_end(p, start as usize, start as usize + len - PAGE);
    }
    if flags & READONLY != 0 {
        os::protect(start, p as usize - start as usize, true);
    }
    if flags & HUGE != 0 {
        if len < config::huge_min() {
            // The program frees big blocks: they come from the pool from now
            // on, where freed memory is reused warm (let the pool keep as much
            // as it would had this one been a pool block).
            MAP_MIN.store(usize::MAX, Ordering::Relaxed);
            let mut pool = crate::pool::lock();
            pool.largest_freed = pool.largest_freed.max(len);
        }
        if flags & GUARD != 0 {
            os::protect(start.add(len - PAGE), PAGE, true);
        }
        bury(p, start, len, flags & !GUARD);
    } else {
        if may_shelve && shelve(p, start, len, flags) {
            return;
        }
        // The guard page is lifted before the lock is taken (no system call
        // under it). A second free of a block whose run is still free finds
        // the page read-write already, and the check below reports it.
        if flags & GUARD != 0 {
            os::protect(start.add(len - PAGE), PAGE, true);
        }
        let mut pool = crate::pool::lock();
        if pool.overlaps_free(start as usize, len) {
            drop(pool);
            os::fatal_at(
                b"free of a block already freed (double free):",
                Some(p as usize),
            );
        }
        pool.free_block(start, len);
        drop(pool);
        crate::pool::purge_parked();
    }
}

/// Resizes a block in place when it can: within its run, into the free run
/// after it or by giving its tail pages back (pool blocks), or by `mremap`
/// (huge blocks). Returns the new payload, or null if it must be moved by
/// copying.
///
/// # Safety
/// `p` is a live block returned by [`alloc`] with alignment at most 16.
pub unsafe fn realloc_in_place(p: *mut u8, new: usize) -> *mut u8 {
    let (start, len, flags) = tag_of(p);
    if flags & GUARD != 0 {
        return core::ptr::null_mut();
    }
    let huge = flags & HUGE != 0;
    let have = start as usize + len - p as usize;
    if new <= have && new >= have / 2 {
        return p;
    }
    let off = p as usize - start as usize;
    if huge && new >= config::huge_min() && off == 16 {
        let Some((_, nlen)) = geometry(new, 16) else {
            return core::ptr::null_mut();
        };
        // Unmark the old start first: once `remap` moves the pages, another
        // thread may map something there and mark it.
        registry::set(start as usize, 1, registry::NONE);
        let q = os::remap(start, len, nlen, SPAN);
        if q.is_null() {
            registry::set(start as usize, 1, registry::HUGE);
            return q;
        }
        registry::set(q as usize, 1, registry::HUGE);
        if q != start {
            entomb_moved(p, start, len);
        }
        if nlen >= len {
            pool::HUGE_BYTES.fetch_add(nlen - len, Ordering::Relaxed);
        } else {
            pool::HUGE_BYTES.fetch_sub(len - nlen, Ordering::Relaxed);
        }
        let np = q.add(off);
        write_tag(np, nlen, off, HUGE);
        return np;
    }
    if huge {
        return core::ptr::null_mut();
    }
    // A pool block (without a guard page, so not right-aligned either): grows
    // into the free run that starts where it ends, or gives its tail pages
    // back (a move would copy it all, and leave the old block free beside a
    // new one until the next program's need fills it). Its payload offset is
    // 16, its alignment, or a page: `geometry` gives the run it needs.
    let Some((_, nlen)) = geometry(new, off) else {
        return core::ptr::null_mut();
    };
    if nlen == len {
        return p;
    }
    let end = start as usize + len;
    let mut pool = pool::lock();
    if nlen > len {
        // A pool request the shelf cannot serve, as a miss: the shelf goes
        // back first (the run after the block may be on it).
        give_back_shelf(&mut pool);
        if !pool.take_at(end, nlen - len) {
            return core::ptr::null_mut();
        }
        pool.large_in_use += nlen - len;
    } else {
        pool.large_in_use -= len - nlen;
        pool.free_run(start.add(nlen), len - nlen, false);
    }
    drop(pool);
    write_tag(p, nlen, off, flags);
    p
}
