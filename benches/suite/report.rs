//! Results: the data model, the text table and summary (stdout), `results.csv`,
//! `results.md`, `rounds.csv` and the SVG charts.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use super::charts::{self, Svg};
use super::workloads::{Scaling, Workload};

/// One worker process's measurement.
#[derive(Clone, Debug)]
pub struct Run {
    pub wall_s: f64,
    pub ops: u64,
    pub rss_kib: u64,
    /// Per-round samples (RSS KiB, live KiB) of workloads that take them, else empty.
    pub rounds: Vec<(u64, u64)>,
}

/// Per-round samples, (RSS KiB, live KiB), one per round.
pub type Rounds = Vec<(f64, f64)>;

/// All runs of one (workload, threads, allocator) cell.
pub struct Cell {
    pub workload: &'static Workload,
    pub threads: usize,
    pub alloc: String,
    pub runs: Vec<Run>,
    /// Why a run failed (crash, timeout, failed check); the cell then has no result.
    pub failure: Option<String>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

impl Cell {
    pub fn ok(&self) -> bool {
        self.failure.is_none() && !self.runs.is_empty()
    }
    /// Median wall time, seconds.
    pub fn wall(&self) -> Option<f64> {
        if !self.ok() {
            return None;
        }
        median(self.runs.iter().map(|r| r.wall_s).collect())
    }
    pub fn ops(&self) -> Option<u64> {
        self.ok().then(|| self.runs[0].ops)
    }
    /// Operations per second at the median wall time.
    pub fn ops_per_s(&self) -> Option<f64> {
        Some(self.ops()? as f64 / self.wall()?)
    }
    /// Median peak RSS, KiB.
    pub fn rss_kib(&self) -> Option<f64> {
        if !self.ok() {
            return None;
        }
        median(self.runs.iter().map(|r| r.rss_kib as f64).collect())
    }
    /// (max - min) / median of the wall times, percent (with two runs or more).
    pub fn spread_pct(&self) -> Option<f64> {
        if self.runs.len() < 2 {
            return None;
        }
        let w = self.wall()?;
        let lo = self
            .runs
            .iter()
            .map(|r| r.wall_s)
            .fold(f64::INFINITY, f64::min);
        let hi = self.runs.iter().map(|r| r.wall_s).fold(0.0, f64::max);
        Some((hi - lo) / w * 100.0)
    }
    /// Per-round samples, (RSS KiB, live KiB), each the median over the runs (up
    /// to the fewest rounds any run has); `None` if the cell failed or took none.
    pub fn rounds(&self) -> Option<Rounds> {
        if !self.ok() {
            return None;
        }
        let n = self.runs.iter().map(|r| r.rounds.len()).min()?;
        (n > 0).then(|| {
            (0..n)
                .map(|i| {
                    let m = |f: fn(&(u64, u64)) -> u64| {
                        median(self.runs.iter().map(|r| f(&r.rounds[i]) as f64).collect())
                            .unwrap_or(f64::NAN)
                    };
                    (m(|s| s.0), m(|s| s.1))
                })
                .collect()
        })
    }
    fn status(&self) -> &str {
        match &self.failure {
            None => "ok",
            Some(f) => f,
        }
    }
}

/// Everything a run of the suite measured, and how.
pub struct Results {
    pub preset: &'static str,
    pub reps: usize,
    pub scale: u64,
    pub workloads: Vec<&'static Workload>,
    pub threads: Vec<usize>,
    pub allocs: Vec<String>,
    pub cells: Vec<Cell>,
    pub elapsed_s: f64,
}

impl Results {
    /// The cell of workload `w` at `t` threads for allocator `a`; a workload that
    /// runs at one thread count only (`Scaling::Own`) answers for every `t`.
    pub fn cell(&self, w: &str, t: usize, a: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| {
            c.workload.name == w
                && (c.threads == t || c.workload.scaling == Scaling::Own)
                && c.alloc == a
        })
    }
    /// Whether any cell of workload `w` has per-round samples.
    fn has_rounds(&self, w: &str) -> bool {
        self.cells
            .iter()
            .any(|c| c.workload.name == w && c.rounds().is_some())
    }
    fn wall(&self, w: &str, t: usize, a: &str) -> Option<f64> {
        self.cell(w, t, a)?.wall()
    }
    /// The thread count the summary compares at: 2 if measured, else the smallest
    /// count above 1, else the largest.
    fn summary_threads(&self) -> usize {
        if self.threads.contains(&2) {
            2
        } else {
            let above: Vec<usize> = self.threads.iter().copied().filter(|&t| t > 1).collect();
            above
                .iter()
                .copied()
                .min()
                .unwrap_or_else(|| self.threads.iter().copied().max().unwrap_or(1))
        }
    }
    fn has(&self, a: &str) -> bool {
        self.allocs.iter().any(|x| x == a)
    }
}

