#![allow(clippy::disallowed_types, clippy::disallowed_macros)]
//! Tests of the LD_PRELOAD build: `libarenapool.so` (feature `preload`) replacing the
//! C library's malloc family in C programs and in real programs.
//!
//! The library is built once per test process (`cargo build --release --features
//! preload --lib` into `<target>/preload`), the C programs of `tests/c/` are
//! compiled next to it, and only the child programs run with `LD_PRELOAD`: cargo,
//! rustc and cc never do.
//!
//! - `conformance`, `stress`, `fork`: the C programs in `tests/c/` (see each file).
//! - Real programs, each run with and without arenapool and compared: CPython's
//!   regression tests (`PYTHONMALLOC=malloc`), `sqlite3`, `git`, `redis-server`
//!   under `redis-benchmark`. A program that is not installed makes its test fail
//!   when the environment variable `CI` is set (CI installs them), and print a loud
//!   SKIP line otherwise. Debian packages: `sqlite3 git redis-server redis-tools
//!   python3 libpython3.11-testsuite` (the last two unless a python3 with its
//!   `test` package is already on PATH), plus a C compiler (`gcc` or `build-essential`).
//!
//! Timings print with `cargo test --test preload -- --nocapture`. The tests take a
//! process-wide lock so that they run one at a time: the timings compare runs of
//! the same program and must not share the CPUs with another test.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

// ---- building ------------------------------------------------------------------------

struct Built {
    /// Absolute path of libarenapool.so.
    lib: PathBuf,
    /// Where the C test programs are.
    bin: PathBuf,
}

const C_PROGRAMS: &[&str] = &[
    "conformance",
    "boundaries",
    "stress",
    "fork",
    "stats",
    "oom",
];

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(build)
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn build() -> Built {
    let root = manifest_dir();
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => root.join(d), // join keeps an absolute path as it is
        None => root.join("target"),
    };
    let dir = target.join("preload");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let t = Instant::now();
    let out = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--features",
            "preload",
            "--lib",
            "--target-dir",
        ])
        .arg(&dir)
        .current_dir(&root)
        .env_remove("LD_PRELOAD")
        .env_remove("CARGO_BUILD_TARGET") // the library must land in <dir>/release
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo:?}: {e}"));
    assert!(
        out.status.success(),
        "building the preload library failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lib = dir.join("release").join("libarenapool.so");
    assert!(lib.is_file(), "{} missing after the build", lib.display());
    let lib = lib.canonicalize().expect("canonicalize the library path");
    eprintln!(
        "preload: built {} in {:.1} s",
        lib.display(),
        t.elapsed().as_secs_f64()
    );

    let bin = dir.join("ctests");
    std::fs::create_dir_all(&bin).expect("create the C test directory");
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    for name in C_PROGRAMS {
        let src = root.join("tests").join("c").join(format!("{name}.c"));
        let exe = bin.join(name);
        // -fno-builtin: the compiler must not fold or elide the malloc calls under test.
        let out = Command::new(&cc)
            .args(["-O2", "-pthread", "-Wall", "-fno-builtin"])
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .arg("-ldl")
            .env_remove("LD_PRELOAD")
            .output()
            .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?}: {e}"));
        assert!(
            out.status.success(),
            "compiling {} failed:\n{}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let warnings = String::from_utf8_lossy(&out.stderr);
        if !warnings.trim().is_empty() {
            eprintln!("preload: warnings compiling {name}.c:\n{warnings}");
        }
    }
    // The C++ program, through the library's operator new and delete.
    let cxx = std::env::var_os("CXX").unwrap_or_else(|| "c++".into());
    let src = root.join("tests").join("c").join("cxx.cc");
    let out = Command::new(&cxx)
        .args(["-O2", "-std=c++17", "-Wall"])
        .arg(&src)
        .arg("-o")
        .arg(bin.join("cxx"))
        .env_remove("LD_PRELOAD")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C++ compiler {cxx:?}: {e}"));
    assert!(
        out.status.success(),
        "compiling {} failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Built { lib, bin }
}

/// One test at a time (see the module docs). A failed test must not stop the others.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

// ---- running -----------------------------------------------------------------------

/// Which allocator a child program runs with.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Alloc {
    Glibc,
    Arenapool,
}

impl Alloc {
    fn name(self) -> &'static str {
        match self {
            Alloc::Glibc => "glibc",
            Alloc::Arenapool => "arenapool",
        }
    }
    /// Sets (or removes) LD_PRELOAD on a child command.
    fn apply(self, cmd: &mut Command) {
        match self {
            Alloc::Glibc => cmd.env_remove("LD_PRELOAD"),
            Alloc::Arenapool => cmd.env("LD_PRELOAD", &built().lib),
        };
    }
}

