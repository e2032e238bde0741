//! OS layer: the only module that talks to the kernel about memory.
//!
//! Contract: every address passed in or returned is page-aligned, every length is a
//! non-zero multiple of [`PAGE`]. Failures are reported as a null pointer (map) and
//! never panic. Nothing here allocates.

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Who holds the page pool's lock, and what it has cost. Written at every
/// take and release of the lock, so on lines of its own (see `sync::Mutex`).
#[repr(C, align(128))]
struct Held {
    /// The thread that holds the page pool's lock (its `pthread_self`), 0
    /// when none: set and cleared by the pool, read by the memory calls below.
    holder: AtomicUsize,
    /// Memory system calls made by the thread holding the pool's lock, so far.
    calls: AtomicU64,
}

static HELD: Held = Held {
    holder: AtomicUsize::new(0),
    calls: AtomicU64::new(0),
};

/// This thread's identity for [`Held`] (a read of its thread pointer,
/// no system call).
#[inline]
fn me() -> usize {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as usize }
}

/// Records that this thread now holds the pool's lock (`true`) or has let
/// it go (`false`).
pub(crate) fn set_pool_holder(held: bool) {
    HELD.holder
        .store(if held { me() } else { 0 }, Ordering::Relaxed);
}

/// Whether this thread holds the page pool's lock.
#[inline]
pub fn holds_pool_lock() -> bool {
    HELD.holder.load(Ordering::Relaxed) == me()
}

/// Memory system calls (`mmap`, `munmap`, `madvise`, `mremap`, `mprotect`)
/// made while the caller held the page pool's lock, since the start: other
/// threads wait for the lock while the kernel works.
pub fn calls_under_pool_lock() -> u64 {
    HELD.calls.load(Ordering::Relaxed)
}

/// Counts a memory system call if this thread holds the pool's lock.
#[inline]
fn note_call() {
    if holds_pool_lock() {
        call_held();
    }
}

/// [`note_call`]'s count (out of line: a place to break on in a debugger).
#[cold]
#[inline(never)]
fn call_held() {
    HELD.calls.fetch_add(1, Ordering::Relaxed);
}

/// Turns the reports of failed system calls on or off (the configuration sets it
/// from `ARENAPOOL_VERBOSE`).
pub(crate) fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// The OS page size this allocator assumes (x86-64 and most aarch64 Linux kernels).
pub const PAGE: usize = 4096;

/// Rounds `n` up to a multiple of `align` (a power of two). Wraps only for `n`
/// within `align` of `usize::MAX`; callers bound their sizes first.
#[inline(always)]
pub const fn align_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

/// Maps `len` bytes of fresh, zeroed, read-write memory. Returns null on failure.
///
/// # Safety
/// `len` must be a non-zero multiple of [`PAGE`].
pub unsafe fn map(len: usize) -> *mut u8 {
    let p = map_anon(ptr::null_mut(), len, 0);
    if p.is_null() && VERBOSE.load(Ordering::Relaxed) {
        report_failure(b"mmap failed, bytes:", len);
    }
    p
}

/// Maps `len` bytes of fresh, zeroed, read-write memory at `addr` if nothing is
/// mapped there (`MAP_FIXED_NOREPLACE`); false, with nothing mapped, if
/// something is (or the kernel, older than 4.17, put the mapping elsewhere).
///
/// # Safety
/// `addr` is page-aligned and `len` a non-zero multiple of [`PAGE`].
pub unsafe fn map_at(addr: *mut u8, len: usize) -> bool {
    let p = map_anon(addr, len, libc::MAP_FIXED_NOREPLACE);
    if p.is_null() {
        return false;
    }
    if p != addr {
        try_unmap(p, len);
        return false;
    }
    true
}

/// The one `mmap` of fresh, zeroed, read-write, private memory, with `flags`
/// added and `addr` as the kernel's hint (or, with a fixed flag, its place):
/// null if it failed.
unsafe fn map_anon(addr: *mut u8, len: usize, flags: libc::c_int) -> *mut u8 {
    note_call();
    let p = libc::mmap(
        addr as *mut libc::c_void,
        len,
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
        -1,
        0,
    );
    if p == libc::MAP_FAILED {
        ptr::null_mut()
    } else {
        p as *mut u8
    }
}

/// Reports a failed system call (`ARENAPOOL_VERBOSE=1`): `arenapool: <msg> 0x<n>
/// (errno <e>)`, without aborting.
#[cold]
pub fn report_failure(msg: &[u8], n: usize) {
    let e = errno();
    let mut b1 = [0u8; 18];
    let mut b2 = [0u8; 18];
    for part in [
        b"arenapool: ".as_slice(),
        msg,
        b" ",
        hex(n, &mut b1),
        b" (errno ",
        hex(e as usize, &mut b2),
        b")\n",
    ] {
        write_stderr(part);
    }
}

