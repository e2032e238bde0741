//! The C++ front door (feature `preload`): `operator new` and `operator
//! delete` in all their forms, so that C++ programs reach the allocator
//! without a call through libstdc++, and secure mode can check that each
//! block goes back the way it came (`delete` for `new`, `delete[]` for
//! `new[]`, a sized delete with the size it was made with).
//!
//! A throwing `new` that finds no memory hands over to the next `operator new`
//! (libstdc++'s), which runs the program's new-handler and throws
//! `std::bad_alloc`: exceptions cannot be thrown from here.

use crate::config;
use crate::heap;
use crate::secure::{self, Kind};
use crate::size::UNIT;
use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Makes a block for `new` (`kind`), `n` bytes at `align`; null if none.
unsafe fn make(n: usize, align: usize, kind: Kind) -> *mut u8 {
    let p = if align <= UNIT {
        heap::malloc(n)
    } else {
        heap::aligned(align, n)
    };
    if !p.is_null() && config::secure() {
        secure::set_kind(p, kind);
    }
    p
}

/// The next definition of the `operator new` named `name` (NUL-terminated),
/// looked up once into `slot`.
unsafe fn next(slot: &AtomicUsize, name: &core::ffi::CStr) -> usize {
    let mut f = slot.load(Ordering::Acquire);
    if f == 0 {
        f = libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) as usize;
        slot.store(f, Ordering::Release);
    }
    if f == 0 {
        crate::os::fatal(b"out of memory in operator new, and no other operator new to throw");
    }
    f
}

/// `new` that throws: our block, or the next `operator new`'s answer (a block,
/// after the new-handler freed memory, or `std::bad_alloc`).
unsafe fn make_or_throw(
    n: usize,
    align: usize,
    kind: Kind,
    slot: &AtomicUsize,
    name: &core::ffi::CStr,
) -> *mut c_void {
    let p = make(n, align, kind);
    if !p.is_null() {
        return p as *mut c_void;
    }
    let f = next(slot, name);
    let q = if align <= UNIT {
        let f: unsafe extern "C" fn(usize) -> *mut c_void = core::mem::transmute(f);
        f(n)
    } else {
        let f: unsafe extern "C" fn(usize, usize) -> *mut c_void = core::mem::transmute(f);
        f(n, align)
    };
    if !q.is_null() && config::secure() {
        secure::set_kind(q as *mut u8, kind);
    }
    q
}

/// Frees `p` for `delete` or `delete[]` (`kind`), checking it in secure mode.
unsafe fn unmake(p: *mut c_void, kind: Kind, size: Option<usize>) {
    if p.is_null() {
        return;
    }
    if config::secure() {
        secure::check_delete(p as *mut u8, kind, size);
    }
    heap::free(p as *mut u8)
}

static NEXT_NEW: AtomicUsize = AtomicUsize::new(0);
static NEXT_NEW_ARRAY: AtomicUsize = AtomicUsize::new(0);
static NEXT_NEW_ALIGNED: AtomicUsize = AtomicUsize::new(0);
static NEXT_NEW_ARRAY_ALIGNED: AtomicUsize = AtomicUsize::new(0);