struct Ran {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    secs: f64,
}

impl Ran {
    fn describe(&self) -> String {
        format!(
            "status {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            tail(&self.stdout, 6000),
            tail(&self.stderr, 6000)
        )
    }
}

fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = s.len() - n;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// Runs `cmd` to completion (stdin closed), killing it after `timeout`.
fn run(cmd: &mut Command, alloc: Alloc, timeout: Duration) -> Ran {
    alloc.apply(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = format!("{cmd:?}");
    let t = Instant::now();
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let reader = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = reader(Box::new(child.stdout.take().unwrap()));
    let err = reader(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for a child") {
            break s;
        }
        if t.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let (o, e) = (out.join().unwrap(), err.join().unwrap());
            panic!(
                "{what} ({}) did not finish in {timeout:?}: killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
                alloc.name(),
                tail(&o, 6000),
                tail(&e, 6000)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let secs = t.elapsed().as_secs_f64();
    Ran {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        secs,
    }
}

fn run_c(name: &str, args: &[&str], alloc: Alloc, timeout: Duration) -> Ran {
    run_c_env(name, args, &[], alloc, timeout)
}

fn run_c_env(
    name: &str,
    args: &[&str],
    env: &[(&str, &str)],
    alloc: Alloc,
    timeout: Duration,
) -> Ran {
    let exe = built().bin.join(name);
    let mut cmd = Command::new(exe);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd, alloc, timeout)
}

/// Secure mode keeps every C rule and survives the stress and fork programs.
#[test]
fn secure_mode_runs_the_c_programs() {
    let _g = serial();
    for (name, done) in [
        ("conformance", "conformance: all"),
        ("boundaries", "ok: 0 failures"),
        ("stress", "stress: ok"),
        ("fork", ""),
    ] {
        let r = run_c_env(
            name,
            &[],
            &[("ARENAPOOL_SECURE", "1")],
            Alloc::Arenapool,
            Duration::from_secs(300),
        );
        assert!(
            r.status.success() && r.stdout.contains(done),
            "{name} failed in secure mode:\n{}",
            r.describe()
        );
        println!("secure {name}: {:.1} s", r.secs);
    }
}

/// mallinfo2 and malloc_stats report the heap; ARENAPOOL_SHOW_STATS prints the
/// table at exit, ARENAPOOL_HEAP_MAP writes the SVG, ARENAPOOL_VERBOSE reports
/// the configuration and a failed mmap.
#[test]
fn statistics_through_the_c_interface() {
    let _g = serial();
    let map = std::env::temp_dir().join(format!("arenapool-map-{}.svg", std::process::id()));
    let r = run_c_env(
        "stats",
        &[],
        &[
            ("ARENAPOOL_SHOW_STATS", "1"),
            ("ARENAPOOL_HEAP_MAP", map.to_str().unwrap()),
            ("ARENAPOOL_VERBOSE", "1"),
        ],
        Alloc::Arenapool,
        Duration::from_secs(60),
    );
    assert!(
        r.status.success() && r.stdout.contains("stats: ok"),
        "{}",
        r.describe()
    );
    // Once from malloc_stats, once at exit.
    assert_eq!(
        r.stderr.matches("arenapool statistics").count(),
        2,
        "{}",
        r.describe()
    );
    assert!(
        r.stderr.contains("cross-thread frees: row"),
        "{}",
        r.describe()
    );
    // ARENAPOOL_VERBOSE: the configuration at start-up, the refused mmap.
    assert!(
        r.stderr.contains("arenapool: arena max request 131064 B"),
        "{}",
        r.describe()
    );
    assert!(
        r.stderr.contains("arenapool: mmap failed"),
        "{}",
        r.describe()
    );
    let svg = std::fs::read_to_string(&map).expect("heap map written at exit");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let _ = std::fs::remove_file(&map);
}

/// A program on PATH, or None (failing when CI is set; see the module docs).
fn require(program: &str, what: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("{program} ({what}) is not installed, and CI is set: CI must install it");
        }
        eprintln!();
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!("!!! SKIP: {program} is not installed ({what}); this test did NOT run.");
        eprintln!("!!! (It fails instead of skipping when the CI environment variable is set.)");
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!();
    }
    found
}

/// A fresh scratch directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("arenapool-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create a temporary directory");
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the running process `pid` has libarenapool mapped.
fn has_arenapool(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .map(|m| m.contains("libarenapool"))
        .unwrap_or(false)
}

