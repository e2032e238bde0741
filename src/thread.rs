//! Thread lifecycle: the one place that knows about thread-locals, thread exit and
//! `fork`.
//!
//! - The thread's arena pointer is one word of initial-exec TLS (on x86-64 declared
//!   in assembly, since stable Rust cannot choose the TLS model): reaching it is one
//!   `fs:`-relative load, with no `__tls_get_addr` call that could allocate inside
//!   `malloc` when the library is preloaded. It starts null; the slow path makes it.
//! - Thread exit runs from the destructor of a `pthread` key created at start-up
//!   (not `__cxa_thread_atexit_impl`, which calls `calloc`): the arena's cache goes
//!   back to its store, empty spans go back to the pool, and the arena is parked in
//!   the pool until a new thread adopts it, with its live blocks.
//! - `fork`: handlers registered once take the pool lock across the fork; in the
//!   child, arenas of threads that did not survive are marked lost.

use crate::arena::{Arena, LOST, OWNED};
use crate::pool::{Global, POOL};
use crate::sync::Once;
use core::sync::atomic::{AtomicU32, Ordering};

#[cfg(target_arch = "x86_64")]
mod tls {
    use crate::arena::Arena;
    // The slot starts out pointing at the empty arena (a relocated initial value
    // in .tdata, as C's `static __thread T *p = &x;` makes).
    core::arch::global_asm!(
        ".pushsection .tdata,\"awT\",@progbits",
        ".p2align 3",
        ".globl __arenapool_tls_arena",
        ".hidden __arenapool_tls_arena",
        ".type __arenapool_tls_arena,@object",
        ".size __arenapool_tls_arena,8",
        "__arenapool_tls_arena:",
        ".quad {empty}",
        ".popsection",
        empty = sym super::EMPTY,
    );

    #[inline(always)]
    pub fn get() -> *mut Arena {
        let v: *mut Arena;
        // SAFETY: reads this thread's copy of an 8-byte TLS slot through its initial-exec offset; valid in every thread from its creation.
        unsafe {
            core::arch::asm!(
                "mov {v}, qword ptr [rip + __arenapool_tls_arena@GOTTPOFF]",
                "mov {v}, qword ptr fs:[{v}]",
                v = out(reg) v,
                options(nostack, preserves_flags, readonly, pure),
            );
        }
        v
    }

    #[inline(always)]
    pub fn set(a: *mut Arena) {
        // SAFETY: writes this thread's copy of the TLS slot (see `get`).
        unsafe {
            core::arch::asm!(
                "mov {t}, qword ptr [rip + __arenapool_tls_arena@GOTTPOFF]",
                "mov qword ptr fs:[{t}], {v}",
                t = out(reg) _,
                v = in(reg) a,
                options(nostack, preserves_flags),
            );
        }
    }
}

/// Elsewhere: the key's own slot (slower: a call per access, but it never allocates
/// for our early key).
#[cfg(not(target_arch = "x86_64"))]
mod tls {
    use super::{INIT, KEY};
    use crate::arena::Arena;
    use core::sync::atomic::Ordering;
    #[inline(always)]
    pub fn get() -> *mut Arena {
        if !INIT.is_done() {
            return super::empty();
        }
        // SAFETY: KEY is a created key once INIT is done.
        let a = unsafe { libc::pthread_getspecific(KEY.load(Ordering::Relaxed)) as *mut Arena };
        if a.is_null() {
            super::empty()
        } else {
            a
        }
    }
    #[inline(always)]
    pub fn set(a: *mut Arena) {
        let v = if a == super::empty() {
            core::ptr::null_mut()
        } else {
            a
        };
        // SAFETY: as above; set is only called after global_init.
        unsafe { libc::pthread_setspecific(KEY.load(Ordering::Relaxed), v as *const libc::c_void) };
    }
}

/// The arena of threads that have none yet (or whose arena was parked at exit):
/// all-zero, so its cache is empty with limit 0, and it owns no span. The fast
/// paths need no "initialised?" test: they fail over to the slow path, which
/// checks for it.
#[repr(transparent)]
pub struct Empty(core::cell::UnsafeCell<Arena>);
// SAFETY: nobody writes the empty arena: its cache bins are empty (nothing pops),
// their limit is 0 (nothing pushes), and it owns no span (nothing frees into it).
unsafe impl Sync for Empty {}
// SAFETY: an all-zero Arena is valid: null pointers, zero counts, false flags.
pub static EMPTY: Empty = Empty(core::cell::UnsafeCell::new(unsafe { core::mem::zeroed() }));

#[inline(always)]
pub fn empty() -> *mut Arena {
    EMPTY.0.get()
}

/// The arena of threads whose exit cleanup already ran (an allocation from a later
/// destructor of another key lands here). Like [`EMPTY`], all-zero and never
/// written; the slow path serves such a thread from a borrowed parked arena, so
/// that no arena is ever left owned by a thread that is gone.
// SAFETY: an all-zero Arena is valid (see EMPTY).
pub static EXITED: Empty = Empty(core::cell::UnsafeCell::new(unsafe { core::mem::zeroed() }));

