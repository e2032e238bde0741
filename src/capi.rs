//! The C front door (feature `preload`): the `malloc` family with C and glibc
//! semantics, exported under the names programs and libc itself call. A thin
//! layer: the C rules (errno, overflow, argument checks) live here, the work in
//! `heap`.

use crate::heap;
use crate::os::{align_up, PAGE};
use crate::size::UNIT;
use core::ffi::c_void;
use core::ptr::null_mut;

#[inline(always)]
fn set_errno(e: i32) {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// A request refused before it reaches `heap` (an overflowing size): null with
/// `ENOMEM`. (`heap`'s own null returns set `ENOMEM` themselves.)
#[cold]
fn too_large() -> *mut c_void {
    set_errno(libc::ENOMEM);
    null_mut()
}

#[no_mangle]
pub unsafe extern "C" fn malloc(n: usize) -> *mut c_void {
    heap::malloc(n) as *mut c_void
}

#[no_mangle]
pub unsafe extern "C" fn free(p: *mut c_void) {
    heap::free(p as *mut u8)
}

#[no_mangle]
pub unsafe extern "C" fn cfree(p: *mut c_void) {
    heap::free(p as *mut u8)
}

#[no_mangle]
pub unsafe extern "C" fn free_sized(p: *mut c_void, _size: usize) {
    heap::free(p as *mut u8)
}

#[no_mangle]
pub unsafe extern "C" fn free_aligned_sized(p: *mut c_void, _align: usize, _size: usize) {
    heap::free(p as *mut u8)
}

#[no_mangle]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        Some(total) => heap::zalloc(total) as *mut c_void,
        None => too_large(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn realloc(p: *mut c_void, n: usize) -> *mut c_void {
    if !p.is_null() && n == 0 {
        // glibc: realloc(p, 0) frees p and returns NULL.
        heap::free(p as *mut u8);
        return null_mut();
    }
    heap::realloc(p as *mut u8, n) as *mut c_void
}

#[no_mangle]
pub unsafe extern "C" fn reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        Some(total) => realloc(p, total),
        None => too_large(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, n: usize) -> i32 {
    if !align.is_power_of_two() || align % core::mem::size_of::<*mut c_void>() != 0 {
        return libc::EINVAL;
    }
    let p = heap::aligned(align, n);
    if p.is_null() {
        return libc::ENOMEM;
    }
    *out = p as *mut c_void;
    0
}

#[no_mangle]
pub unsafe extern "C" fn aligned_alloc(align: usize, n: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        set_errno(libc::EINVAL);
        return null_mut();
    }
    heap::aligned(align, n) as *mut c_void
}

#[no_mangle]
pub unsafe extern "C" fn memalign(align: usize, n: usize) -> *mut c_void {
    // glibc rounds an alignment that is not a power of two up to one.
    let align = if align.is_power_of_two() {
        align
    } else if align > usize::MAX / 2 {
        set_errno(libc::EINVAL);
        return null_mut();
    } else {
        align.next_power_of_two()
    };
    heap::aligned(align.max(UNIT), n) as *mut c_void
}

#[no_mangle]
pub unsafe extern "C" fn valloc(n: usize) -> *mut c_void {
    heap::aligned(PAGE, n) as *mut c_void
}

#[no_mangle]
pub unsafe extern "C" fn pvalloc(n: usize) -> *mut c_void {
    if n > usize::MAX - PAGE {
        return too_large();
    }
    heap::aligned(PAGE, align_up(n.max(1), PAGE)) as *mut c_void
}

#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(p: *mut c_void) -> usize {
    if p.is_null() {
        0
    } else {
        heap::usable_size(p as *mut u8)
    }
}

/// Returns free pool memory to the OS (the calling thread's shelf first goes
/// back to the pool); 1 if any was released.
#[no_mangle]
pub unsafe extern "C" fn malloc_trim(_pad: usize) -> i32 {
    crate::large::flush_own_shelf();
    let mut pool = crate::pool::lock();
    let before = pool.unmapped_total;
    pool.trim(0);
    (pool.unmapped_total != before) as i32
}

