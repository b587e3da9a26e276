//! The results: one comparison per row, printed as a table and written as
//! text, CSV, markdown, an SVG chart of the ratios and one of the
//! whole-struct rows' cost against size (`sizes`).

use std::fmt::Write as _;

use crate::harness::Figure;
use crate::xcpu::Probes;

mod sizes;
pub use sizes::{svg as sizes_svg, Op, SizePoint};

/// What a row's ratio (ours / baseline) must be.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// ratio <= the bound.
    AtMost(f64),
    /// ratio < the bound.
    Below(f64),
    /// ratio <= the bound, where the ratio is a share of the baseline
    /// rather than a comparison with it (the CPU time of a wait over the
    /// wall time it waited): shown in percent.
    ShareAtMost(f64),
    /// No target: shown for information.
    Info,
}

impl Target {
    fn bound(self) -> Option<f64> {
        match self {
            Target::AtMost(b) | Target::Below(b) | Target::ShareAtMost(b) => Some(b),
            Target::Info => None,
        }
    }

    fn label(self) -> String {
        match self {
            Target::AtMost(b) => format!("<= {b}"),
            Target::Below(b) => format!("< {b}"),
            Target::ShareAtMost(b) => format!("<= {}%", b * 100.0),
            Target::Info => "-".to_owned(),
        }
    }

    /// A ratio as this target reads it.
    fn fmt_ratio(self, r: f64) -> String {
        match self {
            Target::ShareAtMost(_) => fmt_percent(r),
            _ => fmt_ratio(r),
        }
    }
}

/// One row: our operation beside its baseline, measured in the same run.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// The row's name, which `--filter` matches.
    pub name: &'static str,
    /// What ours does.
    pub ours_what: String,
    /// What the baseline is.
    pub baseline_what: String,
    pub ours: Figure,
    pub baseline: Figure,
    pub target: Target,
    pub note: String,
    /// The cross-CPU probes around the pair, for rows with a child on the other CPU.
    pub probes: Option<Probes>,
    /// Where a whole-struct row sits on the chart of cost against size.
    pub size: Option<SizePoint>,
}

/// How a row fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Miss,
    Info,
    /// The probes disagreed on every attempt: the ratio is not trustworthy.
    Mixed,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Miss => "MISS",
            Verdict::Info => "info",
            Verdict::Mixed => "MIXED",
        }
    }
}

impl Comparison {
    pub fn ratio(&self) -> f64 {
        self.ours.median / self.baseline.median
    }

    pub fn verdict(&self) -> Verdict {
        if self.probes.is_some_and(|p| !p.agree()) {
            return Verdict::Mixed;
        }
        let r = self.ratio();
        match self.target {
            Target::AtMost(b) | Target::ShareAtMost(b) if r <= b => Verdict::Pass,
            Target::Below(b) if r < b => Verdict::Pass,
            Target::Info => Verdict::Info,
            _ => Verdict::Miss,
        }
    }

    /// The note with the probes and a warning for a wide spread.
    fn full_note(&self) -> String {
        let mut parts = Vec::new();
        if !self.note.is_empty() {
            parts.push(self.note.clone());
        }
        if let Some(p) = self.probes {
            parts.push(format!("[{p}]"));
        }
        let spread = self.ours.spread().max(self.baseline.spread());
        if spread > 0.2 {
            parts.push(format!("spread {:.0}%", spread * 100.0));
        }
        parts.join(" ")
    }
}

/// A duration in ns, in the unit that suits it.
pub fn fmt_ns(ns: f64) -> String {
    let (v, unit) = if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "us")
    } else {
        (ns, "ns")
    };
    let digits = if v >= 100.0 {
        1
    } else if v >= 10.0 {
        2
    } else {
        3
    };
    format!("{v:.digits$} {unit}")
}

/// A share in percent, with two significant digits below 10%.
fn fmt_percent(r: f64) -> String {
    let p = r * 100.0;
    if p >= 10.0 {
        format!("{p:.0}%")
    } else if p >= 1.0 {
        format!("{p:.1}%")
    } else if p >= 0.1 {
        format!("{p:.2}%")
    } else {
        format!("{p:.3}%")
    }
}

