//! Which memory is ours: a lock-free map from every `SPAN`-sized slot of the
//! address space to what arenapool keeps there. `free` consults it on its slow path
//! before it trusts anything it reads from a pointer's span (the fast path needs
//! no lookup: see `heap::free`).
//!
//! Two levels: 2^17 root entries of 1 GiB each (a 1 MiB table in `.bss`, whose
//! untouched pages cost nothing), each pointing at a 4 KiB leaf of one byte per
//! 256 KiB slot, mapped on first use and never freed. Writers are the pool (under
//! its lock) and huge-block mapping (one slot each, its own); readers take no lock.

use crate::os;
use crate::size::SPAN;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

/// Nothing of ours (or not known to be).
pub const NONE: u8 = 0;
/// Pool memory that is not an arena span: pool blocks and free runs.
pub const POOL: u8 = 1;
/// An arena span (its `Span` header is valid).
pub const ARENA: u8 = 2;
/// The slot where a huge block's mapping starts.
pub const HUGE: u8 = 3;
/// Secure mode's region of zero-size blocks.
pub const ZERO: u8 = 4;

const SLOT_BITS: u32 = SPAN.trailing_zeros();
const LEAF_BITS: u32 = 30 - SLOT_BITS;
const LEAF: usize = 1 << LEAF_BITS;
/// User-space addresses on x86-64 and aarch64 Linux (47 or 48 bits).
const ADDR_BITS: u32 = 48;
const ROOTS: usize = 1 << (ADDR_BITS - 30);

#[allow(clippy::declare_interior_mutable_const)]
const NO_LEAF: AtomicPtr<AtomicU8> = AtomicPtr::new(core::ptr::null_mut());
static ROOT: [AtomicPtr<AtomicU8>; ROOTS] = [NO_LEAF; ROOTS];

#[inline]
fn split(addr: usize) -> Option<(usize, usize)> {
    let r = addr >> 30;
    (r < ROOTS).then_some((r, (addr >> SLOT_BITS) & (LEAF - 1)))
}

/// What arenapool keeps in the slot holding `addr`. Never dereferences `addr`.
#[inline]
pub fn get(addr: usize) -> u8 {
    let Some((r, i)) = split(addr) else {
        return NONE;
    };
    let leaf = ROOT[r].load(Ordering::Acquire);
    if leaf.is_null() {
        return NONE;
    }
    // SAFETY: leaves hold LEAF bytes and are never unmapped.
    unsafe { (*leaf.add(i)).load(Ordering::Relaxed) }
}

fn leaf(r: usize) -> *mut AtomicU8 {
    let l = ROOT[r].load(Ordering::Acquire);
    if !l.is_null() {
        return l;
    }
    // SAFETY: a fresh mapping of whole pages (LEAF is a page multiple).
    let fresh = unsafe { os::map(LEAF) } as *mut AtomicU8;
    if fresh.is_null() {
        os::fatal(b"cannot map the address registry");
    }
    match ROOT[r].compare_exchange(
        core::ptr::null_mut(),
        fresh,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => fresh,
        Err(other) => {
            // SAFETY: `fresh` was mapped above and never published.
            unsafe { os::unmap(fresh as *mut u8, LEAF) };
            other
        }
    }
}

/// Maps the leaves that [`set`] over `[start, start + len)` needs, so that a
/// caller who then holds a lock sets slots there without a system call.
pub fn prepare(start: usize, len: usize) {
    let mut a = start & !((1 << 30) - 1);
    while a < start + len {
        if let Some((r, _)) = split(a) {
            leaf(r);
        }
        a += 1 << 30;
    }
}

/// Marks every slot overlapping `[start, start + len)` as `kind`.
pub fn set(start: usize, len: usize, kind: u8) {
    let mut a = start & !(SPAN - 1);
    while a < start + len {
        if let Some((r, i)) = split(a) {
            // SAFETY: leaves hold LEAF bytes and are never unmapped.
            unsafe { (*leaf(r).add(i)).store(kind, Ordering::Release) };
        }
        a += SPAN;
    }
}

/// Calls `f(base, kind)` for every slot whose kind is not [`NONE`], in address
/// order (`base` is the slot's first address). Takes no lock: a slot that changes
/// meanwhile is seen in its old or its new state. Never dereferences a slot.
pub fn each_slot(mut f: impl FnMut(usize, u8)) {
    for (r, root) in ROOT.iter().enumerate() {
        let leaf = root.load(Ordering::Acquire);
        if leaf.is_null() {
            continue;
        }
        for i in 0..LEAF {
            // SAFETY: leaves hold LEAF bytes and are never unmapped.
            let kind = unsafe { (*leaf.add(i)).load(Ordering::Relaxed) };
            if kind != NONE {
                f((r << 30) | (i << SLOT_BITS), kind);
            }
        }
    }
}