/// Whether `a` is the arena of a thread past its exit cleanup.
#[inline]
pub fn is_exited(a: *mut Arena) -> bool {
    a == EXITED.0.get()
}

/// The calling thread's arena, or [`empty`] before its first allocation.
#[inline(always)]
pub fn arena() -> *mut Arena {
    tls::get()
}

/// The calling thread's arena, made on first use (see [`arena_or_init`]); the
/// common case, an arena already there, inline.
#[inline(always)]
pub fn arena_ready() -> *mut Arena {
    let a = tls::get();
    if a != empty() {
        a
    } else {
        arena_or_init()
    }
}

/// Whether the calling thread has an arena of its own.
#[inline]
pub fn has_arena() -> bool {
    let a = tls::get();
    a != empty() && !is_exited(a)
}

static INIT: Once = Once::new();
static ATFORK: Once = Once::new();
static KEY: AtomicU32 = AtomicU32::new(0);

/// Reads the configuration and creates the thread-exit key, once.
fn global_init() {
    INIT.call(|| {
        crate::config::load();
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: creates a key with a destructor that is a plain extern fn; glibc does not allocate here.
        if unsafe { libc::pthread_key_create(&mut key, Some(thread_exit)) } != 0 {
            crate::os::fatal(b"cannot create the thread-exit key");
        }
        KEY.store(key, Ordering::Relaxed);
    });
}

/// The calling thread's arena, made (or adopted from an exited thread) on first
/// use. Null only when the OS refuses memory; the [`EXITED`] arena for a thread
/// past its exit cleanup (see `block::alloc_exited`).
#[cold]
#[inline(never)]
pub fn arena_or_init() -> *mut Arena {
    let a = tls::get();
    if a != empty() {
        return a;
    }
    // (A thread with the EXITED arena gets it back above.)
    global_init();
    let a = crate::pool::lock().new_arena();
    if a.is_null() {
        return a;
    }
    tls::set(a);
    // SAFETY: `a` is ours now; gettid has no preconditions.
    unsafe { (*a).tid = libc::gettid() as u32 };
    // SAFETY: KEY was created by global_init. For keys past the first block glibc may call calloc here, which is served by the arena just installed.
    unsafe { libc::pthread_setspecific(KEY.load(Ordering::Relaxed), a as *const libc::c_void) };
    register_atfork();
    a
}

/// Thread-exit destructor of the key: retire the arena (see `Arena::retire`), park it.
extern "C" fn thread_exit(v: *mut libc::c_void) {
    let a = v as *mut Arena;
    if a.is_null() || a == empty() || is_exited(a) {
        return;
    }
    if crate::config::secure() {
        // SAFETY: `a` is still this thread's arena.
        unsafe { (*a).flush_quarantine(&mut Global) };
    }
    // From here on this thread frees as a stranger (through the remote lists), and
    // allocates from a parked arena borrowed under the pool lock: glibc runs key
    // destructors a bounded number of rounds, so an arena taken here might never be
    // given back.
    tls::set(EXITED.0.get());
    // SAFETY: `a` was this thread's arena; no other thread touches its non-atomic parts while it is OWNED.
    unsafe {
        // (The update ends under the pool lock: from `park` on, a freeing thread
        // may drain the parked arena, under that lock, as an update of its own.)
        (*a).begin_update();
        (*a).retire(&mut Global);
        let mut pool = crate::pool::lock();
        pool.park(a);
        (*a).end_update();
        drop(pool);
        crate::pool::purge_parked();
    }
}

/// Registers the pool's fork handlers, once; a thread making its arena
/// meanwhile waits until they are in place (a `fork` must never find the pool
/// lock held without them).
fn register_atfork() {
    ATFORK.call(|| {
        // SAFETY: plain extern fns with no preconditions.
        unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child)) };
    });
}

extern "C" fn fork_prepare() {
    // Hold the lock across fork so the child never sees the pool mid-update.
    // (Handlers registered later, such as secure mode's, run before this one.)
    core::mem::forget(crate::pool::lock());
}

extern "C" fn fork_parent() {
    // SAFETY: fork_prepare leaked the guard of this thread's lock.
    unsafe { POOL.force_unlock() };
}

extern "C" fn fork_child() {
    // SAFETY: the child has one thread, this one; nobody else can hold the lock.
    unsafe { POOL.reset() };
    let me = tls::get();
    let mut pool = crate::pool::lock();
    pool.active = has_arena() as usize;
    // (`me` may be the empty arena, which is on no list.)
    let mut a = pool.arenas;
    while !a.is_null() {
        // SAFETY: arenas are never freed; the list is stable under the lock.
        unsafe {
            if a != me && (*a).inbox.state.load(Ordering::Relaxed) == OWNED {
                (*a).inbox.state.store(LOST, Ordering::Relaxed);
            }
            a = (*a).all_next;
        }
    }
}
