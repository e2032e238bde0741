//! # The arenapool benchmark suite
//!
//! `cargo bench --bench suite` (short preset: threads 1, 2, 4, one run per cell,
//! scale 1; about a minute on two idle cores) or `cargo bench --bench suite -- --full`
//! (threads 1, 2, 4, 8, 16 and the core count if larger, three runs per cell, three
//! times the work per cell; about 36 times as long as the short preset on two cores,
//! since fixed work per thread makes 8- and 16-thread cells long there; lower it with
//! `--scale 1` or `--threads`). Options: `--threads 1,2,4`, `--workloads a,b`,
//! `--allocators x,y`, `--out DIR` (default `target/suite`), `--reps N`,
//! `--scale N`, `--timeout SECS`, `--list` (parsed with lexopt: `--opt=value` works
//! too). Unknown flags (cargo passes `--bench`) are ignored.
//!
//! Two more allocator forms compare arenapool with itself in one run:
//! `arenapool-secure` (secure mode, `ARENAPOOL_SECURE=1`) and `LABEL@PATH`, which
//! runs the workers from another build of this binary (`PATH`, e.g. one built from
//! an older commit) as arenapool, reported as `LABEL`.
//!
//! ## Design
//!
//! * **One binary, one process per measurement.** A global allocator is fixed per
//!   process, so comparing allocators needs separate processes. This binary's global
//!   allocator is `benches/common/select.rs`, which forwards every call to arenapool,
//!   glibc (`system`), mimalloc or jemalloc as the environment variable
//!   `ARENAPOOL_ALLOC` says. The runner (this program without `--worker`) re-executes
//!   itself (`std::env::current_exe()`) as a worker for every measurement:
//!   `suite --worker WORKLOAD THREADS SCALE` with `ARENAPOOL_ALLOC=NAME`. The worker
//!   runs the workload once and prints one line,
//!   `SUITE-RESULT alloc=.. wall_s=.. ops=.. rss_kib=.. check=ok`: the wall time of
//!   the workload alone (thread start-up included, process start-up not), its
//!   operation count, and its peak RSS (`VmHWM` from `/proc/self/status`: unlike
//!   `ru_maxrss` it is not inherited across `exec` from the runner). Every allocator
//!   runs exactly the same machine code apart from the allocator itself, and starts
//!   from a fresh heap.
//! * **Fairness on a noisy machine.** Within each (workload, threads) cell the
//!   allocators run interleaved, one after another, and the cell is repeated
//!   (short: once, full: three times, rotating which allocator goes first); the
//!   median is reported, with the spread (max - min over median) so noise is visible.
//!   Drift in the machine's load then hits all allocators of a cell alike.
//! * **Checking.** Workloads tag their blocks and check sums (see `workloads.rs`), so
//!   the optimiser cannot delete the work and an allocator that hands out overlapping
//!   or corrupted memory fails its cell instead of winning it. A worker that crashes,
//!   fails its check or runs past the timeout marks its cell as failed.
//! * **Scaling.** Most workloads do fixed work per thread (so ops/s should grow with
//!   threads up to the core count); `rayon` does fixed total work; `footprint` starts
//!   its own threads (rayon pools of 4), ignores the thread count and so runs only at
//!   the smallest one requested. Each workload says which in its doc comment and in
//!   the report.
//! * **Footprint.** A workload may also sample its RSS and live bytes once per round
//!   (`footprint` does, after each of its rounds); its worker then prints a second
//!   line, `SUITE-ROUNDS rss_kib=a,b,.. live_kib=x,y,..`, which the runner collects
//!   and the report turns into a footprint table and a per-round RSS chart.
//!
//! Output: a progress bar on stderr (indicatif; a line per step when stderr is not a
//! terminal), per-workload tables and a summary on stdout, and in the output
//! directory `results.csv`, `results.md` (tables, summary, machine description), one
//! throughput chart per workload (`WORKLOAD.svg`; for workloads with per-round
//! samples, such as `footprint`, RSS per round instead), `peak-rss.svg` (charts drawn
//! with plotters, `suite/charts.rs`), and `rounds.csv` (the per-round samples) when
//! there are any.

#![allow(clippy::disallowed_types, clippy::disallowed_macros)]

#[path = "common/select.rs"]
mod select;

#[path = "suite/charts.rs"]
mod charts;
#[path = "suite/report.rs"]
mod report;
#[path = "suite/workloads.rs"]
mod workloads;

use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use report::{Cell, Machine, Results, Run};

#[global_allocator]
static ALLOC: select::Selected = select::Selected;

const RESULT_TAG: &str = "SUITE-RESULT";
const ROUNDS_TAG: &str = "SUITE-ROUNDS";