// ---- the C programs ----------------------------------------------------------------

#[test]
fn conformance() {
    let _g = serial();
    let r = run_c(
        "conformance",
        &[],
        Alloc::Arenapool,
        Duration::from_secs(300),
    );
    println!("{}{}", r.stdout, r.stderr);
    assert!(
        r.status.success(),
        "conformance failed under arenapool:\n{}",
        r.describe()
    );
    assert!(
        r.stdout.contains("conformance: all"),
        "conformance did not finish:\n{}",
        r.describe()
    );
    println!("conformance: {:.1} s", r.secs);
}

/// The conformance rules hold for the system allocator too (except the check that
/// arenapool is loaded and the few rules this glibc predates): the test asks for C
/// and glibc behaviour, not for arenapool's quirks.
#[test]
fn conformance_rules_hold_for_system_malloc() {
    let _g = serial();
    let r = run_c(
        "conformance",
        &["--glibc"],
        Alloc::Glibc,
        Duration::from_secs(300),
    );
    println!("{}{}", r.stdout, r.stderr);
    assert!(
        r.status.success(),
        "conformance --glibc failed:\n{}",
        r.describe()
    );
}

#[test]
fn boundary_sizes_survive_realloc_across_every_class() {
    let _g = serial();
    let r = run_c(
        "boundaries",
        &[],
        Alloc::Arenapool,
        Duration::from_secs(300),
    );
    println!("{}{}", r.stdout, r.stderr);
    assert!(
        r.status.success() && r.stdout.contains("ok: 0 failures"),
        "boundaries failed under arenapool:\n{}",
        r.describe()
    );
}

#[test]
fn stress() {
    let _g = serial();
    let r = run_c("stress", &[], Alloc::Arenapool, Duration::from_secs(300));
    println!("arenapool:\n{}{}", r.stdout, r.stderr);
    assert!(
        r.status.success(),
        "stress failed under arenapool:\n{}",
        r.describe()
    );
    assert!(
        r.stdout.contains("stress: ok"),
        "stress did not finish:\n{}",
        r.describe()
    );
    // The same run on glibc, for comparison (RSS, time); only reported.
    let g = run_c("stress", &[], Alloc::Glibc, Duration::from_secs(300));
    println!("glibc, for comparison:\n{}{}", g.stdout, g.stderr);
    println!(
        "stress wall time: arenapool {:.2} s, glibc {:.2} s",
        r.secs, g.secs
    );
}

#[test]
fn fork() {
    let _g = serial();
    let r = run_c("fork", &[], Alloc::Arenapool, Duration::from_secs(300));
    println!("{}{}", r.stdout, r.stderr);
    assert!(
        r.status.success(),
        "fork test failed under arenapool:\n{}",
        r.describe()
    );
    assert!(
        r.stdout.contains("all children ok"),
        "fork test did not finish:\n{}",
        r.describe()
    );
}

// ---- CPython's regression tests ---------------------------------------------------

const PY_TESTS: &[&str] = &[
    "test_dict",
    "test_list",
    "test_set",
    "test_json",
    "test_re",
    "test_unicode",
    "test_bytes",
    "test_collections",
    "test_itertools",
    "test_gc",
    "test_weakref",
    "test_pickle",
    "test_array",
    "test_functools",
    "test_sort",
    "test_heapq",
    "test_struct",
    "test_queue",
];

