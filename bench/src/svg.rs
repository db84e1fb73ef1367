//! A small hand-written SVG line-plot writer (log-scale y), so the plots need no
//! plotting dependency.

use std::fmt::Write as _;

/// One line of a plot.
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend label.
    pub label: String,
    /// `(x, y)` points; points with `y <= 0` break the line (log scale).
    pub points: Vec<(f64, f64)>,
    /// Stroke colour.
    pub color: &'static str,
    /// SVG `stroke-dasharray`, if dashed.
    pub dash: Option<&'static str>,
}

/// One panel: a title and its lines, drawn on a shared legend.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The panel title.
    pub title: String,
    /// The lines.
    pub series: Vec<Series>,
}

const PANEL_W: f64 = 380.0;
const PANEL_H: f64 = 300.0;
const LEFT: f64 = 62.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 56.0;
const BOTTOM: f64 = 44.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn si(v: f64) -> String {
    if v >= 1e9 {
        format!("{}G", v / 1e9)
    } else if v >= 1e6 {
        format!("{}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{}k", v / 1e3)
    } else {
        format!("{v}")
    }
}

/// Panels side by side with a common legend below: x linear, y logarithmic.
#[must_use]
pub fn line_plot(title: &str, x_label: &str, y_label: &str, panels: &[Panel]) -> String {
    let legend: Vec<&Series> = panels
        .first()
        .map(|p| p.series.iter().collect())
        .unwrap_or_default();
    let width = PANEL_W * panels.len() as f64;
    let legend_h = 22.0 * legend.len() as f64 + 12.0;
    let height = PANEL_H + legend_h;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        width / 2.0,
        esc(title)
    );
    for (i, panel) in panels.iter().enumerate() {
        draw_panel(&mut s, panel, PANEL_W * i as f64, x_label, y_label);
    }
    for (k, series) in legend.iter().enumerate() {
        let y = PANEL_H + 16.0 + 22.0 * k as f64;
        let dash = series
            .dash
            .map(|d| format!(r#" stroke-dasharray="{d}""#))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            r#"<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{c}" stroke-width="2.5"{dash}/><text x="{tx}" y="{ty}">{label}</text>"#,
            x1 = LEFT,
            x2 = LEFT + 36.0,
            c = series.color,
            tx = LEFT + 44.0,
            ty = y + 4.0,
            label = esc(&series.label)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn draw_panel(s: &mut String, panel: &Panel, x0: f64, x_label: &str, y_label: &str) {
    let ys = panel
        .series
        .iter()
        .flat_map(|p| p.points.iter().map(|(_, y)| *y))
        .filter(|y| *y > 0.0);
    let (mut lo, mut hi) = ys.fold((f64::MAX, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
    if hi <= 0.0 {
        (lo, hi) = (1.0, 10.0);
    }
    let (dlo, dhi) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let x_max = panel
        .series
        .iter()
        .flat_map(|p| p.points.iter().map(|(x, _)| *x))
        .fold(1.0f64, f64::max);
    let (pl, pr, pt, pb) = (x0 + LEFT, x0 + PANEL_W - RIGHT, TOP, PANEL_H - BOTTOM);
    let px = |x: f64| pl + (pr - pl) * x / x_max;
    let py = |y: f64| pb - (pb - pt) * (y.log10() - dlo) / (dhi - dlo);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="42" text-anchor="middle" font-size="13">{}</text>"#,
        (pl + pr) / 2.0,
        esc(&panel.title)
    );
    // Grid and y ticks: one per decade.
    let mut d = dlo;
    while d <= dhi + 1e-9 {
        let y = py(10f64.powf(d));
        let _ = writeln!(
            s,
            r##"<line x1="{pl}" y1="{y:.1}" x2="{pr}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{label}</text>"##,
            tx = pl - 5.0,
            ty = y + 4.0,
            label = si(10f64.powf(d))
        );
        d += 1.0;
    }
    // x ticks every 20 (or fewer if the range is short).
    let step = if x_max > 60.0 { 20.0 } else { 10.0 };
    let mut x = 0.0;
    while x <= x_max + 1e-9 {
        let _ = writeln!(
            s,
            r##"<line x1="{a:.1}" y1="{pb}" x2="{a:.1}" y2="{b}" stroke="#444"/><text x="{a:.1}" y="{ty}" text-anchor="middle">{x}</text>"##,
            a = px(x),
            b = pb + 4.0,
            ty = pb + 17.0
        );
        x += step;
    }
    let _ = writeln!(
        s,
        r##"<rect x="{pl}" y="{pt}" width="{w}" height="{h}" fill="none" stroke="#444"/>"##,
        w = pr - pl,
        h = pb - pt
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (pl + pr) / 2.0,
        pb + 34.0,
        esc(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">{}</text>"#,
        x0 + 14.0,
        (pt + pb) / 2.0,
        esc(y_label)
    );
    for series in &panel.series {
        let mut d = String::new();
        let mut pen_down = false;
        for &(x, y) in &series.points {
            if y <= 0.0 {
                pen_down = false;
                continue;
            }
            let _ = write!(
                d,
                "{}{:.1},{:.1} ",
                if pen_down { "L" } else { "M" },
                px(x),
                py(y)
            );
            pen_down = true;
        }
        let dash = series
            .dash
            .map(|d| format!(r#" stroke-dasharray="{d}""#))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            r#"<path d="{}" fill="none" stroke="{}" stroke-width="1.6"{dash}><title>{}</title></path>"#,
            d.trim_end(),
            series.color,
            esc(&series.label)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_well_formed_plot() {
        let panel = Panel {
            title: "a & b".into(),
            series: vec![Series {
                label: "x<y".into(),
                points: vec![(1.0, 10.0), (2.0, 0.0), (3.0, 1000.0)],
                color: "red",
                dash: None,
            }],
        };
        let svg = line_plot("t", "round", "bytes", &[panel.clone(), panel]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &amp; b") && svg.contains("x&lt;y"));
        assert_eq!(svg.matches("<path").count(), 2);
        // The zero breaks the line: two separate moves.
        assert_eq!(svg.matches("M").count(), 4);
    }
}