/// Maps `len` bytes whose start is a multiple of `align` (a power of two, at least
/// [`PAGE`]) by mapping more and trimming both ends. Returns null on failure.
///
/// # Safety
/// `len` must be a non-zero multiple of [`PAGE`].
pub unsafe fn map_aligned(len: usize, align: usize) -> *mut u8 {
    if align <= PAGE {
        return map(len);
    }
    let Some(total) = len.checked_add(align - PAGE) else {
        return ptr::null_mut();
    };
    let raw = map(total);
    if raw.is_null() {
        return raw;
    }
    let start = align_up(raw as usize, align);
    let lead = start - raw as usize;
    // (A trim can fail at the kernel's limit on mappings, when the new mapping
    // merged with a neighbour and cutting it would split one: the slack then
    // stays mapped, unused, which costs address space, not memory.)
    if lead > 0 {
        try_unmap(raw, lead);
    }
    let tail = total - lead - len;
    if tail > 0 {
        try_unmap((start + len) as *mut u8, tail);
    }
    start as *mut u8
}

/// Returns a range to the OS.
///
/// # Safety
/// The range must be page-aligned, mapped by this module, and hold no live data.
pub unsafe fn unmap(p: *mut u8, len: usize) {
    if !try_unmap(p, len) {
        fatal(b"munmap failed");
    }
}

/// Returns a range to the OS; false if the kernel refused (`ENOMEM`: cutting
/// the range out would split a mapping past the limit on mappings).
///
/// # Safety
/// As [`unmap`].
pub unsafe fn try_unmap(p: *mut u8, len: usize) -> bool {
    note_call();
    libc::munmap(p as *mut libc::c_void, len) == 0
}

/// Whether the page holding `addr` is mapped (`mincore`; its protection is not
/// asked). Keeps `errno`.
pub fn is_mapped(addr: usize) -> bool {
    let page = addr & !(PAGE - 1);
    let mut resident = 0u8;
    note_call();
    keeping_errno(|| {
        // SAFETY: mincore reads no memory of ours and writes one byte per page asked for: one.
        unsafe { libc::mincore(page as *mut libc::c_void, PAGE, &mut resident) == 0 }
    })
}

/// Drops the physical pages behind a range; it reads back as zeros afterwards.
///
/// # Safety
/// The range must be page-aligned, mapped by this module, and hold no live data.
pub unsafe fn purge(p: *mut u8, len: usize) {
    note_call();
    libc::madvise(p as *mut libc::c_void, len, libc::MADV_DONTNEED);
}

/// Grows or shrinks a mapping: in place if the kernel can, else by moving its
/// pages (no copy) to a fresh range aligned to `align` (a power of two, at least
/// [`PAGE`]). Returns null on failure, leaving the old mapping intact.
///
/// # Safety
/// `p`/`old` must describe one whole mapping made by this module; `new` a non-zero
/// multiple of [`PAGE`].
pub unsafe fn remap(p: *mut u8, old: usize, new: usize, align: usize) -> *mut u8 {
    note_call();
    let q = libc::mremap(p as *mut libc::c_void, old, new, 0);
    if q != libc::MAP_FAILED {
        return q as *mut u8;
    }
    let dst = map_aligned(new, align);
    if dst.is_null() {
        return dst;
    }
    note_call();
    let q = libc::mremap(
        p as *mut libc::c_void,
        old,
        new,
        libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
        dst as *mut libc::c_void,
    );
    if q == libc::MAP_FAILED {
        unmap(dst, new);
        return ptr::null_mut();
    }
    q as *mut u8
}

/// Makes a range inaccessible (`rw` false: a guard) or read-write again. Aborts
/// if the kernel refuses (out of mappings), since a guard that is not there would
/// go unnoticed.
///
/// # Safety
/// The range must be page-aligned and mapped by this module.
pub unsafe fn protect(p: *mut u8, len: usize, rw: bool) {
    let prot = if rw {
        libc::PROT_READ | libc::PROT_WRITE
    } else {
        libc::PROT_NONE
    };
    note_call();
    if libc::mprotect(p as *mut libc::c_void, len, prot) != 0 {
        fatal(b"mprotect failed (too many mappings?)");
    }
}

/// Milliseconds on a coarse monotonic clock (a vDSO read, no system call).
pub fn now_ms() -> u64 {
    // SAFETY: clock_gettime fills the timespec we pass.
    unsafe {
        let mut t: libc::timespec = core::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut t);
        t.tv_sec as u64 * 1000 + t.tv_nsec as u64 / 1_000_000
    }
}