/// The machine the suite ran on.
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub date: String,
    pub loadavg: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| format!("Linux {}", s.trim()))
            .unwrap_or_else(|_| "unknown".into());
        let loadavg = fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        Machine {
            cpu,
            cores,
            kernel,
            date: utc_now(),
            loadavg,
        }
    }
}

/// The current UTC date and time, "YYYY-MM-DD HH:MM UTC" (civil-from-days after
/// Howard Hinnant).
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

// ---------------------------------------------------------------------------------
// Tables: built once as rows of strings, rendered as aligned text or Markdown.

struct Table {
    header: Vec<String>,
    /// Columns that are right-aligned (numbers).
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn text(&self) -> String {
        let n = self.header.len();
        let mut w = vec![0; n];
        for (i, h) in self.header.iter().enumerate() {
            w[i] = h.len();
        }
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        let line = |out: &mut String, cells: &[String]| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i > 0 {
                    s.push_str("  ");
                }
                if self.right[i] {
                    let _ = write!(s, "{c:>width$}", width = w[i]);
                } else {
                    let _ = write!(s, "{c:<width$}", width = w[i]);
                }
            }
            out.push_str(s.trim_end());
            out.push('\n');
        };
        line(&mut out, &self.header);
        line(
            &mut out,
            &w.iter().map(|&n| "-".repeat(n)).collect::<Vec<_>>(),
        );
        for r in &self.rows {
            line(&mut out, r);
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| {} |", self.header.join(" | "));
        let seps: Vec<&str> = self
            .right
            .iter()
            .map(|&r| if r { "---:" } else { "---" })
            .collect();
        let _ = writeln!(out, "| {} |", seps.join(" | "));
        for r in &self.rows {
            let _ = writeln!(out, "| {} |", r.join(" | "));
        }
        out
    }
}

fn f(v: Option<f64>, prec: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.prec$}"),
        _ => "-".into(),
    }
}

/// The per-workload table: threads, allocator, time, ops/s, RSS, ratio to system.
fn workload_table(r: &Results, w: &Workload) -> Table {
    let mut rows = Vec::new();
    for &t in w.scaling.thread_counts(&r.threads) {
        let sys = r.wall(w.name, t, "system");
        for a in &r.allocs {
            let Some(c) = r.cell(w.name, t, a) else {
                continue;
            };
            let ratio = match (c.wall(), sys) {
                (Some(x), Some(s)) => Some(x / s),
                _ => None,
            };
            rows.push(vec![
                if w.scaling == Scaling::Own {
                    "-".to_string()
                } else {
                    t.to_string()
                },
                a.clone(),
                f(c.wall(), 4),
                c.ops_per_s().map(si).unwrap_or_else(|| "-".into()),
                f(c.rss_kib().map(|k| k / 1024.0), 1),
                f(ratio, 2),
                f(c.spread_pct(), 1),
                c.status().to_string(),
            ]);
        }
    }
    Table {
        header: [
            "threads",
            "allocator",
            "time (s)",
            "ops/s",
            "peak RSS (MiB)",
            "time/system",
            "spread %",
            "status",
        ]
        .map(String::from)
        .to_vec(),
        right: vec![true, false, true, true, true, true, true, false],
        rows,
    }
}