fn main() -> ExitCode {
    match Options::parse() {
        Ok(Mode::Worker(args)) => worker(&args),
        Ok(Mode::Run(o)) => runner(o),
        Ok(Mode::Done) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("suite: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

// ---------------------------------------------------------------------------------
// Worker

fn worker(args: &[String]) -> ExitCode {
    let (Some(name), Some(threads), Some(scale)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<usize>().ok()),
        args.get(2).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("suite --worker WORKLOAD THREADS SCALE");
        return ExitCode::from(2);
    };
    let Some(w) = workloads::find(name) else {
        eprintln!("suite: unknown workload {name}");
        return ExitCode::from(2);
    };
    let t0 = Instant::now();
    let ops = (w.run)(threads.max(1), scale);
    let wall = t0.elapsed().as_secs_f64();
    let check = workloads::verify();
    let rss = peak_rss_kib();
    let rounds = workloads::round_samples();
    if !rounds.is_empty() {
        let join = |f: fn(&(u64, u64)) -> u64| {
            rounds
                .iter()
                .map(|r| f(r).to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        println!(
            "{ROUNDS_TAG} rss_kib={} live_kib={}",
            join(|r| r.0),
            join(|r| r.1)
        );
    }
    println!(
        "{RESULT_TAG} alloc={} wall_s={wall:.6} ops={ops} rss_kib={rss} check={}",
        select::name(),
        match &check {
            Ok(()) => "ok".to_string(),
            Err(e) => format!("FAIL({e})"),
        }
    );
    if select::name() == "arenapool" && std::env::var_os("ARENAPOOL_SUITE_POOL").is_some() {
        // Diagnostics for tuning: how often the workload took the pool lock.
        let p = arenapool::stats();
        eprintln!(
            "pool: lock taken {} times ({:.3} per op), contended {} times, {} free runs",
            p.lock_acquisitions,
            p.lock_acquisitions as f64 / ops.max(1) as f64,
            p.lock_contended,
            p.pool_free_runs
        );
    }
    if check.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    }
}

/// Peak resident set size of this process in KiB: VmHWM, or ru_maxrss failing that.
fn peak_rss_kib() -> u64 {
    if let Ok(s) = std::fs::read_to_string("/proc/self/status") {
        if let Some(v) = s
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        {
            return v;
        }
    }
    // SAFETY: getrusage writes into the zeroed struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru.ru_maxrss as u64
    }
}

// ---------------------------------------------------------------------------------
// Options

const USAGE: &str = "usage: cargo bench --bench suite -- [--full] [--threads 1,2,4] \
[--workloads a,b] [--allocators x,y] [--out DIR] [--reps N] [--scale N] [--timeout SECS] [--list]";

struct Options {
    preset: &'static str,
    threads: Vec<usize>,
    workloads: Vec<&'static workloads::Workload>,
    allocs: Vec<String>,
    /// Worker binaries of `LABEL@PATH` allocators, by label.
    other_builds: Vec<(String, PathBuf)>,
    out: PathBuf,
    reps: usize,
    scale: u64,
    timeout: Duration,
}

fn list<T>(v: &str, mut parse: impl FnMut(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| parse(s.trim()))
        .collect()
}

/// What the command line asks for.
enum Mode {
    /// `--worker WORKLOAD THREADS SCALE`: one measurement (the values as given).
    Worker(Vec<String>),
    Run(Options),
    /// Already served (`--list`, `--help`).
    Done,
}

/// The value `v` of option `flag`, a number above zero.
fn positive<T: FromStr + Default + PartialOrd>(v: OsString, flag: &str) -> Result<T, String> {
    (v.to_str().and_then(|s| s.parse().ok()))
        .filter(|n| *n > T::default())
        .ok_or(format!("bad {flag}"))
}

impl Options {
    /// Parses the command line (options may come in any order; `--full` sets the
    /// defaults of those not given).
    fn parse() -> Result<Mode, lexopt::Error> {
        use lexopt::prelude::*;
        let (mut full, mut list_workloads) = (false, false);
        let (mut threads, mut workloads, mut allocs) = (None, None, None);
        let mut other_builds = Vec::new();
        let (mut out, mut reps, mut scale, mut timeout) = (None, None, None, None);
        let mut p = lexopt::Parser::from_env();
        while let Some(arg) = p.next()? {
            match arg {
                Long("worker") => {
                    let args = p.values()?.map(|v| v.string());
                    return Ok(Mode::Worker(args.collect::<Result<_, _>>()?));
                }
                Long("full") => full = true,
                Long("short") => {}
                Long("list") => list_workloads = true,
                Long("help") | Short('h') => {
                    println!("{USAGE}");
                    return Ok(Mode::Done);
                }
                Long("threads") => {
                    threads = Some(list(&p.value()?.string()?, |s| {
                        s.parse::<usize>()
                            .ok()
                            .filter(|&n| n > 0)
                            .ok_or(format!("bad thread count {s}"))
                    })?)
                }
                Long("workloads") => {
                    workloads = Some(list(&p.value()?.string()?, |s| {
                        workloads::find(s).ok_or(format!("unknown workload {s}"))
                    })?)
                }
                Long("allocators") => {
                    other_builds.clear();
                    allocs = Some(list(&p.value()?.string()?, |s| {
                        if let Some((label, path)) = s.split_once('@') {
                            other_builds.push((label.to_string(), PathBuf::from(path)));
                            return Ok(label.to_string());
                        }
                        if s == "arenapool-secure" {
                            return Ok(s.to_string());
                        }
                        select::NAMES
                            .iter()
                            .find(|n| **n == s)
                            .map(|n| n.to_string())
                            .ok_or(format!(
                                "unknown allocator {s} (known: {}, arenapool-secure, LABEL@PATH)",
                                select::NAMES.join(", ")
                            ))
                    })?)
                }
                Long("out") => out = Some(PathBuf::from(p.value()?)),
                Long("reps") => reps = Some(positive(p.value()?, "--reps")?),
                Long("scale") => scale = Some(positive(p.value()?, "--scale")?),
                Long("timeout") => {
                    let secs = positive(p.value()?, "--timeout")?;
                    timeout = Some(Duration::try_from_secs_f64(secs).map_err(|_| "bad --timeout")?)
                }
                // cargo bench passes --bench; anything else unknown is ignored too.
                Long("bench") => {}
                Long(other) => {
                    eprintln!("suite: ignoring argument --{other}");
                    // An unknown `--flag=value` brings its value along: drop it.
                    let _ = p.optional_value();
                }
                Short(c) => eprintln!("suite: ignoring argument -{c}"),
                Value(v) => eprintln!("suite: ignoring argument {}", v.to_string_lossy()),
            }
        }
        if list_workloads {
            for w in workloads::ALL {
                println!(
                    "{:<20} {}; one op = one {}",
                    w.name,
                    w.scaling.describe(),
                    w.op
                );
            }
            return Ok(Mode::Done);
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let mut threads = threads.unwrap_or_else(|| {
            if full {
                [1, 2, 4, 8, 16]
                    .into_iter()
                    .chain((cores > 16).then_some(cores))
                    .collect()
            } else {
                vec![1, 2, 4]
            }
        });
        let workloads = workloads.unwrap_or_else(|| workloads::ALL.iter().collect());
        let allocs = allocs.unwrap_or_else(|| select::NAMES.map(String::from).to_vec());
        if threads.is_empty() || workloads.is_empty() || allocs.is_empty() {
            return Err("nothing to run".into());
        }
        threads.sort_unstable();
        threads.dedup();
        Ok(Mode::Run(Options {
            preset: if full { "full" } else { "short" },
            threads,
            workloads,
            allocs,
            other_builds,
            out: out.unwrap_or_else(|| {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/suite"))
            }),
            reps: reps.unwrap_or(if full { 3 } else { 1 }),
            scale: scale.unwrap_or(if full { 3 } else { 1 }),
            timeout: timeout.unwrap_or(Duration::from_secs(if full { 600 } else { 60 })),
        }))
    }
}

// ---------------------------------------------------------------------------------
// Runner

/// Runs one worker process; `Ok(run)` or `Err(why it failed)`.
fn run_worker(
    exe: &std::path::Path,
    w: &str,
    threads: usize,
    scale: u64,
    alloc: &str,
    timeout: Duration,
) -> Result<Run, String> {
    // `arenapool-secure` and other builds' labels are arenapool run differently.
    let (alloc, secure) = match alloc {
        "arenapool-secure" => ("arenapool", "1"),
        a if select::NAMES.contains(&a) => (a, "0"),
        _ => ("arenapool", "0"),
    };
    let mut child = Command::new(exe)
        .args(["--worker", w, &threads.to_string(), &scale.to_string()])
        .env("ARENAPOOL_ALLOC", alloc)
        .env("ARENAPOOL_SECURE", secure)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn failed: {e}"))?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timeout after {timeout:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("wait failed: {e}")),
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    let line = out.lines().find(|l| l.starts_with(RESULT_TAG));
    let field = |k: &str| -> Option<&str> {
        line?
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
    };
    if !status.success() {
        use std::os::unix::process::ExitStatusExt;
        let how = match (status.code(), status.signal()) {
            (_, Some(sig)) => format!("crashed (signal {sig})"),
            (Some(3), _) => format!("check failed: {}", field("check").unwrap_or("?")),
            (Some(c), _) => format!("exit code {c}"),
            _ => "failed".into(),
        };
        let tail: String = err.lines().last().unwrap_or("").chars().take(120).collect();
        return Err(if tail.is_empty() {
            how
        } else {
            format!("{how}: {tail}")
        });
    }
    if field("alloc") != Some(alloc) {
        return Err(format!(
            "worker used allocator {:?}, not {alloc}",
            field("alloc")
        ));
    }
    // Per-round samples, for workloads that take them: `SUITE-ROUNDS rss_kib=a,b,..
    // live_kib=x,y,..`, equally long lists.
    let rounds = match out.lines().find(|l| l.starts_with(ROUNDS_TAG)) {
        None => Some(Vec::new()),
        Some(l) => (|| {
            let list = |k: &str| -> Option<Vec<u64>> {
                l.split_whitespace()
                    .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))?
                    .split(',')
                    .map(|x| x.parse().ok())
                    .collect()
            };
            let (rss, live) = (list("rss_kib")?, list("live_kib")?);
            (rss.len() == live.len()).then(|| rss.into_iter().zip(live).collect())
        })(),
    };
    let parsed = (|| {
        Some(Run {
            wall_s: field("wall_s")?.parse().ok()?,
            ops: field("ops")?.parse().ok()?,
            rss_kib: field("rss_kib")?.parse().ok()?,
            rounds: rounds?,
        })
    })();
    parsed.ok_or_else(|| format!("unreadable worker output: {out:?}"))
}

/// The progress bar on stderr. indicatif redraws it in place on a terminal and
/// draws nothing elsewhere (a CI log), where each step is printed as a line instead.
struct Progress(ProgressBar);

impl Progress {
    fn new(total: usize) -> Progress {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg} ({elapsed})")
                .expect("valid template")
                .progress_chars("#."),
        );
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_secs(1));
        }
        Progress(bar)
    }

    fn show(&self, what: &str) {
        if self.0.is_hidden() {
            eprintln!(
                "{}/{} {what} ({:.0} s)",
                self.0.position(),
                self.0.length().unwrap_or(0),
                self.0.elapsed().as_secs_f64()
            );
        }
        self.0.set_message(what.to_string());
    }

    /// Shows "done" and ends the bar's line.
    fn finish(&self) {
        self.show("done");
        self.0.finish();
        if !self.0.is_hidden() {
            eprintln!();
        }
    }
}

