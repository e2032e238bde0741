//! Statistics: a snapshot of what the heap holds and what it has done, summed
//! from per-thread counters (the fast paths bump plain fields of their own
//! arena, no shared atomics) and the pool's accounting; the cross-thread free
//! matrix; and the readable table `ARENAPOOL_SHOW_STATS=1` prints at exit.
//!
//! Other threads' counters are read without synchronisation while they run:
//! each word is read whole, but the snapshot is not one instant.

use crate::arena::{Arena, XMAX};
use crate::os;
use crate::pool::POOL;
use crate::size::{class_chunk, CACHED_CLASSES};
use core::fmt::Write;
use core::ptr::read_volatile;
use core::sync::atomic::Ordering;

/// A snapshot of the heap (see [`stats`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Bytes asked for by every allocation so far (`malloc(n)` adds `n`).
    pub requested_bytes: u64,
    /// Bytes in live blocks now (chunk sizes, pool block and huge mapping sizes).
    pub in_use_bytes: usize,
    /// Bytes held in thread caches (freed, ready for reuse by the same thread),
    /// the shelves' pool blocks included.
    pub cached_bytes: usize,
    /// Of `cached_bytes`: freed pool blocks on thread shelves.
    pub shelved_bytes: usize,
    /// Bytes freed by threads other than their owner's and not yet taken back
    /// by the owner (on remote-free lists); not counted in `in_use_bytes`.
    pub remote_pending_bytes: usize,
    /// Bytes mapped from the OS now (pool regions, metadata, huge blocks).
    pub mapped_bytes: usize,
    /// Highest `mapped_bytes` seen at a mapping.
    pub peak_mapped_bytes: usize,
    /// Resident bytes of the whole process now (`/proc/self/statm`).
    pub resident_bytes: usize,
    /// Peak resident bytes of the whole process (`getrusage`).
    pub peak_resident_bytes: usize,
    /// Allocations (malloc, calloc, aligned, and realloc that moved) so far.
    pub allocs: u64,
    /// Frees (including those by realloc that moved) so far.
    pub frees: u64,
    /// Frees of blocks that another thread's arena owns, and their bytes.
    pub cross_thread_frees: u64,
    pub cross_thread_free_bytes: u64,
    /// Spans held by arenas (in use or spare).
    pub arena_spans: usize,
    /// Bytes of free pages inside arena spans released to the OS (the spans
    /// stay mapped; see `ARENAPOOL_PURGE_DELAY`).
    pub span_released_bytes: usize,
    /// Free bytes and free runs in the page pool.
    pub pool_free_bytes: usize,
    pub pool_free_runs: usize,
    /// Bytes of pool blocks in use (not shelved) and of huge blocks.
    pub pool_block_bytes: usize,
    pub huge_bytes: usize,
    /// Bytes returned to the OS so far (unmapped).
    pub returned_bytes: u64,
    /// Bytes of free pool runs released to the OS so far (kept mapped).
    pub pool_purged_bytes: u64,
    /// Free bytes the pool may keep before it unmaps (see `pool::PoolInner::retain`).
    pub retain: usize,
    /// Arenas ever made (reused, never freed) and arenas owned by live threads.
    pub arenas: usize,
    pub active_arenas: usize,
    /// Times the pool lock was taken, found held, and nanoseconds spent waiting.
    pub lock_acquisitions: u64,
    pub lock_contended: u64,
    pub lock_wait_ns: u64,
    /// Memory system calls made while holding the pool lock (see
    /// [`os::calls_under_pool_lock`]).
    pub lock_held_calls: u64,
}

/// Reads one arena's counters into a partial snapshot (racy while its owner
/// runs, see the module docs; consistent against exit flushes and parked-arena
/// drains, which `Arena::seq` brackets).
///
/// # Safety
/// `a` is an arena (they are never freed).
unsafe fn read_arena(a: *const Arena) -> Stats {
    let mut s = Stats::default();
    for attempt in 0..10_000 {
        let seq = (*a).seq.load(Ordering::Acquire);
        if seq & 1 == 1 && attempt + 1 < 10_000 {
            os::yield_now();
            continue;
        }
        s = read_arena_once(a);
        core::sync::atomic::fence(Ordering::Acquire);
        if (*a).seq.load(Ordering::Relaxed) == seq {
            break;
        }
    }
    s
}

