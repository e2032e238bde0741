#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! Out of memory is an answer, not a crash: each case runs in a child process
//! (this test binary again, with `OOM_THREADS` set) that lowers its address-space
//! limit (`RLIMIT_AS`) to its current size plus a headroom of 8, 64 and 256 MiB in
//! turn, and allocates through `arenapool::raw` (`malloc`, `zalloc`, `realloc`,
//! `aligned`) with 1 or 4 threads, in a mix of sizes (small, medium, pool blocks,
//! huge blocks), until allocations fail. Then it checks that
//!
//! - every failure is a null return with `errno == ENOMEM` (errno is cleared
//!   before each call, so the allocator or its failed system call must set it);
//! - a failed `realloc` leaves the old block as it was, and no live block lost
//!   its contents (each holds a pattern, checked after the failures);
//! - a `zalloc` block reads as zeros, every block has its alignment;
//! - after freeing about half, allocation works again (a 64 KiB block in each
//!   thread, a 1 MiB block in the main thread after everything is freed).
//!
//! While the limit is set the child only counts (a panic or `println!` would
//! allocate, and could fail): it restores the limit, then prints a line per phase
//! and asserts. The parent asserts the child exited 0 and saw failures in every
//! phase, in the default mode and with `ARENAPOOL_SECURE=1`.

use arenapool::raw::{aligned, free, malloc, realloc, usable_size, zalloc};
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::Rng;

#[global_allocator]
static GLOBAL: arenapool::ArenaPool = arenapool::ArenaPool;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
/// Headrooms over the child's size when a phase starts.
const HEADROOMS_MIB: [usize; 3] = [8, 64, 256];
/// Live blocks a worker can hold (reserved before the limit is set).
const SLOTS: usize = 32 * 1024;
/// Ops of the random part of a phase, at most; it ends earlier after this many failures.
const RANDOM_OPS: usize = 3000;
const RANDOM_FAILS: u64 = 12;
/// Allocations per size in the squeeze, at most.
const SQUEEZE_CAP: usize = 2048;

const OPS: [&str; 4] = ["malloc", "zalloc", "realloc", "aligned"];
const CLASSES: [&str; 4] = ["small", "medium", "pool", "huge"];

fn class_of(n: usize) -> usize {
    match n {
        0..=1024 => 0,
        1025..=131_064 => 1,
        131_065..=33_554_431 => 2,
        _ => 3,
    }
}

#[derive(Clone, Copy)]
struct Block {
    p: *mut u8,
    n: usize,
    seed: u64,
}