fn runner(o: Options) -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("suite: cannot find own executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let machine = Machine::describe();
    let started = Instant::now();
    let progress = Progress::new(
        o.workloads
            .iter()
            .map(|w| w.scaling.thread_counts(&o.threads).len())
            .sum::<usize>()
            * o.allocs.len()
            * o.reps,
    );
    let mut cells = Vec::new();
    for w in &o.workloads {
        for &t in w.scaling.thread_counts(&o.threads) {
            let mut row: Vec<Cell> = o
                .allocs
                .iter()
                .map(|a| Cell {
                    workload: w,
                    threads: t,
                    alloc: a.clone(),
                    runs: Vec::new(),
                    failure: None,
                })
                .collect();
            for rep in 0..o.reps {
                // Interleave the allocators, rotating who goes first each repetition.
                for k in 0..row.len() {
                    let i = (k + rep) % row.len();
                    let c = &mut row[i];
                    progress.show(&format!("{} t={} {}", w.name, t, c.alloc));
                    if c.failure.is_none() {
                        let exe = o
                            .other_builds
                            .iter()
                            .find(|(l, _)| *l == c.alloc)
                            .map_or(exe.as_path(), |(_, p)| p.as_path());
                        match run_worker(exe, w.name, t, o.scale, &c.alloc, o.timeout) {
                            Ok(r) => c.runs.push(r),
                            Err(e) => c.failure = Some(e),
                        }
                    }
                    progress.0.inc(1);
                }
            }
            cells.extend(row);
        }
    }
    progress.finish();
    let results = Results {
        preset: o.preset,
        reps: o.reps,
        scale: o.scale,
        workloads: o.workloads,
        threads: o.threads,
        allocs: o.allocs,
        cells,
        elapsed_s: started.elapsed().as_secs_f64(),
    };
    print!("{}", report::text(&results, &machine));
    match report::write_files(&o.out, &results, &machine) {
        Ok(()) => {
            println!(
                "Wrote results.csv, results.md and charts to {}",
                o.out.display()
            );
            // A crashed, timed-out or wrong worker fails the whole run (after the
            // report, which names the cells).
            if results.cells.iter().any(|c| c.failure.is_some()) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("suite: writing {}: {e}", o.out.display());
            ExitCode::FAILURE
        }
    }
}