/// The footprint table of a workload with per-round samples: per allocator, RSS
/// after the first and the last round, the survivors' bytes at the end, RSS over
/// live bytes, and arenapool's final RSS over this allocator's.
fn footprint_table(r: &Results, w: &Workload) -> Option<(usize, Table)> {
    if !r.has_rounds(w.name) {
        return None;
    }
    let t = w.scaling.thread_counts(&r.threads).first().copied()?;
    let last = |a: &str| r.cell(w.name, t, a)?.rounds()?.last().copied();
    let ap_rss = last("arenapool").map(|(rss, _)| rss);
    let mut n = 0;
    let mut rows = Vec::new();
    for a in &r.allocs {
        let Some(c) = r.cell(w.name, t, a) else {
            continue;
        };
        let rounds = c.rounds();
        let first = rounds.as_ref().and_then(|v| v.first().copied());
        let end = rounds.as_ref().and_then(|v| v.last().copied());
        n = n.max(rounds.as_ref().map_or(0, Vec::len));
        let mib = |k: Option<f64>| f(k.map(|k| k / 1024.0), 1);
        rows.push(vec![
            a.clone(),
            mib(first.map(|s| s.0)),
            mib(end.map(|s| s.0)),
            mib(end.map(|s| s.1)),
            f(end.map(|(rss, live)| rss / live), 2),
            f(
                match (ap_rss, end) {
                    (Some(ap), Some((rss, _))) => Some(ap / rss),
                    _ => None,
                },
                2,
            ),
            c.status().to_string(),
        ]);
    }
    let header = vec![
        "allocator".to_string(),
        "RSS after round 1 (MiB)".to_string(),
        format!("RSS after round {n} (MiB)"),
        "live at end (MiB)".to_string(),
        "RSS/live at end".to_string(),
        "arenapool RSS/this at end".to_string(),
        "status".to_string(),
    ];
    Some((
        n,
        Table {
            header,
            right: vec![false, true, true, true, true, true, false],
            rows,
        },
    ))
}

fn footprint_note(w: &Workload, n: usize) -> String {
    format!(
        "{}: resident set size after each of its {n} rounds (/proc/self/statm, sampled \
         once the round's pool threads have exited) against the bytes its survivors \
         hold (live)",
        w.name
    )
}

fn workload_heading(w: &Workload) -> String {
    format!(
        "{} ({}; one op = one {})",
        w.name,
        w.scaling.describe(),
        w.op
    )
}