#[test]
fn python_regression_tests() {
    let _g = serial();
    let Some(py) = require("python3", "CPython with its test package") else {
        return;
    };
    // The interpreter itself, not a wrapper (pyenv's shim is a shell script).
    let r = run(
        Command::new(&py).args(["-c", "import sys, test.libregrtest; print(sys.executable)"]),
        Alloc::Glibc,
        Duration::from_secs(60),
    );
    if !r.status.success() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "python3 has no `test` package (install libpython3.X-testsuite):\n{}",
                r.describe()
            );
        }
        eprintln!("!!! SKIP: python3 has no `test` package; python_regression_tests did NOT run");
        return;
    }
    let exe = PathBuf::from(r.stdout.trim());
    let work = TempDir::new("python");
    let python = |alloc: Alloc, args: &[&str], timeout: u64| {
        let mut cmd = Command::new(&exe);
        cmd.args(args)
            .current_dir(work.path())
            .env("PYTHONMALLOC", "malloc");
        run(&mut cmd, alloc, Duration::from_secs(timeout))
    };
    // Python really runs on arenapool.
    let probe = "import sys; print('arenapool' in open('/proc/self/maps').read())";
    let r = python(Alloc::Arenapool, &["-c", probe], 60);
    assert_eq!(
        r.stdout.trim(),
        "True",
        "libarenapool not loaded in python:\n{}",
        r.describe()
    );

    let mut args = vec!["-m", "test"];
    args.extend_from_slice(PY_TESTS);
    let mut secs = Vec::new();
    for alloc in [Alloc::Glibc, Alloc::Arenapool] {
        let r = python(alloc, &args, 900);
        let summary: Vec<&str> = r
            .stdout
            .lines()
            .filter(|l| {
                l.contains("Tests result") || l.contains("tests OK") || l.starts_with("Total")
            })
            .collect();
        println!(
            "python -m test ({}): {:.1} s, {}",
            alloc.name(),
            r.secs,
            summary.join(" | ")
        );
        assert!(
            r.status.success() && r.stdout.contains("Tests result: SUCCESS"),
            "python regression tests failed with {}:\n{}",
            alloc.name(),
            r.describe()
        );
        let all_ok = format!("All {} tests OK.", PY_TESTS.len());
        assert!(
            r.stdout.contains(&all_ok),
            "not every test module passed with {} (want \"{all_ok}\"):\n{}",
            alloc.name(),
            r.describe()
        );
        secs.push(r.secs);
    }
    println!(
        "python regression tests ({} modules, PYTHONMALLOC=malloc): glibc {:.1} s, arenapool {:.1} s ({:+.1}%)",
        PY_TESTS.len(),
        secs[0],
        secs[1],
        (secs[1] / secs[0] - 1.0) * 100.0
    );
}

// ---- sqlite3 -----------------------------------------------------------------------

const SQL: &str = r#"
PRAGMA journal_mode = WAL;
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, grp INTEGER, price REAL, qty INTEGER, note TEXT);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000)
INSERT INTO item(id, name, grp, price, qty, note)
  SELECT x,
         printf('item-%06d-%s', (x * 7919) % 100003, substr('abcdefghijklmnopqrstuvwxyz', 1 + x % 26, 1 + x % 7)),
         x % 97,
         ((x * 37) % 10007) / 7.0,
         (x * 13) % 1000,
         CASE WHEN x % 5 = 0 THEN NULL ELSE hex(x * 2654435761 % 4294967296) || replace(printf('%.*c', x % 40, 'z'), ' ', 'y') END
  FROM n;
CREATE TABLE grp(id INTEGER PRIMARY KEY, label TEXT, weight REAL);
WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x < 96)
INSERT INTO grp SELECT x, 'group-' || x, 1.0 + (x % 9) / 4.0 FROM n;
CREATE INDEX item_grp_price ON item(grp, price);
CREATE INDEX item_name ON item(name);
SELECT count(*), sum(qty), round(total(price), 4), min(name), max(name), count(note) FROM item;
SELECT g.label, count(*), round(avg(i.price), 6), sum(i.qty), max(length(i.note))
  FROM item i JOIN grp g ON g.id = i.grp
  GROUP BY g.id ORDER BY sum(i.qty * g.weight) DESC, g.label LIMIT 15;
SELECT grp, count(DISTINCT substr(name, 14)) FROM item WHERE price BETWEEN 100 AND 900 GROUP BY grp HAVING count(*) > 700 ORDER BY grp LIMIT 12;
SELECT name, price FROM item ORDER BY note DESC, id LIMIT 5 OFFSET 50000;
SELECT substr(group_concat(id, ','), 1, 200) FROM (SELECT id FROM item WHERE grp = 42 ORDER BY price DESC, id);
UPDATE item SET price = price * 1.1, note = upper(note) WHERE id % 3 = 0;
DELETE FROM item WHERE id % 11 = 0;
SELECT count(*), round(total(price), 4), sum(length(note)) FROM item;
WITH t AS (SELECT grp, price, row_number() OVER (PARTITION BY grp ORDER BY price DESC, id) AS rk FROM item)
  SELECT grp, rk, round(price, 4) FROM t WHERE rk <= 2 AND grp < 5 ORDER BY grp, rk;
VACUUM;
PRAGMA integrity_check;
SELECT count(*) FROM item INDEXED BY item_name WHERE name > 'item-05';
.sha3sum
"#;

