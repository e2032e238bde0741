//! Hand-written SVG charts: a line chart (one line per series over categorical x
//! positions, optionally with a dashed grey reference line) and a grouped bar chart
//! with a logarithmic y axis.

use std::fmt::Write;

// Line charts are W x H; bar charts are wider and taller (BAR_W x BAR_H) to fit
// many groups and their rotated labels. Margins: LEFT, RIGHT (room for the legend),
// TOP, and BOTTOM / BAR_BOTTOM.
const W: f64 = 760.0;
const H: f64 = 440.0;
const BAR_W: f64 = 1000.0;
const BAR_H: f64 = 500.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 160.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 70.0;
const BAR_BOTTOM: f64 = 120.0;

/// A colour per series index (colour-blind-friendly Okabe-Ito palette).
pub fn colour(i: usize) -> &'static str {
    const C: [&str; 8] = [
        "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
    ];
    C[i % C.len()]
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn header(out: &mut String, title: &str, w: f64, h: f64) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{}</text>\n",
        (LEFT + w - RIGHT) / 2.0,
        esc(title)
    );
}

fn axis_labels(out: &mut String, x_label: &str, y_label: &str) {
    let px = (LEFT + W - RIGHT) / 2.0;
    let py = (TOP + H - BOTTOM) / 2.0;
    let _ = write!(
        out,
        "<text x=\"{px}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n\
         <text x=\"18\" y=\"{py}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {py})\">{}</text>\n",
        H - 18.0,
        esc(x_label),
        esc(y_label)
    );
}

/// Colour and dash pattern of a line chart's reference line.
const REFERENCE: &str = "#777777";
const DASH: &str = "6 4";

fn legend(out: &mut String, names: &[&str], bars: bool, w: f64) {
    legend_with_reference(out, names, None, bars, w)
}

/// The legend: one entry per series, then (line charts) the reference line's.
fn legend_with_reference(
    out: &mut String,
    names: &[&str],
    reference: Option<&str>,
    bars: bool,
    w: f64,
) {
    let x = w - RIGHT + 20.0;
    if let Some(r) = reference {
        let y = TOP + 10.0 + 22.0 * names.len() as f64;
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{REFERENCE}\" \
             stroke-width=\"2\" stroke-dasharray=\"{DASH}\"/>\n<text x=\"{}\" y=\"{y}\">{}</text>",
            y - 4.0,
            x + 18.0,
            y - 4.0,
            x + 24.0,
            esc(r)
        );
    }
    for (i, n) in names.iter().enumerate() {
        let y = TOP + 10.0 + 22.0 * i as f64;
        if bars {
            let _ = writeln!(
                out,
                "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"12\" fill=\"{}\"/>",
                y - 10.0,
                colour(i)
            );
        } else {
            let _ = writeln!(
                out,
                "<line x1=\"{x}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2.5\"/>\
                 <circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\"/>",
                y - 4.0,
                x + 18.0,
                y - 4.0,
                colour(i),
                x + 9.0,
                y - 4.0,
                colour(i)
            );
        }
        let _ = writeln!(out, "<text x=\"{}\" y=\"{y}\">{}</text>", x + 24.0, esc(n));
    }
}

/// A "nice" step (1, 2 or 5 times a power of ten) for about `n` ticks up to `max`.
fn nice_step(max: f64, n: f64) -> f64 {
    let raw = max / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').to_string()
    }
}

/// A line chart: `series` is (name, y per x position, `None` where missing);
/// x positions are evenly spaced and labelled by `xs`. Y starts at zero.
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    xs: &[String],
    series: &[(&str, Vec<Option<f64>>)],
) -> String {
    line_chart_with_reference(title, x_label, y_label, xs, series, None)
}