fn geomean(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        None
    } else {
        Some((v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
    }
}

/// The summary tables: arenapool's time relative to the others at the summary thread
/// count (with geometric means), and the thread-local workloads' scaling.
fn summary_tables(r: &Results) -> (usize, Option<Table>, Option<Table>) {
    let t = r.summary_threads();
    // Every other allocator of the run, in the order given (other builds and
    // secure mode included).
    let others: Vec<&str> = r
        .allocs
        .iter()
        .map(|a| a.as_str())
        .filter(|a| *a != "arenapool" && r.has(a))
        .collect();
    let ratios = if r.has("arenapool") && !others.is_empty() {
        let mut rows = Vec::new();
        let mut cols: Vec<Vec<f64>> = vec![Vec::new(); others.len()];
        for w in &r.workloads {
            let ap = r.wall(w.name, t, "arenapool");
            let mut row = vec![w.name.to_string()];
            for (i, o) in others.iter().enumerate() {
                let x = match (ap, r.wall(w.name, t, o)) {
                    (Some(a), Some(b)) => Some(a / b),
                    _ => None,
                };
                if let Some(x) = x {
                    cols[i].push(x);
                }
                row.push(f(x, 2));
            }
            rows.push(row);
        }
        let mut g = vec!["geometric mean".to_string()];
        g.extend(cols.iter().map(|c| f(geomean(c), 2)));
        rows.push(g);
        let mut header = vec!["workload".to_string()];
        header.extend(others.iter().map(|o| format!("arenapool/{o}")));
        let right = (0..header.len()).map(|i| i > 0).collect();
        Some(Table {
            header,
            right,
            rows,
        })
    } else {
        None
    };
    let scaling = if r.threads.contains(&1) && r.threads.contains(&2) {
        let rows: Vec<Vec<String>> = r
            .workloads
            .iter()
            .filter(|w| w.scaling == Scaling::ThreadLocal)
            .map(|w| {
                let mut row = vec![w.name.to_string()];
                for a in &r.allocs {
                    let x = match (
                        r.cell(w.name, 2, a).and_then(Cell::ops_per_s),
                        r.cell(w.name, 1, a).and_then(Cell::ops_per_s),
                    ) {
                        (Some(two), Some(one)) => Some(two / one),
                        _ => None,
                    };
                    row.push(f(x, 2));
                }
                row
            })
            .collect();
        let mut header = vec!["workload".to_string()];
        header.extend(r.allocs.iter().cloned());
        let right = (0..header.len()).map(|i| i > 0).collect();
        (!rows.is_empty()).then_some(Table {
            header,
            right,
            rows,
        })
    } else {
        None
    };
    (t, ratios, scaling)
}

fn summary_notes(t: usize, cores: usize) -> (String, String) {
    (
        format!(
            "arenapool's median wall time divided by each other allocator's, at {t} thread{} \
             (below 1: arenapool is faster)",
            if t == 1 { "" } else { "s" }
        ),
        format!(
            "Thread-local workloads: throughput at 2 threads / throughput at 1 thread \
             (fixed work per thread; ideal on this {cores}-core machine: {:.2})",
            cores.min(2) as f64
        ),
    )
}

/// What goes to stdout at the end: every workload's table, then the summary.
pub fn text(r: &Results, m: &Machine) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\narenapool benchmark suite: {} preset, scale {}, {} run{} per cell (median), {} cores, {}",
        r.preset,
        r.scale,
        r.reps,
        if r.reps == 1 { "" } else { "s" },
        m.cores,
        m.cpu
    );
    for w in &r.workloads {
        let _ = writeln!(out, "\n== {} ==", workload_heading(w));
        out.push_str(&workload_table(r, w).text());
        if let Some((n, tab)) = footprint_table(r, w) {
            let _ = writeln!(out, "\n{}:", footprint_note(w, n));
            out.push_str(&tab.text());
        }
    }
    let (t, ratios, scaling) = summary_tables(r);
    let (n1, n2) = summary_notes(t, m.cores);
    let _ = writeln!(out, "\n== Summary ==\n{n1}:");
    match ratios {
        Some(tab) => out.push_str(&tab.text()),
        None => out.push_str("(needs arenapool and at least one other allocator)\n"),
    }
    if let Some(tab) = scaling {
        let _ = writeln!(out, "\n{n2}:");
        out.push_str(&tab.text());
    }
    let failures: Vec<&Cell> = r.cells.iter().filter(|c| c.failure.is_some()).collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nFAILED cells:");
        for c in failures {
            let _ = writeln!(
                out,
                "  {} t={} {}: {}",
                c.workload.name,
                c.threads,
                c.alloc,
                c.status()
            );
        }
    }
    let _ = writeln!(out, "\nTotal time: {:.1} s", r.elapsed_s);
    out
}

fn csv(r: &Results) -> String {
    let mut out = String::from(
        "workload,scaling,threads,allocator,runs,wall_s,wall_s_min,wall_s_max,ops,ops_per_s,peak_rss_kib,time_vs_system,status\n",
    );
    for c in &r.cells {
        let sys = r.wall(c.workload.name, c.threads, "system");
        let mn = c
            .runs
            .iter()
            .map(|x| x.wall_s)
            .fold(f64::INFINITY, f64::min);
        let mx = c.runs.iter().map(|x| x.wall_s).fold(0.0, f64::max);
        let ok = c.ok();
        let _ = writeln!(
            out,
            "{},{:?},{},{},{},{},{},{},{},{},{},{},\"{}\"",
            c.workload.name,
            c.workload.scaling,
            c.threads,
            c.alloc,
            c.runs.len(),
            c.wall().map(|x| format!("{x:.6}")).unwrap_or_default(),
            if ok {
                format!("{mn:.6}")
            } else {
                String::new()
            },
            if ok {
                format!("{mx:.6}")
            } else {
                String::new()
            },
            c.ops().map(|x| x.to_string()).unwrap_or_default(),
            c.ops_per_s().map(|x| format!("{x:.0}")).unwrap_or_default(),
            c.rss_kib().map(|x| format!("{x:.0}")).unwrap_or_default(),
            match (c.wall(), sys) {
                (Some(a), Some(b)) => format!("{:.4}", a / b),
                _ => String::new(),
            },
            c.status().replace('"', "'"),
        );
    }
    out
}