/// What one worker saw in one phase. Plain data, so that returning it through
/// `join` allocates nothing.
#[derive(Clone, Copy, Default, Debug)]
struct Tally {
    ok: u64,
    fails_by_op: [u64; 4],
    fails_by_class: [u64; 4],
    /// Failures whose errno was not ENOMEM: count, and the first (op, size, errno).
    bad_errno: u64,
    first_bad_errno: (usize, usize, i32),
    /// Blocks whose pattern changed: count, and the first (what, size, offset).
    corrupt: u64,
    first_corrupt: (&'static str, usize, usize),
    /// zalloc blocks not zeroed, blocks not aligned, usable size below the request.
    dirty: u64,
    misaligned: u64,
    short: u64,
    peak_live: usize,
    peak_bytes: usize,
    /// The slot table filled up (the phase still counts, it just stopped early).
    slots_full: bool,
    /// After freeing half: a 64 KiB malloc succeeded.
    recovered: bool,
    recovered_errno: i32,
}

impl Tally {
    fn failures(&self) -> u64 {
        self.fails_by_op.iter().sum()
    }
    fn add(&mut self, o: &Tally) {
        self.ok += o.ok;
        for i in 0..4 {
            self.fails_by_op[i] += o.fails_by_op[i];
            self.fails_by_class[i] += o.fails_by_class[i];
        }
        if self.bad_errno == 0 {
            self.first_bad_errno = o.first_bad_errno;
        }
        self.bad_errno += o.bad_errno;
        if self.corrupt == 0 {
            self.first_corrupt = o.first_corrupt;
        }
        self.corrupt += o.corrupt;
        self.dirty += o.dirty;
        self.misaligned += o.misaligned;
        self.short += o.short;
        self.peak_live += o.peak_live;
        self.peak_bytes += o.peak_bytes;
        self.slots_full |= o.slots_full;
    }
}

// ---- patterns --------------------------------------------------------------------

#[inline]
fn word(seed: u64, i: usize) -> u64 {
    seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Fills `n` bytes at `p` (16-aligned) with the pattern of `seed`.
unsafe fn fill(p: *mut u8, n: usize, seed: u64) {
    let w = p as *mut u64;
    for i in 0..n / 8 {
        *w.add(i) = word(seed, i);
    }
    for j in n / 8 * 8..n {
        *p.add(j) = seed as u8 ^ j as u8;
    }
}

/// The first of the `len` bytes at `p` that differs from what `fill(p, n, seed)`
/// wrote (`len <= n`), if any.
unsafe fn check(p: *const u8, n: usize, seed: u64, len: usize) -> Option<usize> {
    let w = p as *const u64;
    let words = len.min(n / 8 * 8) / 8;
    if let Some(i) = (0..words).find(|&i| *w.add(i) != word(seed, i)) {
        return Some(i * 8);
    }
    (words * 8..len).find(|&j| {
        let want = if j < n / 8 * 8 {
            word(seed, j / 8).to_ne_bytes()[j % 8]
        } else {
            seed as u8 ^ j as u8
        };
        *p.add(j) != want
    })
}

unsafe fn all_zero(p: *const u8, n: usize) -> bool {
    let w = p as *const u64;
    (0..n / 8).all(|i| *w.add(i) == 0) && (n / 8 * 8..n).all(|j| *p.add(j) == 0)
}

// ---- the worker ------------------------------------------------------------------

fn errno() -> i32 {
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() }
}
fn clear_errno() {
    // SAFETY: this thread's errno slot.
    unsafe { *libc::__errno_location() = 0 }
}

/// A random size of class `c`.
fn size_of_class(rng: &mut Rng, c: usize) -> usize {
    match c {
        0 => 16 + rng.below(1009) as usize,
        1 => 1025 + rng.below((128 * KIB - 8 - 1025) as u64) as usize,
        2 => {
            // Log-uniform over 128 KiB .. 32 MiB.
            let e = 17 + rng.below(8) as u32;
            let lo = (1usize << e).max(128 * KIB + 8);
            lo + rng.below(((1usize << (e + 1)) - lo - 1) as u64) as usize
        }
        _ => 32 * MIB + 1 + rng.below(64 * MIB as u64) as usize,
    }
}

const ALIGNS: [usize; 6] = [32, 64, 256, 4096, 64 * KIB, 2 * MIB];

struct Worker {
    live: Vec<Block>,
    /// Bytes requested by the live blocks.
    live_bytes: usize,
    rng: Rng,
    t: Tally,
    next_seed: u64,
}

impl Worker {
    fn new(seed: u64) -> Worker {
        Worker {
            live: Vec::with_capacity(SLOTS),
            live_bytes: 0,
            rng: Rng(seed | 1),
            t: Tally::default(),
            next_seed: seed.wrapping_mul(0x2545_f491_4f6c_dd1d),
        }
    }

    fn seed(&mut self) -> u64 {
        self.next_seed = self.next_seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.next_seed
    }

    fn corrupt(&mut self, what: &'static str, n: usize, off: usize) {
        if self.t.corrupt == 0 {
            self.t.first_corrupt = (what, n, off);
        }
        self.t.corrupt += 1;
    }

    /// Records a null return of `op` for `n` bytes.
    fn failed(&mut self, op: usize, n: usize) {
        let e = errno();
        self.t.fails_by_op[op] += 1;
        self.t.fails_by_class[class_of(n)] += 1;
        if e != libc::ENOMEM {
            if self.t.bad_errno == 0 {
                self.t.first_bad_errno = (op, n, e);
            }
            self.t.bad_errno += 1;
        }
    }

    /// Checks a fresh block `p` of `n` bytes at `align`, fills it, keeps it.
    unsafe fn got(&mut self, p: *mut u8, n: usize, align: usize, zeroed: bool) {
        self.t.ok += 1;
        if p as usize % align != 0 {
            self.t.misaligned += 1;
        }
        if usable_size(p) < n {
            self.t.short += 1;
        }
        if zeroed && !all_zero(p, n) {
            self.t.dirty += 1;
        }
        let seed = self.seed();
        fill(p, n, seed);
        self.live.push(Block { p, n, seed });
        self.live_bytes += n;
        self.t.peak_live = self.t.peak_live.max(self.live.len());
        self.t.peak_bytes = self.t.peak_bytes.max(self.live_bytes);
    }