#[test]
fn sqlite3() {
    let _g = serial();
    let Some(sqlite) = require("sqlite3", "Debian package sqlite3") else {
        return;
    };
    let mut outs = Vec::new();
    for alloc in [Alloc::Glibc, Alloc::Arenapool] {
        let dir = TempDir::new("sqlite");
        let script = dir.path().join("script.sql");
        std::fs::write(&script, SQL).unwrap();
        let db = dir.path().join("test.db");
        let r = run(
            Command::new(&sqlite)
                .arg("-batch")
                .arg("-bail")
                .arg(&db)
                .arg(format!(".read {}", script.display())),
            alloc,
            Duration::from_secs(300),
        );
        assert!(
            r.status.success() && r.stderr.is_empty(),
            "sqlite3 failed with {}:\n{}",
            alloc.name(),
            r.describe()
        );
        println!(
            "sqlite3 ({}): {:.2} s, {} lines of output",
            alloc.name(),
            r.secs,
            r.stdout.lines().count()
        );
        outs.push(r.stdout);
    }
    println!("sqlite3 output:\n{}", outs[1]);
    assert!(
        outs[0].contains("100000|"),
        "unexpected sqlite3 output:\n{}",
        outs[0]
    );
    assert!(
        outs[0].contains("\nok\n"),
        "integrity_check did not say ok:\n{}",
        outs[0]
    );
    assert_eq!(
        outs[0], outs[1],
        "sqlite3 output differs between glibc (left) and arenapool (right)"
    );
}

// ---- git ---------------------------------------------------------------------------

/// Deterministic file contents for file `i` at commit `c`.
fn git_file(i: usize, c: usize) -> String {
    let mut s = String::new();
    let lines = 20 + (i * 7) % 60;
    for l in 0..lines {
        // Each commit changes a few lines of some files.
        let v = if (l + i) % 9 == c % 9 && i % (c + 2) == 0 {
            c
        } else {
            0
        };
        s.push_str(&format!(
            "file {i} line {l}: {} {}\n",
            (i * 31 + l * 17 + v * 101) % 1009,
            "lorem ipsum dolor sit amet ".repeat((l + i) % 4)
        ));
    }
    s
}

fn git_path(i: usize) -> String {
    format!("src/d{}/s{}/file{i}.txt", i % 7, i % 3)
}

#[test]
fn git() {
    let _g = serial();
    let Some(git) = require("git", "Debian package git") else {
        return;
    };
    let mut transcripts = Vec::new();
    let mut times = Vec::new();
    for alloc in [Alloc::Glibc, Alloc::Arenapool] {
        let dir = TempDir::new("git");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        let mut transcript = String::new();
        let mut date = 1_600_000_000u64;
        let t = Instant::now();
        let mut git_run = |args: &[&str], date: u64| -> String {
            let d = format!("{date} +0000");
            let mut cmd = Command::new(&git);
            cmd.args(args)
                .current_dir(&repo)
                .env("HOME", dir.path())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_AUTHOR_NAME", "Arena Pool")
                .env("GIT_AUTHOR_EMAIL", "arena@example.com")
                .env("GIT_AUTHOR_DATE", &d)
                .env("GIT_COMMITTER_NAME", "Pool Arena")
                .env("GIT_COMMITTER_EMAIL", "pool@example.com")
                .env("GIT_COMMITTER_DATE", &d)
                .env("LC_ALL", "C")
                .env("TZ", "UTC")
                .env("GIT_PAGER", "cat")
                .env_remove("GIT_DIR")
                .env_remove("GIT_WORK_TREE")
                .env_remove("GIT_INDEX_FILE");
            let r = run(&mut cmd, alloc, Duration::from_secs(300));
            assert!(
                r.status.success(),
                "git {args:?} failed with {}:\n{}",
                alloc.name(),
                r.describe()
            );
            transcript.push_str(&format!("$ git {}\n{}", args.join(" "), r.stdout));
            r.stdout
        };
        git_run(&["-c", "init.defaultBranch=main", "init", "-q"], date);
        git_run(&["config", "core.autocrlf", "false"], date);
        git_run(&["config", "gc.auto", "0"], date);
        // Commit 0 adds 400 files; commits 1..=6 modify, add, delete and rename some.
        let mut live: Vec<usize> = (0..400).collect();
        for c in 0..7usize {
            if c > 0 {
                let gone: Vec<usize> = live.iter().copied().filter(|i| i % 37 == c).collect();
                for i in &gone {
                    std::fs::remove_file(repo.join(git_path(*i))).unwrap();
                }
                live.retain(|i| i % 37 != c);
                for k in 0..25 {
                    live.push(400 + c * 25 + k);
                }
            }
            for &i in &live {
                let p = repo.join(git_path(i));
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, git_file(i, c)).unwrap();
            }
            if c == 3 {
                git_run(&["mv", &git_path(5), "src/renamed-five.txt"], date);
                live.retain(|&i| i != 5);
            }
            git_run(&["add", "-A"], date);
            git_run(
                &[
                    "commit",
                    "-q",
                    "-m",
                    &format!("commit {c}\n\nchanges of round {c}"),
                ],
                date,
            );
            date += 3600;
        }
        git_run(&["log", "--stat", "--format=fuller"], date);
        git_run(&["log", "-p", "-M", "--format=%H %s"], date);
        git_run(&["log", "--graph", "--oneline", "--all"], date);
        git_run(&["diff", "HEAD~6", "HEAD", "--stat"], date);
        git_run(&["diff", "-M", "HEAD~3", "HEAD"], date);
        git_run(&["diff", "--numstat", "HEAD~5", "HEAD~1"], date);
        git_run(&["blame", "-s", &git_path(44)], date);
        git_run(&["gc", "-q", "--prune=now"], date);
        git_run(&["fsck", "--full", "--strict"], date);
        git_run(&["rev-list", "--objects", "--all"], date);
        git_run(&["count-objects"], date);
        // A dirty working tree for status and diff.
        for i in (0..60).step_by(7) {
            std::fs::write(repo.join(git_path(i)), git_file(i, 99)).unwrap();
        }
        std::fs::write(repo.join("untracked.txt"), "new\n").unwrap();
        std::fs::remove_file(repo.join(git_path(61))).unwrap();
        git_run(&["status", "--porcelain=v2", "--branch"], date);
        git_run(&["status"], date);
        git_run(&["diff", "--stat"], date);
        git_run(&["stash", "-q"], date);
        git_run(&["status", "--short"], date);
        git_run(&["rev-parse", "HEAD", "HEAD^{tree}", "stash@{0}"], date);
        times.push(t.elapsed().as_secs_f64());
        transcripts.push(transcript);
    }
    println!(
        "git: {} lines of output, identical with and without arenapool: glibc {:.2} s, arenapool {:.2} s",
        transcripts[1].lines().count(),
        times[0],
        times[1]
    );
    assert!(transcripts[0].contains("commit 6"), "unexpected git output");
    if transcripts[0] != transcripts[1] {
        let (a, b) = (&transcripts[0], &transcripts[1]);
        let line = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        panic!(
            "git output differs between glibc and arenapool, first at line {line}:\n  glibc:     {:?}\n  arenapool: {:?}",
            a.lines().nth(line),
            b.lines().nth(line)
        );
    }
}