fn markdown(r: &Results, m: &Machine) -> String {
    let mut out = String::from("# arenapool benchmark suite\n\n");
    let _ = writeln!(
        out,
        "- Machine: {} ({} cores), {}\n- Date: {}\n- Load average at start: {}\n\
         - Preset: {} (scale {}), {} run{} per cell, median reported; allocators interleaved \
         within each cell, one process per run\n- Total time: {:.1} s\n",
        m.cpu,
        m.cores,
        m.kernel,
        m.date,
        m.loadavg,
        r.preset,
        r.scale,
        r.reps,
        if r.reps == 1 { "" } else { "s" },
        r.elapsed_s
    );
    let (t, ratios, scaling) = summary_tables(r);
    let (n1, n2) = summary_notes(t, m.cores);
    let _ = writeln!(out, "## Summary\n\n{n1}:\n");
    if let Some(tab) = ratios {
        out.push_str(&tab.markdown());
    }
    if let Some(tab) = scaling {
        let _ = writeln!(out, "\n{n2}:\n");
        out.push_str(&tab.markdown());
    }
    let _ = writeln!(
        out,
        "\nPeak memory at the largest thread count: ![peak RSS](peak-rss.svg)\n"
    );
    let _ = writeln!(out, "## Workloads\n");
    for w in &r.workloads {
        let _ = writeln!(out, "### {}\n", workload_heading(w));
        out.push_str(&workload_table(r, w).markdown());
        if let Some((n, tab)) = footprint_table(r, w) {
            let _ = writeln!(out, "\n{}:\n", footprint_note(w, n));
            out.push_str(&tab.markdown());
            let _ = writeln!(out, "\n![{0} RSS per round]({0}.svg)\n", w.name);
        } else {
            let _ = writeln!(out, "\n![{0} throughput]({0}.svg)\n", w.name);
        }
    }
    out
}

/// A number with three significant digits and an SI suffix: 64.9M, 180k, 598.
fn si(x: f64) -> String {
    let (v, suffix) = if x >= 1e9 {
        (x / 1e9, "G")
    } else if x >= 1e6 {
        (x / 1e6, "M")
    } else if x >= 1e3 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    let prec = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.prec$}{suffix}")
}

/// The unit for a chart whose largest value is `max`: (divisor, name).
fn unit_for(max: f64) -> (f64, &'static str) {
    if max >= 1e6 {
        (1e6, "million ops/s")
    } else if max >= 1e3 {
        (1e3, "thousand ops/s")
    } else {
        (1.0, "ops/s")
    }
}

fn throughput_chart(r: &Results, w: &Workload) -> Svg {
    let max = r
        .cells
        .iter()
        .filter(|c| c.workload.name == w.name)
        .filter_map(Cell::ops_per_s)
        .fold(0.0, f64::max);
    let (div, unit) = unit_for(max);
    let threads = w.scaling.thread_counts(&r.threads);
    let xs: Vec<String> = threads.iter().map(|t| t.to_string()).collect();
    let series: Vec<(&str, Vec<Option<f64>>)> = r
        .allocs
        .iter()
        .map(|a| {
            let ys = threads
                .iter()
                .map(|&t| {
                    r.cell(w.name, t, a)
                        .and_then(Cell::ops_per_s)
                        .map(|x| x / div)
                })
                .collect();
            (a.as_str(), ys)
        })
        .collect();
    charts::line_chart(
        &format!("{}: throughput ({})", w.name, w.scaling.describe()),
        "threads",
        &format!("{unit} (op = {})", w.op),
        &xs,
        &series,
        None,
    )
}