fn fmt_ratio(r: f64) -> String {
    if r < 0.01 {
        format!("{r:.4}")
    } else if r < 0.1 {
        format!("{r:.3}")
    } else {
        format!("{r:.2}")
    }
}

/// The plain-text table.
pub fn table(rows: &[Comparison]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:>11} {:>11} {:>7} {:>7} {:<6}  {:<52} note",
        "row", "ours", "baseline", "ratio", "target", "result", "baseline is"
    );
    let _ = writeln!(out, "{}", "-".repeat(140));
    for r in rows {
        let _ = writeln!(
            out,
            "{:<24} {:>11} {:>11} {:>7} {:>7} {:<6}  {:<52} {}",
            r.name,
            fmt_ns(r.ours.median),
            fmt_ns(r.baseline.median),
            r.target.fmt_ratio(r.ratio()),
            r.target.label(),
            r.verdict().label(),
            r.baseline_what,
            r.full_note()
        );
    }
    out
}

/// The rows that missed their target, one line each.
pub fn misses(rows: &[Comparison]) -> Vec<String> {
    rows.iter()
        .filter(|r| matches!(r.verdict(), Verdict::Miss | Verdict::Mixed))
        .map(|r| match (r.verdict(), r.target.bound()) {
            (Verdict::Miss, Some(b)) => format!(
                "{}: ratio {} vs target {} ({:.0}% over)",
                r.name,
                r.target.fmt_ratio(r.ratio()),
                r.target.label(),
                (r.ratio() / b - 1.0) * 100.0
            ),
            _ => format!("{}: probes disagreed on every attempt; rerun", r.name),
        })
        .collect()
}

/// The markdown table (for the README).
pub fn markdown(rows: &[Comparison]) -> String {
    let mut out = String::new();
    out.push_str(
        "| row | ours | baseline | ratio | target | result | ours is | baseline is | note |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- |\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            fmt_ns(r.ours.median),
            fmt_ns(r.baseline.median),
            r.target.fmt_ratio(r.ratio()),
            r.target.label().replace("<=", "≤"),
            r.verdict().label(),
            r.ours_what.replace('|', "\\|"),
            r.baseline_what.replace('|', "\\|"),
            r.full_note().replace('|', "\\|")
        );
    }
    out
}

/// One line per row, all figures in ns.
pub fn csv(rows: &[Comparison]) -> String {
    let mut out = String::from(
        "row,ours_ns,ours_min_ns,ours_max_ns,ours_iters,baseline_ns,baseline_min_ns,baseline_max_ns,baseline_iters,ratio,target,result,xcpu_before_ns,xcpu_between_ns,xcpu_after_ns,ours_is,baseline_is,note\n",
    );
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    for r in rows {
        let probe = |f: fn(&Probes) -> Option<f64>| {
            r.probes.as_ref().and_then(f).map(|v| format!("{v:.1}"))
        };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.name,
            r.ours.median,
            r.ours.min,
            r.ours.max,
            r.ours.iters,
            r.baseline.median,
            r.baseline.min,
            r.baseline.max,
            r.baseline.iters,
            r.ratio(),
            quote(&r.target.label()),
            r.verdict().label(),
            probe(|p| Some(p.before)).unwrap_or_default(),
            probe(|p| p.between).unwrap_or_default(),
            probe(|p| Some(p.after)).unwrap_or_default(),
            quote(&r.ours_what),
            quote(&r.baseline_what),
            quote(&r.note)
        );
    }
    out
}

