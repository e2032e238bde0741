//! The report's SVG charts, drawn with plotters (SVG backend): a line chart (one
//! line per series over evenly spaced, labelled x positions, optionally with a dashed
//! grey reference line) and a grouped bar chart with a logarithmic y axis. Legends
//! stand right of the plot (drawn here: plotters keeps its own inside the plot).

use std::error::Error;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A chart's SVG text, or why plotters could not draw it.
pub type Svg = Result<String, Box<dyn Error + Send + Sync>>;
type Drawn = Result<(), Box<dyn Error + Send + Sync>>;

// Line charts are W x H; bar charts are wider and taller (BAR_W x BAR_H) to fit
// many groups and their rotated labels. RIGHT is the room for the legend.
const W: u32 = 760;
const H: u32 = 440;
const BAR_W: u32 = 1000;
const BAR_H: u32 = 500;
const RIGHT: u32 = 160;
const BAR_BOTTOM: u32 = 130;

/// A colour per series index (colour-blind-friendly Okabe-Ito palette).
fn colour(i: usize) -> RGBColor {
    const C: [(u8, u8, u8); 8] = [
        (0xD5, 0x5E, 0x00),
        (0x00, 0x72, 0xB2),
        (0x00, 0x9E, 0x73),
        (0xCC, 0x79, 0xA7),
        (0xE6, 0x9F, 0x00),
        (0x56, 0xB4, 0xE9),
        (0xF0, 0xE4, 0x42),
        (0x00, 0x00, 0x00),
    ];
    let (r, g, b) = C[i % C.len()];
    RGBColor(r, g, b)
}

/// The reference line's style, and the grid's colours.
const DASHED: ShapeStyle = ShapeStyle {
    color: RGBAColor(0x77, 0x77, 0x77, 1.0),
    filled: false,
    stroke_width: 2,
};
const GRID: RGBColor = RGBColor(0xdd, 0xdd, 0xdd);
const DECADE: RGBColor = RGBColor(0xbb, 0xbb, 0xbb);

/// A sans-serif font of about `px` pixels (plotters takes whole sizes, and its SVG
/// backend writes size / 1.24).
fn font(px: f64) -> TextStyle<'static> {
    ("sans-serif", (px * 1.24).round()).into_text_style(&(W, H))
}

/// Draws `title` centred over the whole width (plotters' caption centres it over
/// the plot, cutting long ones off at the left) and returns the area below it.
fn titled<'a>(
    root: &DrawingArea<SVGBackend<'a>, Shift>,
    title: &str,
) -> Result<DrawingArea<SVGBackend<'a>, Shift>, Box<dyn Error + Send + Sync>> {
    let style = ("sans-serif", (16.0 * 1.24f64).round(), FontStyle::Bold);
    Ok(root.margin(8, 0, 0, 0).titled(title, style)?)
}

/// How a legend entry shows its series.
enum Key {
    /// A line with a marker.
    Line(RGBColor),
    /// The dashed grey reference line.
    Reference,
    Bar(RGBColor),
}

/// Draws the legend in the right margin of `root` (`w` wide), one entry a row.
fn legend(root: &DrawingArea<SVGBackend, Shift>, w: u32, entries: &[(&str, Key)]) -> Drawn {
    let x = (w - RIGHT) as i32 + 20;
    for (i, (name, key)) in entries.iter().enumerate() {
        let y = 56 + 22 * i as i32;
        match key {
            Key::Line(c) => {
                root.draw(&PathElement::new([(x, y), (x + 18, y)], c.stroke_width(2)))?;
                root.draw(&Circle::new((x + 9, y), 3, c.filled()))?;
            }
            Key::Reference => {
                for x0 in [x, x + 11] {
                    root.draw(&PathElement::new([(x0, y), (x0 + 7, y)], DASHED))?;
                }
            }
            Key::Bar(c) => root.draw(&Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()))?,
        }
        let style = font(12.0).pos(Pos::new(HPos::Left, VPos::Center));
        root.draw(&Text::new(*name, (x + 24, y), style))?;
    }
    Ok(())
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

/// X coordinates are integers (plotters draws a mesh over custom key points only
/// on coordinates it can format by default, which floats are not): x position `i`
/// of a line chart is at `i * STEP`, group `g` of a bar chart spans `g * STEP` to
/// `(g + 1) * STEP`.
const STEP: i32 = 1000;

/// The runs of consecutive present points of `ys` (x position = index), so that a
/// line breaks where a value is missing.
fn runs(ys: &[Option<f64>]) -> Vec<Vec<(i32, f64)>> {
    ys.iter()
        .enumerate()
        .collect::<Vec<_>>()
        .split(|(_, y)| y.is_none())
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.iter()
                .filter_map(|(i, y)| Some((*i as i32 * STEP, (**y)?)))
                .collect()
        })
        .collect()
}

