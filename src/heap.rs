//! The allocation entry points that both front doors share: C `malloc` semantics
//! over arenas (small and medium blocks), pool blocks and huge blocks.
//!
//! Sizes: requests up to `CACHE_MAX_REQ` go through the thread cache (the fast
//! path); up to `ARENA_MAX_REQ` are carved from the thread's arena store; up to
//! `HUGE_MIN` are pool blocks; larger ones are mapped on their own.

use crate::arena::{CacheBin, PARKED};

const _: () = assert!(core::mem::size_of::<CacheBin>() == UNIT);
use crate::config;
use crate::large;
use crate::os;
use crate::pool::{Global, Locked, POOL};
use crate::size::*;
use crate::span::{self, FREE, LARGE, SIZE_MASK};
use crate::thread;
use core::ptr::null_mut;
use core::sync::atomic::Ordering;

/// Allocates `n` bytes, 16-byte aligned. Null (and `errno = ENOMEM`) when out of
/// memory.
#[inline(always)]
pub unsafe fn malloc(n: usize) -> *mut u8 {
    if n <= CACHE_MAX_REQ {
        // A thread without an arena sees the empty arena here, whose cache is empty.
        let a = thread::arena();
        let bin = (*a).cache.get_unchecked_mut(class_of_req(n));
        let p = bin.head;
        if !p.is_null() {
            bin.head = *(p as *mut *mut u8);
            bin.room += 1;
            return p;
        }
    }
    malloc_slow(n)
}

#[cold]
#[inline(never)]
unsafe fn malloc_slow(n: usize) -> *mut u8 {
    let p = malloc_generic(n);
    if p.is_null() {
        *libc::__errno_location() = libc::ENOMEM;
    }
    p
}

unsafe fn malloc_generic(n: usize) -> *mut u8 {
    if n <= config::arena_max_req() {
        let a = thread::arena_or_init();
        if a.is_null() {
            return null_mut();
        }
        if thread::is_exited(a) {
            return alloc_exited(n, UNIT);
        }
        if n <= CACHE_MAX_REQ {
            return (*a).refill(class_of_req(n), &mut Global);
        }
        let c = (*a).alloc_chunk(chunk_size(n), &mut Global);
        return if c.is_null() { c } else { c.add(HDR) };
    }
    if n > MAX_REQ {
        return null_mut();
    }
    large::alloc(n, UNIT).0
}

/// Allocates for a thread past its exit cleanup: borrows a parked arena under the
/// pool lock, carves the block from its store, and parks it again at once.
#[cold]
unsafe fn alloc_exited(n: usize, align: usize) -> *mut u8 {
    let mut pool = POOL.lock();
    let a = pool.new_arena();
    if a.is_null() {
        return null_mut();
    }
    let p = {
        let mut src = Locked(&mut pool);
        let p = if align <= UNIT {
            let c = (*a).alloc_chunk(chunk_size(n), &mut src);
            if c.is_null() {
                c
            } else {
                c.add(HDR)
            }
        } else {
            (*a).alloc_aligned(n, align, &mut src)
        };
        (*a).flush_all(&mut src);
        p
    };
    pool.park(a);
    p
}

/// Frees a block from any thread. `p` may be null.
#[inline(always)]
pub unsafe fn free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    let h = *(p.sub(HDR) as *const u64);
    // One range check: a cacheable size and not free (FREE is bit 31). A pool
    // block's tag has size bits 0: its class has no room, so the span (which a pool
    // block does not have) is only looked at for span chunks.
    // A cache bin is UNIT bytes, so the chunk size is also the bin's offset.
    let size = (h as u32 & !(UNIT as u32 - 1)) as usize;
    if size < NCLASSES * UNIT {
        let a = thread::arena();
        let bin = &mut *((*a).cache.as_mut_ptr() as *mut u8)
            .add(size)
            .cast::<CacheBin>();
        if bin.room != 0 && (*span::span_of(p)).arena.load(Ordering::Relaxed) == a {
            *(p as *mut *mut u8) = bin.head;
            bin.head = p;
            bin.room -= 1;
            return;
        }
    }
    free_slow(p, h)
}