/// One racy read of an arena's counters (see [`read_arena`]).
unsafe fn read_arena_once(a: *const Arena) -> Stats {
    let mut s = Stats::default();
    let c = read_volatile(&(*a).counters);
    let mut cached = 0u64;
    // (Loose chunks count as cached: freed, held by the arena, not yet in its store.)
    let mut cached_bytes = read_volatile(&(*a).medium_bytes) + read_volatile(&(*a).loose_bytes);
    for cls in CACHED_CLASSES {
        let bin = read_volatile(&(*a).cache[cls]);
        let n = bin.limit.saturating_sub(bin.room) as usize;
        cached += n as u64;
        cached_bytes += n * class_chunk(cls);
    }
    // Every chunk entering the cache leaves it by a fast allocation, a counted
    // slow exit, or is still there.
    let fast_allocs = (c.fast_frees + c.cache_in)
        .saturating_sub(c.cache_out)
        .saturating_sub(cached);
    s.allocs = fast_allocs + c.slow_allocs;
    s.frees = c.fast_frees + c.slow_frees;
    s.requested_bytes = c.fast_req_bytes + c.slow_req_bytes;
    s.cached_bytes = cached_bytes;
    s.in_use_bytes = read_volatile(&(*a).used).saturating_sub(cached_bytes);
    // (Shelved pool blocks are not arena chunks: not in `used`.)
    s.shelved_bytes = read_volatile(&(*a).shelf.bytes);
    s.cached_bytes += s.shelved_bytes;
    s.arena_spans = read_volatile(&(*a).nspans);
    s.span_released_bytes = read_volatile(&(*a).released);
    s.remote_pending_bytes = 0usize.wrapping_sub(c.remote_drained_bytes as usize);
    let x = read_volatile(&(*a).xfree);
    for cell in x.iter() {
        s.cross_thread_frees += cell[0];
        s.cross_thread_free_bytes += cell[1];
    }
    s
}

/// Adds an arena's partial snapshot to `s`.
fn add_arena(s: &mut Stats, p: &Stats) {
    s.allocs += p.allocs;
    s.frees += p.frees;
    s.requested_bytes += p.requested_bytes;
    s.cached_bytes += p.cached_bytes;
    s.shelved_bytes += p.shelved_bytes;
    s.in_use_bytes += p.in_use_bytes;
    s.arena_spans += p.arena_spans;
    s.span_released_bytes += p.span_released_bytes;
    s.remote_pending_bytes = s.remote_pending_bytes.wrapping_add(p.remote_pending_bytes);
    s.cross_thread_frees += p.cross_thread_frees;
    s.cross_thread_free_bytes += p.cross_thread_free_bytes;
}

/// Takes a snapshot of the heap's statistics (takes the pool lock briefly).
pub fn stats() -> Stats {
    let mut s = Stats::default();
    // Arenas are read without the pool lock (an exiting thread being read may
    // need it to finish); the list only grows at its head, and arenas are never
    // freed.
    let mut a = crate::pool::lock().arenas;
    while !a.is_null() {
        s.arenas += 1;
        // (Arenas are never freed; `all_next` is set before one is published.)
        // SAFETY: `a` is an arena on the list, valid for as long as the process.
        unsafe {
            add_arena(&mut s, &read_arena(a));
            a = (*a).all_next;
        }
    }
    {
        let pool = crate::pool::lock();
        s.huge_bytes = crate::pool::huge_bytes();
        s.mapped_bytes = pool.mapped_bytes + s.huge_bytes;
        s.peak_mapped_bytes = pool.peak_mapped.max(s.mapped_bytes);
        s.pool_free_bytes = pool.free_bytes;
        s.pool_free_runs = pool.runs();
        s.pool_block_bytes = pool.large_in_use.saturating_sub(s.shelved_bytes);
        s.returned_bytes = pool.unmapped_total + crate::pool::huge_returned() as u64;
        s.pool_purged_bytes = pool.purged_total;
        s.retain = pool.retain();
        s.active_arenas = pool.active;
    }
    crate::thread::each_tally(|t| {
        s.allocs += t.allocs.load(Ordering::Relaxed);
        s.requested_bytes += t.req_bytes.load(Ordering::Relaxed);
        s.frees += t.frees.load(Ordering::Relaxed);
        for cell in t.xfree.iter() {
            s.cross_thread_frees += cell[0].load(Ordering::Relaxed);
            s.cross_thread_free_bytes += cell[1].load(Ordering::Relaxed);
        }
    });
    // Chunks pushed onto remote lists (counted by their freeing threads) less
    // those drained by their owners: freed, though their owners' `used` still
    // holds them. (Wrapping: the counters are read at slightly different times.)
    s.remote_pending_bytes = s
        .remote_pending_bytes
        .wrapping_add(s.cross_thread_free_bytes as usize);
    if s.remote_pending_bytes > s.in_use_bytes {
        s.remote_pending_bytes = 0;
    }
    s.in_use_bytes -= s.remote_pending_bytes;
    s.in_use_bytes += s.pool_block_bytes + s.huge_bytes;
    s.lock_acquisitions = POOL.acquisitions.load(Ordering::Relaxed);
    s.lock_contended = POOL.contended.load(Ordering::Relaxed);
    s.lock_wait_ns = POOL.wait_ns.load(Ordering::Relaxed);
    s.lock_held_calls = crate::os::calls_under_pool_lock();
    s.resident_bytes = resident_bytes();
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut ru: libc::rusage = core::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut ru) == 0 {
            s.peak_resident_bytes = ru.ru_maxrss as usize * 1024;
        }
    }
    // (The kernel updates its high-water mark lazily.)
    s.peak_resident_bytes = s.peak_resident_bytes.max(s.resident_bytes);
    s
}

