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

use crate::arena::{Arena, LOST, OWNED, XMAX};
use crate::pool::{Global, POOL};
use crate::sync::Once;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

#[cfg(target_arch = "x86_64")]
mod tls {
    use super::Tally;
    use crate::arena::Arena;
    // Two slots: the arena's starts out pointing at the empty arena (a
    // relocated initial value in .tdata, as C's `static __thread T *p = &x;`
    // makes); the tally's (see `Tally`) is null until the thread claims one.
    core::arch::global_asm!(
        ".pushsection .tdata,\"awT\",@progbits",
        ".p2align 3",
        ".globl __arenapool_tls_arena",
        ".hidden __arenapool_tls_arena",
        ".type __arenapool_tls_arena,@object",
        ".size __arenapool_tls_arena,8",
        "__arenapool_tls_arena:",
        ".quad {empty}",
        ".globl __arenapool_tls_tally",
        ".hidden __arenapool_tls_tally",
        ".type __arenapool_tls_tally,@object",
        ".size __arenapool_tls_tally,8",
        "__arenapool_tls_tally:",
        ".quad 0",
        ".popsection",
        empty = sym super::EMPTY,
    );

    /// A getter and a setter of one 8-byte initial-exec TLS slot declared in
    /// this module: an `fs:`-relative access after the load of its offset.
    macro_rules! slot {
        ($get:ident, $set:ident, $sym:literal, $ty:ty) => {
            #[inline(always)]
            pub fn $get() -> $ty {
                let v: $ty;
                // SAFETY: reads this thread's copy of an 8-byte TLS slot through its initial-exec offset; valid in every thread from its creation.
                unsafe {
                    core::arch::asm!(
                        concat!("mov {v}, qword ptr [rip + ", $sym, "@GOTTPOFF]"),
                        "mov {v}, qword ptr fs:[{v}]",
                        v = out(reg) v,
                        options(nostack, preserves_flags, readonly, pure),
                    );
                }
                v
            }

            #[inline(always)]
            pub fn $set(x: $ty) {
                // SAFETY: writes this thread's copy of the TLS slot (as the getter reads it).
                unsafe {
                    core::arch::asm!(
                        concat!("mov {t}, qword ptr [rip + ", $sym, "@GOTTPOFF]"),
                        "mov qword ptr fs:[{t}], {v}",
                        t = out(reg) _,
                        v = in(reg) x,
                        options(nostack, preserves_flags),
                    );
                }
            }
        };
    }

    slot!(get, set, "__arenapool_tls_arena", *mut Arena);
    slot!(tally, set_tally, "__arenapool_tls_tally", *const Tally);
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
    // No slot of its own for a tally here (the key holds the arena): every
    // thread without an arena counts in the shared one.
    #[inline(always)]
    pub fn tally() -> *const super::Tally {
        &super::SHARED
    }
    #[inline(always)]
    pub fn set_tally(_: *const super::Tally) {}
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

/// Counters of a thread without an arena of its own: one that only frees
/// blocks other threads made (a queue's consumer), or one before its first
/// allocation or past its exit cleanup. Such a thread claims a tally from a
/// fixed table at its first count and counts there with plain loads and
/// stores, as a thread counts in its own arena; its exit gives the tally back
/// to the next such thread, which counts on from its values. When none is
/// free (or before start-up, or past the thread's exit cleanup) it counts in
/// the shared tally, atomically. (All such threads used to share one set of
/// atomic counters: two threads freeing a third's blocks, as `xmalloc-test`'s
/// consumers do, made three atomic additions per free to one cache line that
/// both wrote, and ran at half the speed they run at now.)
#[repr(C, align(64))]
pub struct Tally {
    /// Whether a live thread holds it (the table's tallies only).
    busy: AtomicU32,
    pub allocs: AtomicU64,
    pub req_bytes: AtomicU64,
    pub frees: AtomicU64,
    /// Cross-thread frees (count, bytes) per owning arena's column.
    pub xfree: [[AtomicU64; 2]; XMAX],
}

impl Tally {
    const fn new() -> Self {
        #[allow(clippy::declare_interior_mutable_const)]
        const ZERO2: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
        Tally {
            busy: AtomicU32::new(0),
            allocs: AtomicU64::new(0),
            req_bytes: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            xfree: [ZERO2; XMAX],
        }
    }