// ---- redis -------------------------------------------------------------------------

/// Kills the child on drop (a failing test must not leave a server behind).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().unwrap().port()
}

fn redis_cli(cli: &Path, port: u16, args: &[&str]) -> Ran {
    let port = port.to_string();
    let mut cmd = Command::new(cli);
    cmd.args(["-h", "127.0.0.1", "-p", &port]).args(args);
    run(&mut cmd, Alloc::Glibc, Duration::from_secs(30))
}

/// Requests per test in the redis benchmark: enough that each test runs a few
/// seconds (redis-benchmark's rate is too coarse over one second).
const REDIS_REQUESTS: &str = "200000";

/// Requests per second for each test, from `redis-benchmark -q` output.
fn parse_benchmark(out: &str) -> Vec<(String, f64)> {
    out.split(['\r', '\n'])
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once(": ")?;
            let rps = rest
                .strip_suffix(" requests per second")
                .or_else(|| rest.split_once(" requests per second").map(|(a, _)| a))?;
            Some((name.to_string(), rps.trim().parse().ok()?))
        })
        .collect()
}

fn redis_round(server: &Path, cli: &Path, bench: &Path, alloc: Alloc) -> Vec<(String, f64)> {
    let dir = TempDir::new("redis");
    let port = free_port();
    let ports = port.to_string();
    let mut cmd = Command::new(server);
    cmd.args([
        "--port",
        &ports,
        "--bind",
        "127.0.0.1",
        "--protected-mode",
        "yes",
    ])
    .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
    .arg("--dir")
    .arg(dir.path())
    .arg("--logfile")
    .arg(dir.path().join("redis.log"))
    .current_dir(dir.path())
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    alloc.apply(&mut cmd);
    let mut srv = Server(cmd.spawn().expect("start redis-server"));
    let log = || std::fs::read_to_string(dir.path().join("redis.log")).unwrap_or_default();
    let t = Instant::now();
    loop {
        if let Some(s) = srv.0.try_wait().unwrap() {
            panic!(
                "redis-server ({}) exited at start-up: {s}\n{}",
                label(alloc),
                log()
            );
        }
        if redis_cli(cli, port, &["ping"]).stdout.trim() == "PONG" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "redis-server did not answer PING:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        has_arenapool(srv.0.id()),
        alloc == Alloc::Arenapool,
        "redis-server ({}): libarenapool mapped = {}",
        label(alloc),
        has_arenapool(srv.0.id())
    );
    // Only the server differs between the two rounds: the client runs on glibc.
    let mut b = Command::new(bench);
    b.args([
        "-h",
        "127.0.0.1",
        "-p",
        &ports,
        "-q",
        "-n",
        REDIS_REQUESTS,
        "-c",
        "50",
        "--threads",
        "2",
    ])
    .args(["-t", "set,get,lpush,lpop,incr"]);
    let r = run(&mut b, Alloc::Glibc, Duration::from_secs(300));
    assert!(
        r.status.success(),
        "redis-benchmark failed against {}:\n{}\n{}",
        label(alloc),
        r.describe(),
        log()
    );
    let rps = parse_benchmark(&r.stdout);
    for t in ["SET", "GET", "LPUSH", "LPOP", "INCR"] {
        assert!(
            rps.iter().any(|(n, v)| n == t && *v > 0.0),
            "redis-benchmark against {} did not report {t}:\n{}",
            label(alloc),
            r.describe()
        );
    }
    // Still alive and still right.
    assert!(
        srv.0.try_wait().unwrap().is_none(),
        "redis-server ({}) died during the benchmark:\n{}",
        label(alloc),
        log()
    );
    assert_eq!(
        redis_cli(cli, port, &["ping"]).stdout.trim(),
        "PONG",
        "no PONG after the benchmark"
    );
    let big = "x".repeat(100_000);
    assert_eq!(
        redis_cli(cli, port, &["set", "big", &big]).stdout.trim(),
        "OK"
    );
    assert_eq!(
        redis_cli(cli, port, &["strlen", "big"]).stdout.trim(),
        "100000"
    );
    assert_eq!(
        redis_cli(cli, port, &["get", "counter:__rand_int__"])
            .stdout
            .trim(),
        REDIS_REQUESTS,
        "INCR lost updates"
    );
    let mem = redis_cli(cli, port, &["info", "memory"]).stdout;
    let field = |k: &str| {
        mem.lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or("?")
            .trim()
            .to_string()
    };
    let (rss, allocator) = (field("used_memory_rss_human:"), field("mem_allocator:"));
    // Shut down cleanly.
    let _ = redis_cli(cli, port, &["shutdown", "nosave"]);
    let t = Instant::now();
    let status = loop {
        if let Some(s) = srv.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "redis-server did not shut down:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "redis-server ({}) exited with {status}:\n{}",
        label(alloc),
        log()
    );
    println!(
        "redis-server ({}): {}; RSS {rss}; built-in allocator {allocator}",
        label(alloc),
        rps.iter()
            .map(|(n, v)| format!("{n} {v:.0}/s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    rps
}

/// Debian's redis-server links jemalloc (libjemalloc.so.2) and calls plain malloc,
/// free, calloc, realloc and malloc_usable_size: without LD_PRELOAD they are
/// jemalloc's, with it arenapool's (jemalloc's own mallctl/nallocx remain jemalloc's).
fn label(alloc: Alloc) -> &'static str {
    match alloc {
        Alloc::Glibc => "no preload",
        Alloc::Arenapool => "arenapool",
    }
}

#[test]
fn redis() {
    let _g = serial();
    let Some(server) = require("redis-server", "Debian package redis-server") else {
        return;
    };
    let Some(cli) = require("redis-cli", "Debian package redis-tools") else {
        return;
    };
    let Some(bench) = require("redis-benchmark", "Debian package redis-tools") else {
        return;
    };
    let g = redis_round(&server, &cli, &bench, Alloc::Glibc);
    let a = redis_round(&server, &cli, &bench, Alloc::Arenapool);
    println!("redis-benchmark requests/s (-n {REDIS_REQUESTS} -c 50 --threads 2), server without preload (its own malloc) vs arenapool:");
    for (name, gv) in &g {
        let av = a
            .iter()
            .find(|(n, _)| n == name)
            .map(|x| x.1)
            .unwrap_or(0.0);
        println!(
            "  {name:6} no preload {gv:>10.0}  arenapool {av:>10.0}  ({:+.1}%)",
            (av / gv - 1.0) * 100.0
        );
    }
}

#[test]
fn benchmark_output_parses() {
    let out = "SET: rps=4223.1 (overall: 4206.3) avg_msec=2.962\r   \rSET: 32916.39 requests per second, p50=0.647 msec\n\
               GET: 48875.86 requests per second, p50=0.375 msec\nLPOP: 100000.00 requests per second\n";
    let p = parse_benchmark(out);
    assert_eq!(
        p,
        vec![
            ("SET".into(), 32916.39),
            ("GET".into(), 48875.86),
            ("LPOP".into(), 100000.0)
        ]
    );
}

/// Out of memory through the C interface: `tests/c/oom.c` lowers its
/// `RLIMIT_AS` to its size plus 8, 64 and 256 MiB, exhausts it with 1 and 4
/// threads through malloc, calloc, realloc, posix_memalign and aligned_alloc,
/// and checks NULL + `ENOMEM` (posix_memalign: the return value `ENOMEM`,
/// `*memptr` untouched), intact blocks after a failed realloc, and that
/// allocation works again after frees (see the program).
fn oom(threads: usize, secure: bool, alloc: Alloc) {
    let t = threads.to_string();
    let mut args = vec![t.as_str()];
    if alloc == Alloc::Glibc {
        args.push("--glibc");
    }
    let mode = if secure { "1" } else { "0" };
    let r = run_c_env(
        "oom",
        &args,
        &[("ARENAPOOL_SECURE", mode)],
        alloc,
        Duration::from_secs(60),
    );
    let what = format!("oom {threads} ({}, secure {secure})", alloc.name());
    assert!(r.status.success(), "{what}: {}", r.describe());
    let phases: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("oom: threads="))
        .collect();
    assert_eq!(phases.len(), 3, "{what}: {}", r.describe());
    for l in &phases {
        let fails: u64 = l
            .split_once("failures=")
            .and_then(|(_, rest)| rest.split(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{what}: no failure count in {l}"));
        assert!(fails > 0, "{what}: no allocation failed: {l}");
    }
    assert!(r.stdout.contains("oom: done"), "{what}: {}", r.describe());
    // The mode really is the one asked for (secure mode's usable size is the
    // requested size).
    if alloc == Alloc::Arenapool {
        assert_eq!(
            r.stdout.contains("usable(malloc(20))=20\n"),
            secure,
            "{what}: wrong mode: {}",
            r.describe()
        );
    }
    eprintln!("{what}: {:.2} s", r.secs);
}

#[test]
fn out_of_memory_is_an_answer() {
    let _g = serial();
    for secure in [false, true] {
        oom(1, secure, Alloc::Arenapool);
        oom(4, secure, Alloc::Arenapool);
    }
}

/// The program's rules hold for the system allocator too.
#[test]
fn oom_rules_hold_for_system_malloc() {
    let _g = serial();
    oom(1, false, Alloc::Glibc);
    oom(4, false, Alloc::Glibc);
}

/// C++ `new` and `delete` in every form go through arenapool; in secure mode a
/// block that goes back the wrong way (`delete` of a `new[]` block and the
/// reverse, a sized delete with another size) is reported.
#[test]
fn cxx_new_and_delete() {
    let _g = serial();
    for secure in ["0", "1"] {
        let r = run_c_env(
            "cxx",
            &["ok"],
            &[("ARENAPOOL_SECURE", secure)],
            Alloc::Arenapool,
            Duration::from_secs(60),
        );
        assert!(
            r.status.success() && r.stdout.contains("cxx: ok"),
            "secure {secure}: {}",
            r.describe()
        );
    }
    for (mode, message) in [
        (
            "delete-of-new-array",
            "arenapool: delete of a block not made by new:",
        ),
        (
            "delete-array-of-new",
            "arenapool: delete[] of a block not made by new[]:",
        ),
        (
            "sized-delete-wrong-size",
            "arenapool: sized delete with a size the block was not made with:",
        ),
    ] {
        let r = run_c_env(
            "cxx",
            &[mode],
            &[("ARENAPOOL_SECURE", "1")],
            Alloc::Arenapool,
            Duration::from_secs(60),
        );
        assert!(
            std::os::unix::process::ExitStatusExt::signal(&r.status) == Some(libc::SIGABRT)
                && r.stderr.contains(message),
            "{mode}: {}",
            r.describe()
        );
        // The default mode does not check.
        let r = run_c_env(
            "cxx",
            &[mode],
            &[("ARENAPOOL_SECURE", "0")],
            Alloc::Arenapool,
            Duration::from_secs(60),
        );
        assert!(
            r.stdout.contains("cxx: not caught"),
            "{mode}: {}",
            r.describe()
        );
    }
}