/// RSS per round, one line per allocator, and the live bytes (the same for every
/// allocator; the first allocator's that has them) as a dashed reference line.
fn rounds_chart(r: &Results, w: &Workload) -> Svg {
    let t = w
        .scaling
        .thread_counts(&r.threads)
        .first()
        .copied()
        .unwrap_or(1);
    let per: Vec<(&str, Option<Rounds>)> = r
        .allocs
        .iter()
        .map(|a| (a.as_str(), r.cell(w.name, t, a).and_then(Cell::rounds)))
        .collect();
    let n = per
        .iter()
        .filter_map(|(_, v)| v.as_ref().map(Vec::len))
        .max()
        .unwrap_or(0);
    let xs: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    let mib = |v: &Option<Rounds>, pick: fn(&(f64, f64)) -> f64| -> Vec<Option<f64>> {
        (0..n)
            .map(|i| v.as_ref()?.get(i).map(|s| pick(s) / 1024.0))
            .collect()
    };
    let series: Vec<(&str, Vec<Option<f64>>)> =
        per.iter().map(|(a, v)| (*a, mib(v, |s| s.0))).collect();
    let live = per
        .iter()
        .find(|(_, v)| v.is_some())
        .map(|(_, v)| mib(v, |s| s.1));
    charts::line_chart(
        &format!("{}: RSS after each round", w.name),
        "round",
        "RSS, MiB",
        &xs,
        &series,
        live.as_ref().map(|l| ("live (survivors)", l.as_slice())),
    )
}

/// The per-round samples of every cell that has them, one row per round.
fn rounds_csv(r: &Results) -> Option<String> {
    let mut out = String::from("workload,threads,allocator,round,rss_kib,live_kib\n");
    let mut any = false;
    for c in &r.cells {
        for (i, (rss, live)) in c.rounds().into_iter().flatten().enumerate() {
            any = true;
            let _ = writeln!(
                out,
                "{},{},{},{},{rss:.0},{live:.0}",
                c.workload.name,
                c.threads,
                c.alloc,
                i + 1
            );
        }
    }
    any.then_some(out)
}

fn memory_chart(r: &Results) -> Svg {
    let t = r.threads.iter().copied().max().unwrap_or(1);
    let groups: Vec<&str> = r.workloads.iter().map(|w| w.name).collect();
    let series: Vec<(&str, Vec<Option<f64>>)> = r
        .allocs
        .iter()
        .map(|a| {
            let vs = r
                .workloads
                .iter()
                .map(|w| {
                    r.cell(w.name, t, a)
                        .and_then(Cell::rss_kib)
                        .map(|k| k / 1024.0)
                })
                .collect();
            (a.as_str(), vs)
        })
        .collect();
    charts::grouped_bars_log(
        &format!("Peak RSS at {t} threads (VmHWM of the worker process)"),
        "peak RSS, MiB (log scale)",
        &groups,
        &series,
    )
}

/// Writes results.csv, results.md and the charts into `dir`.
pub fn write_files(dir: &Path, r: &Results, m: &Machine) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("results.csv"), csv(r))?;
    fs::write(dir.join("results.md"), markdown(r, m))?;
    for w in &r.workloads {
        let chart = if r.has_rounds(w.name) {
            rounds_chart(r, w)
        } else {
            throughput_chart(r, w)
        };
        fs::write(
            dir.join(format!("{}.svg", w.name)),
            chart.map_err(io::Error::other)?,
        )?;
    }
    if let Some(c) = rounds_csv(r) {
        fs::write(dir.join("rounds.csv"), c)?;
    }
    fs::write(
        dir.join("peak-rss.svg"),
        memory_chart(r).map_err(io::Error::other)?,
    )?;
    Ok(())
}