/// A line chart as [`line_chart`], plus, if `reference` is given, (name, y per x
/// position) drawn as a dashed grey line without markers, listed last in the legend.
/// With many x positions only every k-th is labelled (the first and the last always).
pub fn line_chart_with_reference(
    title: &str,
    x_label: &str,
    y_label: &str,
    xs: &[String],
    series: &[(&str, Vec<Option<f64>>)],
    reference: Option<(&str, &[Option<f64>])>,
) -> String {
    let mut out = String::new();
    header(&mut out, title, W, H);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let ymax_data = series
        .iter()
        .flat_map(|(_, ys)| ys.iter().flatten())
        .chain(reference.iter().flat_map(|(_, ys)| ys.iter().flatten()))
        .fold(0.0f64, |a, &b| a.max(b));
    let ymax_data = if ymax_data > 0.0 { ymax_data } else { 1.0 };
    let step = nice_step(ymax_data * 1.05, 5.0);
    let ymax = (ymax_data * 1.05 / step).ceil() * step;
    let ypos = |v: f64| TOP + ph - v / ymax * ph;
    let n = xs.len().max(1);
    let xpos = |i: usize| {
        if n == 1 {
            LEFT + pw / 2.0
        } else {
            LEFT + 30.0 + (pw - 60.0) * i as f64 / (n - 1) as f64
        }
    };
    // Grid and y ticks.
    let mut v = 0.0;
    while v <= ymax + step / 2.0 {
        let y = ypos(v);
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + pw,
            LEFT - 6.0,
            y + 4.0,
            fmt_tick(v)
        );
        v += step;
    }
    // X ticks; labels on every `every`-th (at most about 25 labels).
    let every = n.div_ceil(25);
    for (i, x) in xs.iter().enumerate() {
        let px = xpos(i);
        let _ = writeln!(
            out,
            "<line x1=\"{px:.1}\" y1=\"{}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"#999\"/>",
            TOP + ph,
            TOP + ph + 5.0,
        );
        if i % every == 0 || i + 1 == n {
            let _ = writeln!(
                out,
                "<text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                TOP + ph + 20.0,
                esc(x)
            );
        }
    }
    // Axes.
    let _ = writeln!(
        out,
        "<path d=\"M{LEFT} {TOP} V{} H{}\" fill=\"none\" stroke=\"black\"/>",
        TOP + ph,
        LEFT + pw
    );
    // An SVG path through the present points of `ys`, broken where one is missing.
    let path = |ys: &[Option<f64>]| {
        let mut d = String::new();
        let mut pen_down = false;
        for (i, y) in ys.iter().enumerate() {
            match y {
                Some(y) => {
                    let _ = write!(
                        d,
                        "{}{:.1} {:.1} ",
                        if pen_down { "L" } else { "M" },
                        xpos(i),
                        ypos(*y)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        d.trim_end().to_string()
    };
    // The reference line first, under the series.
    if let Some((_, ys)) = reference {
        let _ = writeln!(
            out,
            "<path d=\"{}\" fill=\"none\" stroke=\"{REFERENCE}\" stroke-width=\"2\" \
             stroke-dasharray=\"{DASH}\"/>",
            path(ys)
        );
    }
    // Lines.
    for (si, (_, ys)) in series.iter().enumerate() {
        let _ = writeln!(
            out,
            "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\"/>",
            path(ys),
            colour(si)
        );
        for (i, y) in ys.iter().enumerate() {
            if let Some(y) = y {
                let _ = writeln!(
                    out,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{}\"><title>{}: {}</title></circle>",
                    xpos(i),
                    ypos(*y),
                    colour(si),
                    esc(series[si].0),
                    fmt_tick(*y)
                );
            }
        }
    }
    axis_labels(&mut out, x_label, y_label);
    let names: Vec<&str> = series.iter().map(|(n, _)| *n).collect();
    legend_with_reference(&mut out, &names, reference.map(|(n, _)| n), false, W);
    out.push_str("</svg>\n");
    out
}

/// A grouped bar chart with a log10 y axis: `groups` are the x categories; `series`
/// are (name, value per group, `None` where missing); values must be positive.
pub fn grouped_bars_log(
    title: &str,
    y_label: &str,
    groups: &[&str],
    series: &[(&str, Vec<Option<f64>>)],
) -> String {
    let mut out = String::new();
    header(&mut out, title, BAR_W, BAR_H);
    let (pw, ph) = (BAR_W - LEFT - RIGHT, BAR_H - TOP - BAR_BOTTOM);
    let vals = || {
        series
            .iter()
            .flat_map(|(_, v)| v.iter().flatten().copied())
            .filter(|v| *v > 0.0)
    };
    let lo = vals().fold(f64::INFINITY, f64::min);
    let hi = vals().fold(0.0f64, f64::max);
    let (lo, hi) = if lo.is_finite() {
        (lo, hi)
    } else {
        (1.0, 10.0)
    };
    let dlo = lo.log10().floor();
    let dhi = hi.log10().ceil().max(dlo + 1.0);
    let ypos = |v: f64| TOP + ph - (v.log10() - dlo) / (dhi - dlo) * ph;
    // Grid at 1, 2, 5 times each decade.
    let mut d = dlo;
    while d <= dhi {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powf(d);
            if v.log10() > dhi + 1e-9 {
                break;
            }
            let y = ypos(v);
            let stroke = if m == 1.0 { "#bbb" } else { "#eee" };
            let _ = writeln!(
                out,
                "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"{stroke}\"/>\
                 <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                fmt_tick(v)
            );
        }
        d += 1.0;
    }
    let ng = groups.len().max(1);
    let gw = pw / ng as f64;
    let ns = series.len().max(1);
    let bw = gw * 0.8 / ns as f64;
    for (gi, g) in groups.iter().enumerate() {
        let gx = LEFT + gw * gi as f64 + gw * 0.1;
        for (si, (name, vs)) in series.iter().enumerate() {
            if let Some(Some(v)) = vs.get(gi) {
                if *v > 0.0 {
                    let y = ypos(*v);
                    let _ = writeln!(
                        out,
                        "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\">\
                         <title>{} {}: {}</title></rect>",
                        gx + bw * si as f64,
                        bw.max(1.0),
                        (TOP + ph - y).max(0.0),
                        colour(si),
                        esc(g),
                        esc(name),
                        fmt_tick(*v)
                    );
                }
            }
        }
        // Rotated group label under the axis.
        let lx = LEFT + gw * (gi as f64 + 0.5);
        let ly = TOP + ph + 10.0;
        let _ = writeln!(
            out,
            "<text x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"end\" font-size=\"10\" \
             transform=\"rotate(-35 {lx:.1} {ly:.1})\">{}</text>",
            esc(g)
        );
    }
    let _ = writeln!(
        out,
        "<path d=\"M{LEFT} {TOP} V{} H{}\" fill=\"none\" stroke=\"black\"/>",
        TOP + ph,
        LEFT + pw
    );
    // Y label only (group names label the x axis).
    let py = (TOP + BAR_H - BAR_BOTTOM) / 2.0;
    let _ = writeln!(
        out,
        "<text x=\"18\" y=\"{py}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {py})\">{}</text>",
        esc(y_label)
    );
    let names: Vec<&str> = series.iter().map(|(n, _)| *n).collect();
    legend(&mut out, &names, true, BAR_W);
    out.push_str("</svg>\n");
    out
}