/// Resident bytes of the process, from the second field of `/proc/self/statm`.
fn resident_bytes() -> usize {
    let mut buf = [0u8; 128];
    // SAFETY: open/read/close on a stack buffer; the path is NUL-terminated.
    let n = unsafe {
        let fd = libc::open(
            c"/proc/self/statm".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return 0;
        }
        let n = libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len());
        libc::close(fd);
        n
    };
    let text = &buf[..n.max(0) as usize];
    let mut fields = text.split(|&b| b == b' ');
    let _size = fields.next();
    let pages = fields
        .next()
        .and_then(crate::config::parse_size)
        .unwrap_or(0);
    pages * os::PAGE
}

/// The cross-thread free matrix (see [`cross_thread_frees`]).
#[derive(Clone, Copy, Debug)]
pub struct CrossFrees {
    /// Arenas described: rows and columns `0..n` are arena ids `1..=n` (the last
    /// row and column also count every arena past [`XMAX`]).
    pub n: usize,
    /// Thread id (`gettid`) that owns, or last owned, each arena.
    pub tid: [u32; XMAX],
    /// `count[i][j]`, `bytes[i][j]`: frees by the thread of arena `i + 1` of blocks
    /// that arena `j + 1` allocated.
    pub count: [[u64; XMAX]; XMAX],
    pub bytes: [[u64; XMAX]; XMAX],
    /// Frees by threads that never allocated (and so own no arena), per owner.
    pub stray_count: [u64; XMAX],
    pub stray_bytes: [u64; XMAX],
}

/// Which threads free memory that which other threads allocated (counted on the
/// slow path of each cross-thread free, per freeing thread).
pub fn cross_thread_frees() -> CrossFrees {
    let mut m = CrossFrees {
        n: 0,
        tid: [0; XMAX],
        count: [[0; XMAX]; XMAX],
        bytes: [[0; XMAX]; XMAX],
        stray_count: [0; XMAX],
        stray_bytes: [0; XMAX],
    };
    crate::thread::each_tally(|t| {
        for (j, cell) in t.xfree.iter().enumerate() {
            m.stray_count[j] += cell[0].load(Ordering::Relaxed);
            m.stray_bytes[j] += cell[1].load(Ordering::Relaxed);
        }
    });
    let pool = crate::pool::lock();
    let mut a = pool.arenas;
    while !a.is_null() {
        // SAFETY: arenas are never freed; counters are read racily, as statistics.
        unsafe {
            let i = ((*a).id as usize).min(XMAX) - 1;
            m.n = m.n.max(i + 1);
            m.tid[i] = read_volatile(&(*a).tid);
            let x = read_volatile(&(*a).xfree);
            for (j, cell) in x.iter().enumerate() {
                m.count[i][j] += cell[0];
                m.bytes[i][j] += cell[1];
            }
            a = (*a).all_next;
        }
    }
    m
}

/// Bytes as a short human figure: `812 B`, `3.4 KiB`, `12.0 MiB`.
pub(crate) struct Bytes(pub u64);