/// A horizontal bar chart of the ratios on a log scale: each bar grows from
/// 1.0 (as fast as the baseline) to the row's ratio, green where it meets
/// its target, red where it misses, grey without a target; the target is a
/// black tick on its row.
pub fn svg(rows: &[Comparison], title: &str) -> String {
    const WIDTH: f64 = 960.0;
    const LABEL_W: f64 = 250.0;
    const RIGHT_PAD: f64 = 70.0;
    const ROW_H: f64 = 26.0;
    const TOP: f64 = 66.0;
    const BOTTOM: f64 = 46.0;
    let height = TOP + ROW_H * rows.len() as f64 + BOTTOM;
    // The scale spans whole decades around every ratio, target and 1.0.
    let values = rows
        .iter()
        .flat_map(|r| [Some(r.ratio()), r.target.bound()])
        .flatten()
        .chain([1.0])
        .filter(|v| v.is_finite() && *v > 0.0);
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (d_lo, d_hi) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let (x0, x1) = (LABEL_W, WIDTH - RIGHT_PAD);
    let x = |v: f64| x0 + (v.log10() - d_lo) / (d_hi - d_lo) * (x1 - x0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">"##
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
        r##"<text x="{}" y="38" fill="#555" text-anchor="middle">ratio = ours / baseline (same run), log scale: left of 1 is faster than the baseline. Black tick: target; green: met, red: missed, grey: no target</text>"##,
        WIDTH / 2.0
    );
    if rows
        .iter()
        .any(|r| matches!(r.target, Target::ShareAtMost(_)))
    {
        let _ = writeln!(
            s,
            r##"<text x="{}" y="54" fill="#555" text-anchor="middle">A figure in %: a share of the baseline (CPU time over the wall time waited), its target a ceiling</text>"##,
            WIDTH / 2.0
        );
    }
    // Decade grid and labels.
    let bottom = TOP + ROW_H * rows.len() as f64;
    let mut decade = d_lo;
    while decade <= d_hi + 1e-9 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powf(decade);
            if v.log10() > d_hi + 1e-9 {
                break;
            }
            let xv = x(v);
            let (stroke, label) = if m == 1.0 {
                ("#bbb", true)
            } else {
                ("#eee", false)
            };
            let _ = writeln!(
                s,
                r##"<line x1="{xv:.1}" y1="{TOP}" x2="{xv:.1}" y2="{bottom}" stroke="{stroke}"/>"##
            );
            if label {
                let _ = writeln!(
                    s,
                    r##"<text x="{xv:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
                    bottom + 16.0,
                    axis_label(v)
                );
            }
        }
        decade += 1.0;
    }
    let one = x(1.0);
    let _ = writeln!(
        s,
        r##"<line x1="{one:.1}" y1="{:.1}" x2="{one:.1}" y2="{bottom}" stroke="#333" stroke-width="1.5"/>"##,
        TOP - 4.0
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#333">ratio</text>"##,
        (x0 + x1) / 2.0,
        bottom + 34.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = TOP + ROW_H * i as f64;
        let mid = y + ROW_H / 2.0;
        let ratio = r.ratio();
        let color = match r.verdict() {
            Verdict::Pass => "#3a9d4a",
            Verdict::Miss => "#d0433a",
            Verdict::Mixed => "#e0a030",
            Verdict::Info => "#9a9a9a",
        };
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            LABEL_W - 8.0,
            mid + 4.0,
            escape(r.name)
        );
        let (a, b) = (x(ratio.min(1.0)), x(ratio.max(1.0)));
        let _ = writeln!(
            s,
            r##"<rect x="{a:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{color}"><title>{}: {} (target {})</title></rect>"##,
            y + 5.0,
            (b - a).max(1.5),
            ROW_H - 10.0,
            escape(r.name),
            r.target.fmt_ratio(ratio),
            escape(&r.target.label())
        );
        // The figure goes past the bar's far end (and past the target tick
        // on the right), or inside the bar where the left margin is short.
        let tick = r.target.bound().map(x);
        let (tx, anchor, fill) = if ratio >= 1.0 {
            (b.max(tick.unwrap_or(b)) + 5.0, "start", "#222")
        } else if a - x0 > 50.0 {
            (a - 4.0, "end", "#222")
        } else {
            (a + 4.0, "start", "white")
        };
        let _ = writeln!(
            s,
            r##"<text x="{tx:.1}" y="{:.1}" text-anchor="{anchor}" fill="{fill}">{}</text>"##,
            mid + 4.0,
            r.target.fmt_ratio(ratio)
        );
        if let Some(bound) = r.target.bound() {
            let xt = x(bound);
            let _ = writeln!(
                s,
                r##"<line x1="{xt:.1}" y1="{:.1}" x2="{xt:.1}" y2="{:.1}" stroke="black" stroke-width="2.5"/>"##,
                y + 2.0,
                y + ROW_H - 2.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn axis_label(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        let digits = (-v.log10()).ceil() as usize;
        format!("{v:.digits$}")
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