    /// Adds `n` to `cell`, one of this tally's counters: a plain load and
    /// store by the one thread that holds it, an atomic addition in
    /// the shared tally.
    #[inline]
    pub fn add(&self, cell: &AtomicU64, n: u64) {
        if core::ptr::eq(self, &SHARED) {
            cell.fetch_add(n, Ordering::Relaxed);
        } else {
            cell.store(
                cell.load(Ordering::Relaxed).wrapping_add(n),
                Ordering::Relaxed,
            );
        }
    }
}

/// Tallies in the table: threads without an arena that can count apart at once.
pub const TALLIES: usize = 64;
#[allow(clippy::declare_interior_mutable_const)]
const NEW_TALLY: Tally = Tally::new();
static TABLE: [Tally; TALLIES] = [NEW_TALLY; TALLIES];
/// The tally of threads that have none of their own.
static SHARED: Tally = Tally::new();

/// The calling thread's tally (claimed on its first count; see [`Tally`]).
/// Only for a thread without an arena: one with an arena counts there.
#[inline]
pub fn tally() -> &'static Tally {
    let t = tls::tally();
    if t.is_null() {
        return claim_tally();
    }
    // SAFETY: the slot holds null or a static tally.
    unsafe { &*t }
}

#[cold]
#[inline(never)]
fn claim_tally() -> &'static Tally {
    // (Not before start-up, when there is no key to give it back at exit, nor
    // past the thread's exit cleanup.)
    let mut got = &SHARED;
    if INIT.is_done() && !is_exited(tls::get()) {
        let free = TABLE.iter().find(|t| {
            t.busy.load(Ordering::Relaxed) == 0
                && t.busy
                    .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
        });
        if let Some(t) = free {
            got = t;
        }
    }
    tls::set_tally(got);
    if !core::ptr::eq(got, &SHARED) && !has_arena() {
        // The key's destructor gives the tally back at exit. (A thread that
        // makes an arena later has the key hold its arena instead; its exit
        // gives both back.)
        let key = KEY.load(Ordering::Relaxed);
        // glibc may call calloc here for a key past its first block; the arena
        // that makes is then what the key must hold, and holds after the
        // second call (which allocates nothing).
        // SAFETY: KEY was created by global_init (INIT is done).
        unsafe {
            libc::pthread_setspecific(key, got as *const Tally as *const libc::c_void);
            if has_arena() {
                libc::pthread_setspecific(key, tls::get() as *const libc::c_void);
            }
        }
    }
    got
}

/// Gives the calling thread's tally back to the table (at its exit): from now
/// on it counts in [`SHARED`].
fn give_back_tally() {
    let t = tls::tally();
    if t.is_null() || core::ptr::eq(t, &SHARED) {
        return;
    }
    tls::set_tally(&SHARED);
    // SAFETY: a non-null slot holds a static tally.
    unsafe { (*t).busy.store(0, Ordering::Release) };
}

/// Whether `v` (a value of the thread-exit key) is a tally, not an arena.
fn is_tally(v: *const libc::c_void) -> bool {
    TABLE.as_ptr_range().contains(&(v as *const Tally))
}

/// Calls `f` on every tally: the table's and the shared one (for statistics).
pub fn each_tally(mut f: impl FnMut(&Tally)) {
    f(&SHARED);
    TABLE.iter().for_each(f);
}

/// Tallies held by live threads (for tests).
pub fn tallies_in_use() -> usize {
    TABLE
        .iter()
        .filter(|t| t.busy.load(Ordering::Relaxed) != 0)
        .count()
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
    let a = crate::pool::new_arena();
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
    give_back_tally();
    let a = v as *mut Arena;
    if a.is_null() || a == empty() || is_exited(a) || is_tally(v) {
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
    crate::os::set_pool_holder(false);
    // SAFETY: fork_prepare leaked the guard of this thread's lock.
    unsafe { POOL.force_unlock() };
}

extern "C" fn fork_child() {
    crate::os::set_pool_holder(false);
    // SAFETY: the child has one thread, this one; nobody else can hold the lock.
    unsafe { POOL.reset() };
    let me = tls::get();
    // The other threads' tallies are free again (their values stay counted).
    let mine = tls::tally();
    for t in TABLE.iter().filter(|t| !core::ptr::eq(*t, mine)) {
        t.busy.store(0, Ordering::Relaxed);
    }
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
