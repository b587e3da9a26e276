//! The chart of cost against size: nanoseconds per operation of the
//! whole-struct rows (ours and the floor) against the struct's size,
//! log-log, one colour per operation.

use std::fmt::Write as _;

use super::{escape, fmt_ns, fmt_ratio, Comparison};

/// A whole-struct operation, one series of the chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Snapshot,
    Update,
    Store,
}

impl Op {
    const ALL: [Op; 3] = [Op::Snapshot, Op::Update, Op::Store];

    fn label(self) -> &'static str {
        match self {
            Op::Snapshot => "snapshot (by value; 1 MiB: snapshot_boxed)",
            Op::Update => "update (one word changed)",
            Op::Store => "store (one word different)",
        }
    }

    fn color(self) -> &'static str {
        match self {
            Op::Snapshot => "#1f6fb4",
            Op::Update => "#d0433a",
            Op::Store => "#3a9d4a",
        }
    }
}

/// Where a row sits on the chart: its operation and the struct's size.
#[derive(Clone, Copy, Debug)]
pub struct SizePoint {
    pub op: Op,
    pub bytes: usize,
}

/// The chart, or `None` when no row of the run has a size.
pub fn svg(rows: &[Comparison], title: &str) -> Option<String> {
    const WIDTH: f64 = 960.0;
    const HEIGHT: f64 = 600.0;
    const LEFT: f64 = 90.0;
    const RIGHT: f64 = 330.0;
    const TOP: f64 = 64.0;
    const BOTTOM: f64 = 56.0;
    let points: Vec<(SizePoint, &Comparison)> =
        rows.iter().filter_map(|r| r.size.map(|p| (p, r))).collect();
    if points.is_empty() {
        return None;
    }
    // x: whole powers of 16 around every size; y: whole decades of ns.
    let log16 = |b: f64| b.log2() / 4.0;
    let (mut x_lo, mut x_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (p, r) in &points {
        let b = log16(p.bytes as f64);
        (x_lo, x_hi) = (x_lo.min(b), x_hi.max(b));
        for ns in [r.ours.median, r.baseline.median] {
            if ns.is_finite() && ns > 0.0 {
                (y_lo, y_hi) = (y_lo.min(ns.log10()), y_hi.max(ns.log10()));
            }
        }
    }
    let (x_lo, x_hi) = (x_lo.floor(), x_hi.ceil().max(x_lo.floor() + 1.0));
    let (y_lo, y_hi) = (y_lo.floor(), y_hi.ceil().max(y_lo.floor() + 1.0));
    let (px0, px1) = (LEFT, WIDTH - RIGHT);
    let (py0, py1) = (HEIGHT - BOTTOM, TOP);
    let x = |bytes: f64| px0 + (log16(bytes) - x_lo) / (x_hi - x_lo) * (px1 - px0);
    let y = |ns: f64| py0 + (ns.log10() - y_lo) / (y_hi - y_lo) * (py1 - py0);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">"##
    );
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="white"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="{}" y="20" font-size="15" font-weight="bold" text-anchor="middle">{}</text>"##,
        WIDTH / 2.0,
        escape(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="38" fill="#555" text-anchor="middle">time per operation (median) against the struct's size, log-log. Solid, filled: ours; dashed, open: the hand-written floor</text>"##,
        WIDTH / 2.0
    );
    // y grid: 1, 2, 5 per decade, labelled at each decade.
    let mut decade = y_lo;
    while decade <= y_hi + 1e-9 {
        for m in [1.0, 2.0, 5.0] {
            let ns = m * 10f64.powf(decade);
            if ns.log10() > y_hi + 1e-9 {
                break;
            }
            let yv = y(ns);
            let stroke = if m == 1.0 { "#bbb" } else { "#eee" };
            let _ = writeln!(
                s,
                r##"<line x1="{px0}" y1="{yv:.1}" x2="{px1}" y2="{yv:.1}" stroke="{stroke}"/>"##
            );
            if m == 1.0 {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">{}</text>"##,
                    px0 - 6.0,
                    yv + 4.0,
                    ns_label(ns)
                );
            }
        }
        decade += 1.0;
    }
    // x grid: each power of 16.
    let mut power = x_lo;
    while power <= x_hi + 1e-9 {
        let bytes = 16f64.powf(power);
        let xv = x(bytes);
        let _ = writeln!(
            s,
            r##"<line x1="{xv:.1}" y1="{py1}" x2="{xv:.1}" y2="{py0}" stroke="#bbb"/>"##
        );
        let _ = writeln!(
            s,
            r##"<text x="{xv:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
            py0 + 16.0,
            bytes_label(bytes)
        );
        power += 1.0;
    }
    let _ = writeln!(
        s,
        r##"<rect x="{px0}" y="{py1}" width="{}" height="{}" fill="none" stroke="#333"/>"##,
        px1 - px0,
        py0 - py1
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">struct size</text>"##,
        (px0 + px1) / 2.0,
        py0 + 36.0
    );
    let _ = writeln!(
        s,
        r##"<text transform="translate({:.1} {:.1}) rotate(-90)" text-anchor="middle" fill="#333">per operation</text>"##,
        px0 - 62.0,
        (py0 + py1) / 2.0
    );

    // The series: lines first, then the points above them.
    for op in Op::ALL {
        let mut series: Vec<&(SizePoint, &Comparison)> =
            points.iter().filter(|(p, _)| p.op == op).collect();
        series.sort_by_key(|(p, _)| p.bytes);
        let color = op.color();
        for (floor, dash) in [(false, ""), (true, r#" stroke-dasharray="6 4""#)] {
            let path: Vec<String> = series
                .iter()
                .map(|(p, r)| {
                    let ns = if floor {
                        r.baseline.median
                    } else {
                        r.ours.median
                    };
                    format!("{:.1},{:.1}", x(p.bytes as f64), y(ns))
                })
                .collect();
            if path.len() > 1 {
                let _ = writeln!(
                    s,
                    r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"##,
                    path.join(" ")
                );
            }
        }
        for (p, r) in &series {
            let xv = x(p.bytes as f64);
            let tip = format!(
                "{}: ours {}, floor {}, ratio {} (target {})",
                r.name,
                fmt_ns(r.ours.median),
                fmt_ns(r.baseline.median),
                fmt_ratio(r.ratio()),
                r.target.label()
            );
            let _ = writeln!(
                s,
                r##"<circle cx="{xv:.1}" cy="{:.1}" r="4" fill="white" stroke="{color}" stroke-width="2"><title>{}</title></circle>"##,
                y(r.baseline.median),
                escape(&tip)
            );
            let _ = writeln!(
                s,
                r##"<circle cx="{xv:.1}" cy="{:.1}" r="4.5" fill="{color}"><title>{}</title></circle>"##,
                y(r.ours.median),
                escape(&tip)
            );
        }
    }

    // The legend, right of the plot: one line per series, and the ratios.
    let lx = px1 + 24.0;
    let mut ly = py1 + 8.0;
    for op in Op::ALL {
        if !points.iter().any(|(p, _)| p.op == op) {
            continue;
        }
        let color = op.color();
        let _ = writeln!(
            s,
            r##"<text x="{lx}" y="{ly:.1}" font-weight="bold" fill="{color}">{}</text>"##,
            escape(op.label())
        );
        ly += 18.0;
        for (floor, text) in [(false, "ours"), (true, "floor")] {
            let dash = if floor {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let fill = if floor { "white" } else { color };
            let _ = writeln!(
                s,
                r##"<line x1="{lx}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2"{dash}/><circle cx="{:.1}" cy="{:.1}" r="4" fill="{fill}" stroke="{color}" stroke-width="2"/><text x="{:.1}" y="{ly:.1}">{text}</text>"##,
                ly - 4.0,
                lx + 36.0,
                ly - 4.0,
                lx + 18.0,
                ly - 4.0,
                lx + 44.0
            );
            ly += 16.0;
        }
        let mut series: Vec<&(SizePoint, &Comparison)> =
            points.iter().filter(|(p, _)| p.op == op).collect();
        series.sort_by_key(|(p, _)| p.bytes);
        let ratios: Vec<String> = series
            .iter()
            .map(|(p, r)| format!("{} {}", bytes_label(p.bytes as f64), fmt_ratio(r.ratio())))
            .collect();
        let _ = writeln!(
            s,
            r##"<text x="{lx}" y="{ly:.1}" fill="#555">ours / floor:</text>"##
        );
        for pair in ratios.chunks(2) {
            ly += 15.0;
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{ly:.1}" fill="#555">{}</text>"##,
                lx + 12.0,
                escape(&pair.join(",  "))
            );
        }
        ly += 28.0;
    }
    s.push_str("</svg>\n");
    Some(s)
}

/// "16 B", "4 KiB", "1 MiB".
fn bytes_label(bytes: f64) -> String {
    let bytes = bytes.round() as u64;
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

/// "1 ns", "10 us", "1 ms" for a power of ten.
fn ns_label(ns: f64) -> String {
    let (v, unit) = if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "us")
    } else {
        (ns, "ns")
    };
    if v >= 1.0 {
        format!("{v:.0} {unit}")
    } else {
        let digits = (-v.log10()).ceil() as usize;
        format!("{v:.digits$} {unit}")
    }
}