    fn room(&mut self) -> bool {
        if self.live.len() >= SLOTS {
            self.t.slots_full = true;
            return false;
        }
        true
    }

    /// A new block of `n` bytes through `op` (0 malloc, 1 zalloc, 3 aligned).
    /// Whether it succeeded.
    unsafe fn alloc(&mut self, op: usize, n: usize) -> bool {
        if !self.room() {
            return false;
        }
        let align = if op == 3 {
            ALIGNS[self.rng.below(ALIGNS.len() as u64) as usize]
        } else {
            16
        };
        clear_errno();
        let p = match op {
            0 => malloc(n),
            1 => zalloc(n),
            _ => aligned(align, n),
        };
        if p.is_null() {
            self.failed(op, n);
            return false;
        }
        self.got(p, n, align, op == 1);
        true
    }

    /// Reallocs live block `i` to `m` bytes. Whether it succeeded.
    unsafe fn realloc(&mut self, i: usize, m: usize) -> bool {
        let b = self.live[i];
        clear_errno();
        let q = realloc(b.p, m);
        if q.is_null() {
            self.failed(2, m);
            // The old block must be intact.
            if let Some(off) = check(b.p, b.n, b.seed, b.n) {
                self.corrupt("block after a failed realloc", b.n, off);
            }
            return false;
        }
        self.t.ok += 1;
        if q as usize % 16 != 0 {
            self.t.misaligned += 1;
        }
        if usable_size(q) < m {
            self.t.short += 1;
        }
        if let Some(off) = check(q, b.n, b.seed, b.n.min(m)) {
            self.corrupt("block moved by realloc", b.n, off);
        }
        let seed = self.seed();
        fill(q, m, seed);
        self.live[i] = Block { p: q, n: m, seed };
        self.live_bytes = self.live_bytes - b.n + m;
        self.t.peak_bytes = self.t.peak_bytes.max(self.live_bytes);
        true
    }

    unsafe fn free_at(&mut self, i: usize) {
        let b = self.live.swap_remove(i);
        self.live_bytes -= b.n;
        free(b.p);
    }

    /// The random part: a mix of ops and sizes until enough of them failed.
    unsafe fn random(&mut self) {
        let mut fails_seen = 0;
        for _ in 0..RANDOM_OPS {
            if fails_seen >= RANDOM_FAILS || !self.room() {
                break;
            }
            let c = match self.rng.below(100) {
                0..=34 => 0,
                35..=64 => 1,
                65..=92 => 2,
                _ => 3,
            };
            let n = size_of_class(&mut self.rng, c);
            let r = self.rng.below(100);
            let ok = if r < 8 && !self.live.is_empty() {
                let i = self.rng.below(self.live.len() as u64) as usize;
                self.free_at(i);
                true
            } else if r < 30 && !self.live.is_empty() {
                let i = self.rng.below(self.live.len() as u64) as usize;
                self.realloc(i, n)
            } else {
                let op = [0, 1, 3][self.rng.below(3) as usize];
                self.alloc(op, n)
            };
            if !ok {
                fails_seen += 1;
            }
        }
    }

    /// The squeeze: from huge down to 16 bytes, allocates each size until it
    /// fails, then tries the other ops at that size (each should fail too, or
    /// succeed; either way correctly).
    unsafe fn squeeze(&mut self) {
        for n in [
            48 * MIB,
            16 * MIB,
            4 * MIB,
            MIB,
            256 * KIB,
            64 * KIB,
            16 * KIB,
            4 * KIB,
            KIB,
            256,
            64,
            16,
        ] {
            let mut k = 0;
            let failed_with = loop {
                if k == SQUEEZE_CAP || !self.room() {
                    break None;
                }
                let op = [0, 1, 3][k % 3];
                if !self.alloc(op, n) {
                    break Some(op);
                }
                k += 1;
            };
            let Some(first) = failed_with else {
                continue;
            };
            for op in [0, 1, 3] {
                if op != first {
                    self.alloc(op, n);
                }
            }
            // realloc: grow a smaller live block to this size.
            if let Some(i) = self.live.iter().position(|b| b.n < n) {
                self.realloc(i, n);
            }
        }
    }