/// Prints arenapool's statistics table to stderr (as glibc's prints its own).
#[no_mangle]
pub unsafe extern "C" fn malloc_stats() {
    crate::stats::print_stats()
}

/// glibc's `struct mallinfo2`: every field a `size_t`.
#[repr(C)]
#[derive(Default)]
pub struct MallInfo2 {
    /// Non-mmapped space: the pool's mapped bytes.
    pub arena: usize,
    /// Free chunks: the pool's free runs.
    pub ordblks: usize,
    pub smblks: usize,
    /// Huge blocks' bytes are in `hblkhd`; their count is not kept.
    pub hblks: usize,
    pub hblkhd: usize,
    /// Peak mapped bytes.
    pub usmblks: usize,
    /// Bytes in thread caches.
    pub fsmblks: usize,
    /// Bytes in use.
    pub uordblks: usize,
    /// Mapped bytes not in use.
    pub fordblks: usize,
    /// Bytes `malloc_trim` could release.
    pub keepcost: usize,
}

#[no_mangle]
pub unsafe extern "C" fn mallinfo2() -> MallInfo2 {
    let s = crate::stats::stats();
    MallInfo2 {
        arena: s.mapped_bytes - s.huge_bytes,
        ordblks: s.pool_free_runs,
        smblks: 0,
        hblks: 0,
        hblkhd: s.huge_bytes,
        usmblks: s.peak_mapped_bytes,
        fsmblks: s.cached_bytes,
        uordblks: s.in_use_bytes,
        fordblks: s.mapped_bytes.saturating_sub(s.in_use_bytes),
        keepcost: s.pool_free_bytes,
    }
}

/// glibc's older `struct mallinfo` (fields `int`, saturated).
#[repr(C)]
pub struct MallInfo([i32; 10]);

#[no_mangle]
pub unsafe extern "C" fn mallinfo() -> MallInfo {
    let m = mallinfo2();
    let f = [
        m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd, m.usmblks, m.fsmblks, m.uordblks,
        m.fordblks, m.keepcost,
    ];
    MallInfo(f.map(|v| v.min(i32::MAX as usize) as i32))
}

/// No tunables are taken through `mallopt`; 0 tells the caller so (as glibc does
/// for an unknown parameter).
#[no_mangle]
pub unsafe extern "C" fn mallopt(_param: i32, _value: i32) -> i32 {
    0
}

// The glibc-internal names some programs call directly.
#[no_mangle]
pub unsafe extern "C" fn __libc_malloc(n: usize) -> *mut c_void {
    malloc(n)
}
#[no_mangle]
pub unsafe extern "C" fn __libc_free(p: *mut c_void) {
    free(p)
}
#[no_mangle]
pub unsafe extern "C" fn __libc_calloc(n: usize, size: usize) -> *mut c_void {
    calloc(n, size)
}
#[no_mangle]
pub unsafe extern "C" fn __libc_realloc(p: *mut c_void, n: usize) -> *mut c_void {
    realloc(p, n)
}
#[no_mangle]
pub unsafe extern "C" fn __libc_memalign(align: usize, n: usize) -> *mut c_void {
    memalign(align, n)
}
#[no_mangle]
pub unsafe extern "C" fn __posix_memalign(out: *mut *mut c_void, align: usize, n: usize) -> i32 {
    posix_memalign(out, align, n)
}
// glibc exports these two as well (GLIBC_2.2.5): left to glibc, their blocks would
// come from glibc's heap and crash our `free`.
#[no_mangle]
pub unsafe extern "C" fn __libc_valloc(n: usize) -> *mut c_void {
    valloc(n)
}
#[no_mangle]
pub unsafe extern "C" fn __libc_pvalloc(n: usize) -> *mut c_void {
    pvalloc(n)
}