/// Gives the processor to another thread (`sched_yield`).
pub fn yield_now() {
    // SAFETY: sched_yield has no preconditions.
    unsafe { libc::sched_yield() };
}

/// Makes a range read-only (aborts if the kernel refuses, as [`protect`]).
///
/// # Safety
/// The range must be page-aligned and mapped by this module.
pub unsafe fn protect_read(p: *mut u8, len: usize) {
    if !try_protect_read(p, len) {
        fatal(b"mprotect failed (too many mappings?)");
    }
}

/// Makes a range read-only; false if the kernel refused (at its limit on
/// mappings: the change would split one).
///
/// # Safety
/// The range must be page-aligned and mapped by this module.
pub unsafe fn try_protect_read(p: *mut u8, len: usize) -> bool {
    note_call();
    libc::mprotect(p as *mut libc::c_void, len, libc::PROT_READ) == 0
}

/// This thread's `errno`.
pub fn errno() -> i32 {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Runs `f`, then puts this thread's `errno` back as it was (for the paths of
/// `free`, which never changes `errno`, that may make a system call).
#[inline(always)]
pub fn keeping_errno<R>(f: impl FnOnce() -> R) -> R {
    let e = errno();
    let r = f();
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() = e };
    r
}

/// Bytes an [`FdOut`] buffers.
const OUT_BUF: usize = 4096;

/// A file descriptor written through a stack buffer, for `write!` (core's
/// formatting does not allocate); `write(2)` only.
pub struct FdOut {
    fd: libc::c_int,
    len: usize,
    failed: bool,
    buf: [u8; OUT_BUF],
}

impl FdOut {
    pub const fn new(fd: libc::c_int) -> Self {
        FdOut {
            fd,
            len: 0,
            failed: false,
            buf: [0; OUT_BUF],
        }
    }

    /// Whether a write failed (the rest was dropped).
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        let mut done = 0;
        while done < self.len && !self.failed {
            let Some(rest) = self.buf.get(done..self.len) else {
                break;
            };
            // SAFETY: the pointer and length come from a live slice of our buffer.
            let n = unsafe { libc::write(self.fd, rest.as_ptr().cast(), rest.len()) };
            if n > 0 {
                done += n as usize;
            } else if n < 0 && errno() == libc::EINTR {
                continue;
            } else {
                self.failed = true;
            }
        }
        self.len = 0;
    }
}

impl core::fmt::Write for FdOut {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let mut b = s.as_bytes();
        while !b.is_empty() {
            if self.len >= OUT_BUF {
                self.flush();
            }
            if self.failed {
                return Err(core::fmt::Error);
            }
            let take = (OUT_BUF - self.len).min(b.len());
            let (head, tail) = b.split_at(take);
            let Some(dst) = self.buf.get_mut(self.len..self.len + take) else {
                return Err(core::fmt::Error);
            };
            dst.copy_from_slice(head);
            self.len += take;
            b = tail;
        }
        Ok(())
    }
}

/// Writes bytes to standard error with `write(2)`; no buffering, no allocation.
pub fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length come from a live slice.
        let n = unsafe { libc::write(2, bytes.as_ptr() as *const libc::c_void, bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// Formats `v` as `0x...` hexadecimal into `buf`, returning the used tail.
pub fn hex(v: usize, buf: &mut [u8; 18]) -> &[u8] {
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b"0123456789abcdef"[v & 15];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    i -= 1;
    buf[i] = b'x';
    i -= 1;
    buf[i] = b'0';
    &buf[i..]
}

/// Prints `arenapool: <msg>` and aborts the process. Never unwinds, never allocates.
#[cold]
pub fn fatal(msg: &[u8]) -> ! {
    fatal_at(msg, None)
}

/// Prints `arenapool: <msg> 0x<addr>` and aborts the process.
#[cold]
pub fn fatal_at(msg: &[u8], addr: Option<usize>) -> ! {
    let mut line = [0u8; 160];
    let mut n = 0;
    let mut push = |b: &[u8]| {
        let k = b.len().min(line.len() - n);
        line[n..n + k].copy_from_slice(&b[..k]);
        n += k;
    };
    push(b"arenapool: ");
    push(msg);
    if let Some(a) = addr {
        let mut buf = [0u8; 18];
        push(b" ");
        push(hex(a, &mut buf));
    }
    push(b"\n");
    write_stderr(&line[..n]);
    // SAFETY: abort has no preconditions; it never returns.
    unsafe { libc::abort() }
}