    unsafe fn verify_all(&mut self) {
        for i in 0..self.live.len() {
            let b = self.live[i];
            if let Some(off) = check(b.p, b.n, b.seed, b.n) {
                self.corrupt("live block", b.n, off);
            }
        }
    }

    /// Frees about half the live blocks (every other one, and the largest).
    unsafe fn free_half(&mut self) {
        if let Some((i, _)) = self.live.iter().enumerate().max_by_key(|(_, b)| b.n) {
            self.free_at(i);
        }
        let mut i = 0;
        while i < self.live.len() {
            self.free_at(i);
            i += 1;
        }
    }

    unsafe fn free_all(&mut self) {
        while let Some(b) = self.live.pop() {
            free(b.p);
        }
        self.live_bytes = 0;
    }
}

/// Serialises the recovery step of the workers: each one's 64 KiB request must
/// not race another thread's.
static RECOVERY: Mutex<()> = Mutex::new(());

/// One worker's phase. `gate` has one seat per worker and one for the main thread.
fn worker(seed: u64, gate: &Barrier) -> Tally {
    let mut w = Worker::new(seed);
    // SAFETY: the blocks are ours; sizes and alignments are valid.
    unsafe {
        // Warm up (before the limit): the thread's arena, a pool block.
        for n in [64, 5000, 300 * KIB] {
            let p = malloc(n);
            assert!(!p.is_null());
            free(p);
        }
        gate.wait(); // warmed up
        gate.wait(); // the limit is set
        w.random();
        w.squeeze();
        w.verify_all();
        gate.wait(); // everybody squeezed
        w.free_half();
        gate.wait(); // everybody freed half
        {
            let _g = RECOVERY.lock().unwrap_or_else(|e| e.into_inner());
            clear_errno();
            let p = malloc(64 * KIB);
            w.t.recovered = !p.is_null();
            w.t.recovered_errno = errno();
            if !p.is_null() {
                w.got(p, 64 * KIB, 16, false);
            }
        }
        w.verify_all();
        w.free_all();
    }
    w.t
}

fn vm_size() -> usize {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = s.split_whitespace().next().unwrap().parse().unwrap();
    pages * 4096
}

fn set_limit(bytes: Option<usize>) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_AS, &mut r), 0);
        // (Never above the hard limit, which may be lower than the headroom asks.)
        r.rlim_cur = match bytes {
            Some(b) => (b as libc::rlim_t).min(r.rlim_max),
            None => r.rlim_max,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &r), 0);
    }
}

/// One phase in the child: `threads` workers under `headroom` bytes of address
/// space. Returns the workers' tallies summed, whether a 1 MiB malloc succeeded
/// after everything was freed, and every worker's recovery (all succeeded, first
/// errno of one that failed).
fn phase(threads: usize, headroom: usize, seed: u64) -> (Tally, bool, bool, i32) {
    let gate = Barrier::new(threads + 1);
    let mut tallies = [Tally::default(); 4];
    let mut after = false;
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|i| {
                let gate = &gate;
                s.spawn(move || worker(seed ^ ((i as u64 + 1) * 0x1234_5678_9abc), gate))
            })
            .collect();
        gate.wait(); // workers warmed up
        set_limit(Some(vm_size() + headroom));
        gate.wait();
        gate.wait(); // squeezed
        gate.wait(); // freed half
        for (i, h) in hs.into_iter().enumerate() {
            // (join allocates nothing for a thread that returned)
            tallies[i] = h.join().unwrap_or_default();
        }
        // Everything is freed: a pool block must fit again.
        // SAFETY: a fresh block, filled and freed.
        unsafe {
            let p = malloc(MIB);
            after = !p.is_null();
            if after {
                fill(p, MIB, 1);
                free(p);
            }
        }
        set_limit(None);
    });
    let mut t = Tally::default();
    let (mut rec, mut rec_errno) = (true, 0);
    for x in &tallies[..threads] {
        t.add(x);
        if !x.recovered && rec {
            rec = false;
            rec_errno = x.recovered_errno;
        }
    }
    (t, after, rec, rec_errno)
}