/// A line chart: `series` is (name, y per x position, `None` where missing);
/// x positions are evenly spaced and labelled by `xs` (with many, only every k-th
/// and the last). Y starts at zero. If `reference` is given, (name, y per x
/// position) is drawn as a dashed grey line without markers, listed last in the
/// legend.
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    xs: &[String],
    series: &[(&str, Vec<Option<f64>>)],
    reference: Option<(&str, &[Option<f64>])>,
) -> Svg {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area();
        root.fill(&WHITE)?;
        let ymax = series
            .iter()
            .flat_map(|(_, ys)| ys.iter().flatten())
            .chain(reference.iter().flat_map(|(_, ys)| ys.iter().flatten()))
            .fold(0.0f64, |a, &b| a.max(b));
        let ymax = if ymax > 0.0 { ymax * 1.05 } else { 1.0 };
        let n = xs.len().max(1);
        let every = n.div_ceil(25);
        let ticks = (0..n)
            .filter(|i| i % every == 0 || i + 1 == n)
            .map(|i| i as i32 * STEP)
            .collect();
        let last = (n - 1) as i32 * STEP;
        let pad = (last / 20).max(STEP * 3 / 10);
        let below_title = titled(&root, title)?;
        let mut chart = ChartBuilder::on(&below_title)
            .margin(12)
            .margin_right(RIGHT)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d((-pad..last + pad).with_key_points(ticks), 0.0..ymax)?;
        let x_name = |x: &i32| {
            let i = usize::try_from(x / STEP).unwrap_or(usize::MAX);
            xs.get(i).cloned().unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(GRID)
            .y_max_light_lines(0)
            .y_labels(6)
            .x_label_formatter(&x_name)
            .y_label_formatter(&|v| fmt_tick(*v))
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(font(12.0))
            .axis_desc_style(font(12.0))
            .draw()?;
        // The reference line first, under the series.
        if let Some((_, ys)) = reference {
            for run in runs(ys) {
                chart.draw_series(DashedLineSeries::new(run, 6, 4, DASHED))?;
            }
        }
        let mut keys = Vec::new();
        for (i, (name, ys)) in series.iter().enumerate() {
            for run in runs(ys) {
                chart.draw_series(LineSeries::new(run, colour(i).stroke_width(2)))?;
            }
            let points = runs(ys).into_iter().flatten();
            chart.draw_series(points.map(|p| Circle::new(p, 3, colour(i).filled())))?;
            keys.push((*name, Key::Line(colour(i))));
        }
        keys.extend(reference.map(|(name, _)| (name, Key::Reference)));
        legend(&root, W, &keys)?;
        root.present()?;
    }
    Ok(svg)
}

/// A grouped bar chart with a log10 y axis: `groups` are the x categories; `series`
/// are (name, value per group, `None` where missing); values must be positive.
pub fn grouped_bars_log(
    title: &str,
    y_label: &str,
    groups: &[&str],
    series: &[(&str, Vec<Option<f64>>)],
) -> Svg {
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
    let dlo = lo.log10().floor() as i32;
    let dhi = (hi.log10().ceil() as i32).max(dlo + 1);
    let (ylo, yhi) = (10f64.powi(dlo), 10f64.powi(dhi));
    // Labels and light grid at 1, 2 and 5 times each decade, darker lines at decades.
    let ticks = (dlo..=dhi)
        .flat_map(|d| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(d)))
        .filter(|v| *v <= yhi * (1.0 + 1e-9))
        .collect();
    let ng = groups.len().max(1) as i32;
    let bw = STEP * 8 / 10 / series.len().max(1) as i32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (BAR_W, BAR_H)).into_drawing_area();
        root.fill(&WHITE)?;
        let below_title = titled(&root, title)?;
        let mut chart = ChartBuilder::on(&below_title)
            .margin(12)
            .margin_right(RIGHT)
            .x_label_area_size(BAR_BOTTOM)
            .y_label_area_size(65)
            .build_cartesian_2d(
                (0..ng * STEP).with_key_points(vec![]),
                (ylo..yhi).log_scale().with_key_points(ticks),
            )?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .bold_line_style(RGBColor(0xee, 0xee, 0xee))
            .y_label_formatter(&|v| fmt_tick(*v))
            .y_desc(y_label)
            .label_style(font(12.0))
            .axis_desc_style(font(12.0))
            .draw()?;
        chart.draw_series(
            (dlo..=dhi).map(|d| {
                PathElement::new([(0, 10f64.powi(d)), (ng * STEP, 10f64.powi(d))], DECADE)
            }),
        )?;
        for (si, (_, vs)) in series.iter().enumerate() {
            let fill = colour(si).filled();
            let bars = vs.iter().enumerate().filter_map(|(g, v)| {
                let v = v.filter(|v| *v > 0.0)?;
                let x0 = g as i32 * STEP + STEP / 10 + bw * si as i32;
                Some(Rectangle::new([(x0, ylo), (x0 + bw, v)], fill))
            });
            chart.draw_series(bars)?;
        }
        // Group names under the axis, read upwards, ending at their group's middle.
        let style = font(11.0)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Right, VPos::Center));
        for (g, name) in groups.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(g as i32 * STEP + STEP / 2, ylo));
            root.draw(&Text::new(*name, (x, y + 8), &style))?;
        }
        let keys: Vec<_> = (series.iter().enumerate())
            .map(|(i, (name, _))| (*name, Key::Bar(colour(i))))
            .collect();
        legend(&root, BAR_W, &keys)?;
        root.present()?;
    }
    Ok(svg)
}
