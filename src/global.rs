//! The Rust front door: `ArenaPool` as a `#[global_allocator]`.

use crate::heap;
use crate::size::UNIT;
use core::alloc::{GlobalAlloc, Layout};

/// The arenapool allocator. Install it with
///
/// ```
/// #[global_allocator]
/// static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;
///
/// fn main() {
///     let words: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
///     assert_eq!(words.iter().map(|w| w.len()).sum::<usize>(), 2890);
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ArenaPool;

// SAFETY: every method returns memory obeying the layout (size and alignment) or
// null, and frees only what it returned; see `heap`.
unsafe impl GlobalAlloc for ArenaPool {
    #[inline(always)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= UNIT {
            heap::malloc(layout.size())
        } else {
            heap::aligned(layout.align(), layout.size())
        }
    }

    #[inline(always)]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        heap::free_live(ptr)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= UNIT {
            heap::zalloc(layout.size())
        } else {
            let p = heap::aligned(layout.align(), layout.size());
            if !p.is_null() {
                core::ptr::write_bytes(p, 0, layout.size());
            }
            p
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= UNIT {
            return heap::realloc_live(ptr, new_size);
        }
        let usable = heap::usable_size(ptr);
        if new_size <= usable && new_size >= usable / 2 {
            return ptr;
        }
        heap::move_to(ptr, new_size, heap::aligned(layout.align(), new_size))
    }
}