#[test]
fn child() {
    let Ok(threads) = std::env::var("OOM_THREADS") else {
        return;
    };
    let threads: usize = threads.parse().unwrap();
    let secure = std::env::var("ARENAPOOL_SECURE").as_deref() == Ok("1");
    // SAFETY: a block freed at once (its slow path reads the configuration).
    unsafe { free(malloc(MIB)) };
    assert_eq!(
        arenapool::config::secure(),
        secure,
        "the child runs in the mode asked for"
    );
    let mut problems = Vec::new();
    for (k, mib) in HEADROOMS_MIB.into_iter().enumerate() {
        let t0 = Instant::now();
        let (t, after, rec, rec_errno) = phase(threads, mib * MIB, 0x5eed + k as u64);
        // The limit is off again: printing and asserting may allocate.
        let fails = t.failures();
        println!(
            "oom: secure={} threads={threads} headroom={mib}MiB failures={fails} \
             (malloc {}, zalloc {}, realloc {}, aligned {}; small {}, medium {}, pool {}, huge {}) \
             ok={} peak_live={} peak_bytes={}MiB slots_full={} recovered={rec} after_free_all={after} {:.2}s",
            secure as u8,
            t.fails_by_op[0],
            t.fails_by_op[1],
            t.fails_by_op[2],
            t.fails_by_op[3],
            t.fails_by_class[0],
            t.fails_by_class[1],
            t.fails_by_class[2],
            t.fails_by_class[3],
            t.ok,
            t.peak_live,
            t.peak_bytes / MIB,
            t.slots_full,
            t0.elapsed().as_secs_f64(),
        );
        let at = format!("threads {threads}, headroom {mib} MiB");
        for (i, op) in OPS.iter().enumerate() {
            if t.fails_by_op[i] == 0 {
                problems.push(format!("{at}: no {op} failed"));
            }
        }
        if t.bad_errno > 0 {
            let (op, n, e) = t.first_bad_errno;
            problems.push(format!(
                "{at}: {} failures without ENOMEM, the first: {}({n}) ({}) left errno {e}",
                t.bad_errno,
                OPS[op],
                CLASSES[class_of(n)]
            ));
        }
        if t.corrupt > 0 {
            let (what, n, off) = t.first_corrupt;
            problems.push(format!(
                "{at}: {} blocks corrupted, the first: {what} of {n} bytes at offset {off}",
                t.corrupt
            ));
        }
        if t.dirty + t.misaligned + t.short > 0 {
            problems.push(format!(
                "{at}: {} zalloc blocks not zeroed, {} misaligned, {} with a short usable size",
                t.dirty, t.misaligned, t.short
            ));
        }
        if !rec {
            problems.push(format!(
                "{at}: after freeing half, a 64 KiB malloc failed (errno {rec_errno})"
            ));
        }
        if !after {
            problems.push(format!(
                "{at}: after freeing everything, a 1 MiB malloc failed"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    println!("oom: done");
    std::process::exit(0);
}

/// A child takes a second or two; one that hangs is killed after this.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the child with `threads` workers and checks what it reports.
fn run(threads: usize, secure: bool) {
    let exe = std::env::current_exe().unwrap();
    let t = Instant::now();
    let mut child = Command::new(exe)
        .args(["--exact", "child", "--nocapture", "--test-threads", "1"])
        .env("OOM_THREADS", threads.to_string())
        .env("ARENAPOOL_SECURE", if secure { "1" } else { "0" })
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    // A child that hangs (a lock left held on a failure path) is killed.
    let mut killed = false;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if !killed && t.elapsed() > TIMEOUT {
            let _ = child.kill();
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    let what = format!("child (threads {threads}, secure {secure})");
    assert!(
        !killed && status.success(),
        "{what}: {status}{}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        if killed { " (killed: too slow)" } else { "" }
    );
    // (The first line follows libtest's "test child ... ".)
    let phases: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.find("oom: secure=").map(|i| &l[i..]))
        .collect();
    assert_eq!(phases.len(), HEADROOMS_MIB.len(), "{what}:\n{stdout}");
    for l in &phases {
        let fails: u64 = l
            .split_once("failures=")
            .and_then(|(_, r)| r.split(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{what}: no failure count in {l}"));
        assert!(fails > 0, "{what}: no allocation failed: {l}");
    }
    assert!(stdout.contains("oom: done"), "{what}:\n{stdout}");
    println!("{stdout}{what}: {:.2} s", t.elapsed().as_secs_f64());
}

#[test]
fn default_mode_answers_out_of_memory() {
    run(1, false);
    run(4, false);
}

#[test]
fn secure_mode_answers_out_of_memory() {
    run(1, true);
    run(4, true);
}