impl core::fmt::Display for Bytes {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut v = self.0;
        let mut i = 0;
        while v >= 10 * 1024 && i + 1 < units.len() {
            v /= 1024;
            i += 1;
        }
        let mut b = StackStr::default();
        let _ = if i == 0 && v >= 1024 {
            write!(b, "{}.{} KiB", v / 1024, (v % 1024) * 10 / 1024)
        } else {
            write!(b, "{} {}", v, units[i])
        };
        f.pad(b.as_str())
    }
}

/// A small string on the stack (for padding formatted pieces).
#[derive(Default)]
struct StackStr {
    buf: [u8; 32],
    len: usize,
}

impl StackStr {
    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Write for StackStr {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The cells of one row of the cross-thread free matrix, and the line's end.
fn matrix_row(w: &mut os::FdOut, count: &[u64], bytes: &[u64]) {
    for (&c, &b) in count.iter().zip(bytes) {
        let _ = if c == 0 {
            write!(w, " {:>16}", ".")
        } else {
            write!(w, " {:>7}/{:>8}", c, Bytes(b))
        };
    }
    let _ = writeln!(w);
}

/// Prints the statistics table and the cross-thread free matrix to stderr.
pub fn print_stats() {
    let s = stats();
    let mut w = os::FdOut::new(2);
    let h = |v: usize| Bytes(v as u64);
    let _ = writeln!(w, "arenapool statistics");
    let rows: [(&str, Bytes); 13] = [
        ("requested (total)", Bytes(s.requested_bytes)),
        ("in use", h(s.in_use_bytes)),
        ("in thread caches", h(s.cached_bytes)),
        ("remote frees not yet taken", h(s.remote_pending_bytes)),
        ("released inside spans", h(s.span_released_bytes)),
        ("mapped", h(s.mapped_bytes)),
        ("mapped, peak", h(s.peak_mapped_bytes)),
        ("resident (process)", h(s.resident_bytes)),
        ("resident, peak (process)", h(s.peak_resident_bytes)),
        ("pool free", h(s.pool_free_bytes)),
        (
            "pool blocks / huge blocks",
            h(s.pool_block_bytes + s.huge_bytes),
        ),
        ("returned to the OS", Bytes(s.returned_bytes)),
        ("pool runs released (total)", Bytes(s.pool_purged_bytes)),
    ];
    for (k, v) in rows {
        let _ = writeln!(w, "  {:<28}{:>14}", k, v);
    }
    let counts: [(&str, u64); 10] = [
        ("allocations", s.allocs),
        ("frees", s.frees),
        ("cross-thread frees", s.cross_thread_frees),
        ("arena spans", s.arena_spans as u64),
        ("pool free runs", s.pool_free_runs as u64),
        ("arenas (ever made)", s.arenas as u64),
        ("pool lock taken", s.lock_acquisitions),
        ("pool lock contended", s.lock_contended),
        ("pool lock wait (us)", s.lock_wait_ns / 1000),
        ("system calls, lock held", s.lock_held_calls),
    ];
    for (k, v) in counts {
        let _ = writeln!(w, "  {:<28}{:>14}", k, v);
    }
    let _ = writeln!(w, "  {:<28}{:>14}", "active arenas", s.active_arenas);
    let m = cross_thread_frees();
    let any = m.count[..m.n]
        .iter()
        .any(|r| r[..m.n].iter().any(|&c| c != 0))
        || m.stray_count.iter().any(|&c| c != 0);
    if any {
        let _ = writeln!(
            w,
            "cross-thread frees: row = freeing thread's arena, column = owning arena; count / bytes"
        );
        let _ = write!(w, "  {:>12}", "arena (tid)");
        for j in 0..m.n {
            let _ = write!(w, " {:>16}", j + 1);
        }
        let _ = writeln!(w);
        for i in 0..m.n {
            if m.count[i][..m.n].iter().all(|&c| c == 0) {
                continue;
            }
            let _ = write!(w, "  {:>4} ({:>6})", i + 1, m.tid[i]);
            matrix_row(&mut w, &m.count[i][..m.n], &m.bytes[i][..m.n]);
        }
        if m.stray_count[..m.n].iter().any(|&c| c != 0) {
            let _ = write!(w, "  {:>12}", "no arena");
            matrix_row(&mut w, &m.stray_count[..m.n], &m.stray_bytes[..m.n]);
        }
    }
    w.flush();
}