// operator new(size_t), new[](size_t)
#[no_mangle]
pub unsafe extern "C" fn _Znwm(n: usize) -> *mut c_void {
    make_or_throw(n, UNIT, Kind::New, &NEXT_NEW, c"_Znwm")
}
#[no_mangle]
pub unsafe extern "C" fn _Znam(n: usize) -> *mut c_void {
    make_or_throw(n, UNIT, Kind::NewArray, &NEXT_NEW_ARRAY, c"_Znam")
}
// operator new(size_t, align_val_t), new[](size_t, align_val_t)
#[no_mangle]
pub unsafe extern "C" fn _ZnwmSt11align_val_t(n: usize, align: usize) -> *mut c_void {
    make_or_throw(
        n,
        align,
        Kind::New,
        &NEXT_NEW_ALIGNED,
        c"_ZnwmSt11align_val_t",
    )
}
#[no_mangle]
pub unsafe extern "C" fn _ZnamSt11align_val_t(n: usize, align: usize) -> *mut c_void {
    make_or_throw(
        n,
        align,
        Kind::NewArray,
        &NEXT_NEW_ARRAY_ALIGNED,
        c"_ZnamSt11align_val_t",
    )
}
// The nothrow forms: null when out of memory.
#[no_mangle]
pub unsafe extern "C" fn _ZnwmRKSt9nothrow_t(n: usize, _: *const c_void) -> *mut c_void {
    make(n, UNIT, Kind::New) as *mut c_void
}
#[no_mangle]
pub unsafe extern "C" fn _ZnamRKSt9nothrow_t(n: usize, _: *const c_void) -> *mut c_void {
    make(n, UNIT, Kind::NewArray) as *mut c_void
}
#[no_mangle]
pub unsafe extern "C" fn _ZnwmSt11align_val_tRKSt9nothrow_t(
    n: usize,
    align: usize,
    _: *const c_void,
) -> *mut c_void {
    make(n, align, Kind::New) as *mut c_void
}
#[no_mangle]
pub unsafe extern "C" fn _ZnamSt11align_val_tRKSt9nothrow_t(
    n: usize,
    align: usize,
    _: *const c_void,
) -> *mut c_void {
    make(n, align, Kind::NewArray) as *mut c_void
}

// operator delete(void*), delete[](void*), and their sized, aligned and
// nothrow forms.
#[no_mangle]
pub unsafe extern "C" fn _ZdlPv(p: *mut c_void) {
    unmake(p, Kind::New, None)
}
#[no_mangle]
pub unsafe extern "C" fn _ZdaPv(p: *mut c_void) {
    unmake(p, Kind::NewArray, None)
}
#[no_mangle]
pub unsafe extern "C" fn _ZdlPvm(p: *mut c_void, n: usize) {
    unmake(p, Kind::New, Some(n))
}
#[no_mangle]
pub unsafe extern "C" fn _ZdaPvm(p: *mut c_void, n: usize) {
    unmake(p, Kind::NewArray, Some(n))
}
#[no_mangle]
pub unsafe extern "C" fn _ZdlPvSt11align_val_t(p: *mut c_void, _align: usize) {
    unmake(p, Kind::New, None)
}
#[no_mangle]
pub unsafe extern "C" fn _ZdaPvSt11align_val_t(p: *mut c_void, _align: usize) {
    unmake(p, Kind::NewArray, None)
}
#[no_mangle]
pub unsafe extern "C" fn _ZdlPvmSt11align_val_t(p: *mut c_void, n: usize, _align: usize) {
    unmake(p, Kind::New, Some(n))
}
#[no_mangle]
pub unsafe extern "C" fn _ZdaPvmSt11align_val_t(p: *mut c_void, n: usize, _align: usize) {
    unmake(p, Kind::NewArray, Some(n))
}
#[no_mangle]
pub unsafe extern "C" fn _ZdlPvRKSt9nothrow_t(p: *mut c_void, _: *const c_void) {
    unmake(p, Kind::New, None)
}
#[no_mangle]
pub unsafe extern "C" fn _ZdaPvRKSt9nothrow_t(p: *mut c_void, _: *const c_void) {
    unmake(p, Kind::NewArray, None)
}
#[no_mangle]
pub unsafe extern "C" fn _ZdlPvSt11align_val_tRKSt9nothrow_t(
    p: *mut c_void,
    _align: usize,
    _: *const c_void,
) {
    unmake(p, Kind::New, None)
}
#[no_mangle]
pub unsafe extern "C" fn _ZdaPvSt11align_val_tRKSt9nothrow_t(
    p: *mut c_void,
    _align: usize,
    _: *const c_void,
) {
    unmake(p, Kind::NewArray, None)
}