#[cold]
#[inline(never)]
unsafe fn free_slow(p: *mut u8, h: u64) {
    // `free` never changes errno (the lock's futex calls and munmap could).
    let e = *libc::__errno_location();
    free_slower(p, h);
    *libc::__errno_location() = e;
}

unsafe fn free_slower(p: *mut u8, h: u64) {
    if h & LARGE != 0 {
        return large::free(p);
    }
    if h & FREE != 0 {
        os::fatal_at(b"double free of", Some(p as usize));
    }
    let owner = (*span::span_of(p)).arena.load(Ordering::Relaxed);
    if owner == thread::arena() {
        return (*owner).free_local(p, &mut Global);
    }
    (*owner).push_remote(p);
    if (*owner).state.load(Ordering::SeqCst) == PARKED {
        POOL.lock().drain_parked(owner);
    }
}

/// Bytes usable at live block `p`.
pub unsafe fn usable_size(p: *mut u8) -> usize {
    let h = *(p.sub(HDR) as *const u64);
    if h & LARGE != 0 {
        large::usable(p)
    } else {
        (h & SIZE_MASK) as usize - HDR
    }
}

/// Allocates `n` zeroed bytes. Fresh pool and huge blocks are zero already.
pub unsafe fn zalloc(n: usize) -> *mut u8 {
    if n <= config::arena_max_req() {
        let p = malloc(n);
        if !p.is_null() {
            core::ptr::write_bytes(p, 0, n);
        }
        return p;
    }
    if n > MAX_REQ {
        return null_mut();
    }
    let (p, clean) = large::alloc(n, UNIT);
    if !p.is_null() && !clean {
        core::ptr::write_bytes(p, 0, n);
    }
    p
}

/// Allocates `n` bytes aligned to `align` (a power of two).
pub unsafe fn aligned(align: usize, n: usize) -> *mut u8 {
    if align <= UNIT {
        return malloc(n);
    }
    if n > MAX_REQ || align > MAX_REQ / 2 {
        return null_mut();
    }
    if n + align + 2 * MIN_CHUNK <= config::arena_max_req() + HDR {
        let a = thread::arena_or_init();
        if a.is_null() {
            return null_mut();
        }
        if thread::is_exited(a) {
            return alloc_exited(n, align);
        }
        return (*a).alloc_aligned(n, align, &mut Global);
    }
    large::alloc(n, align).0
}

/// Resizes `p` (16-byte alignment) to `n > 0` bytes; null (with `p` untouched)
/// when out of memory.
pub unsafe fn realloc(p: *mut u8, n: usize) -> *mut u8 {
    if p.is_null() {
        return malloc(n);
    }
    let h = *(p.sub(HDR) as *const u64);
    if h & LARGE != 0 {
        if n > MAX_REQ {
            return null_mut();
        }
        if n > config::arena_max_req() {
            let q = large::realloc_in_place(p, n);
            if !q.is_null() {
                return q;
            }
        }
    } else if n <= config::arena_max_req() {
        let c = p.sub(HDR);
        let s = (h & SIZE_MASK) as usize;
        let need = chunk_size(n);
        if need <= s && (s - need < MIN_CHUNK || s <= CACHE_MAX_CHUNK) {
            return p;
        }
        let me = thread::arena();
        if (*span::span_of(p)).arena.load(Ordering::Relaxed) == me
            && (*me).resize_in_place(c, need, &mut Global)
        {
            return p;
        }
    }
    move_to(p, n, malloc(n))
}

/// Finishes a realloc by copying into `q` (if it is not null) and freeing `p`.
pub unsafe fn move_to(p: *mut u8, n: usize, q: *mut u8) -> *mut u8 {
    if q.is_null() {
        return q;
    }
    core::ptr::copy_nonoverlapping(p, q, usable_size(p).min(n));
    free(p);
    q
}
