//! The benchmark suite of shm: each operation of the library beside its raw
//! floor and its peers, measured in the same run, as ratios against targets.
//!
//!     cargo run --release --manifest-path bench/Cargo.toml [-- --quick] [-- --filter SUBSTR]
//!
//! Method (see `harness`): the parent is pinned to CPU 0, children to CPU 1
//! (CPU 0 in the same-CPU row); a batch grows until it takes a quarter of
//! the repetition target, then 9 repetitions (5 with `--quick`), and each
//! figure is the median per operation. Single-process pairs interleave
//! their repetitions; cross-CPU pairs are bracketed by probes of the VM's
//! placement mode (`xcpu`) and rerun when the probes disagree.
//!
//! A full run writes `results/latest.{txt,csv,md}`, `results/ratios.svg`
//! and `results/sizes.svg` (the whole-struct rows' cost against size) next
//! to this crate's manifest; `--quick` or `--filter` runs write
//! `results/quick.*` instead, so they never replace a real run's results.

mod child;
mod harness;
mod machine;
mod report;
mod rows;
mod seqlock;
mod sys;
mod types;
mod xcpu;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use harness::Cfg;
use report::Comparison;

const USAGE: &str = "usage: shm-bench [--quick] [--filter SUBSTR]... [--reps N]

  --quick          5 repetitions of shorter batches: a fast check that everything runs
  --filter SUBSTR  only the rows whose name contains SUBSTR (repeatable)
  --reps N         repetitions per figure (default 9)

Rows: field_get field_set fetch_add_uncontended notify open_shm
  snapshot_16 snapshot_4k snapshot_4k_by_value snapshot_64k snapshot_1m
  update_16 update_4k update_64k update_1m store_16 store_4k store_64k store_1m
  mmap_sync_read mmap_sync_write fetch_add_contended spin_pingpong
  wait_pingpong notify_pingpong notify_pingpong_samecpu wait_timeout_cpu
  python_field_get python_field_set
  zenoh_publish_now_p50 zenoh_publish_now_p99 zenoh_shm_publish_p50
  zenoh_shm_publish_p99 zenoh_publish_now_vs_wake_p50 zenoh_throughput
  zenoh_throughput_shm_publish (--filter zenoh: all of them)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child::main(&args[1..]);
        return;
    }
    let cfg = match parse_args(&args) {
        Ok(cfg) => cfg,
        Err(message) => {
            eprintln!("{message}\n\n{USAGE}");
            std::process::exit(if message.is_empty() { 0 } else { 2 });
        }
    };
    sys::pin_to(sys::PARENT_CPU);
    harness::watchdog::start();
    let started = Instant::now();
    let cpu_at_start = machine::CpuUse::now();

    let mut header = machine::describe();
    header.push(format!(
        "method: parent on CPU {}, children on CPU {} (same-CPU row: CPU {}); {} reps of ~{:?} (1 process) / ~{:?} (2 processes) each, medians; ratio = ours / baseline{}",
        sys::PARENT_CPU,
        sys::CHILD_CPU,
        sys::PARENT_CPU,
        cfg.reps,
        cfg.local_target,
        cfg.ipc_target,
        if cfg.quick { "; --quick" } else { "" }
    ));
    for line in &header {
        println!("# {line}");
    }

    let mut rows: Vec<Comparison> = Vec::new();
    let groups: [fn(&Cfg, &mut Vec<Comparison>); 7] = [
        rows::local::rows,
        rows::whole::rows,
        rows::mmap_sync::rows,
        rows::ipc::rows,
        rows::wait_cpu::rows,
        rows::python::rows,
        rows::zenoh::rows,
    ];
    for group in groups {
        let before = rows.len();
        group(&cfg, &mut rows);
        for r in &rows[before..] {
            eprintln!(
                "  {:<24} ours {:>11}  baseline {:>11}  ratio {:.3}",
                r.name,
                report::fmt_ns(r.ours.median),
                report::fmt_ns(r.baseline.median),
                r.ratio()
            );
        }
    }

    let table = report::table(&rows);
    let misses = report::misses(&rows);
    let mut footer = Vec::new();
    if misses.is_empty() {
        footer.push("every row meets its target".to_owned());
    } else {
        footer.push(format!("{} row(s) miss:", misses.len()));
        footer.extend(misses.iter().map(|m| format!("  {m}")));
    }
    footer.push(machine::CpuUse::now().others_since(&cpu_at_start));
    footer.push(format!(
        "load average at end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    ));
    footer.push(format!("total {:.1} s", started.elapsed().as_secs_f64()));
    print!("{table}");
    for line in &footer {
        println!("# {line}");
    }

    if let Err(e) = write_results(&cfg, &header, &table, &footer, &rows) {
        eprintln!("warning: could not write the results: {e}");
    }
}

fn parse_args(args: &[String]) -> Result<Cfg, String> {
    let mut cfg = Cfg {
        reps: 9,
        local_target: Duration::from_millis(50),
        ipc_target: Duration::from_millis(200),
        filter: Vec::new(),
        xcpu_attempts: 3,
        quick: false,
    };
    let mut reps = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => cfg.quick = true,
            "--filter" => cfg
                .filter
                .push(it.next().ok_or("--filter needs a substring")?.clone()),
            "--reps" => {
                let n: usize = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n >= 1)
                    .ok_or("--reps needs a number >= 1")?;
                reps = Some(n);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if cfg.quick {
        cfg.reps = 5;
        cfg.local_target = Duration::from_millis(15);
        cfg.ipc_target = Duration::from_millis(40);
        cfg.xcpu_attempts = 2;
    }
    if let Some(n) = reps {
        cfg.reps = n;
    }
    Ok(cfg)
}

/// Writes the table, CSV, markdown and SVG under `results/`.
fn write_results(
    cfg: &Cfg,
    header: &[String],
    table: &str,
    footer: &[String],
    rows: &[Comparison],
) -> std::io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
    std::fs::create_dir_all(&dir)?;
    let partial = cfg.quick || !cfg.filter.is_empty();
    let (stem, svg_name, sizes_name) = if partial {
        ("quick", "quick.svg", "quick.sizes.svg")
    } else {
        ("latest", "ratios.svg", "sizes.svg")
    };
    let comment = |lines: &[String]| lines.iter().map(|l| format!("# {l}\n")).collect::<String>();
    std::fs::write(
        dir.join(format!("{stem}.txt")),
        format!("{}{table}{}", comment(header), comment(footer)),
    )?;
    std::fs::write(dir.join(format!("{stem}.csv")), report::csv(rows))?;
    std::fs::write(
        dir.join(format!("{stem}.md")),
        format!(
            "{}\n{}\n{}",
            header.join("  \n"),
            report::markdown(rows),
            footer.join("  \n")
        ),
    )?;
    let title = format!(
        "shm: ours / baseline, {}",
        header[0].trim_start_matches("machine: ")
    );
    std::fs::write(dir.join(svg_name), report::svg(rows, &title))?;
    if let Some(chart) = report::sizes_svg(rows, &title.replace("ours / baseline", "cost by size"))
    {
        std::fs::write(dir.join(sizes_name), chart)?;
    }
    eprintln!(
        "results: {}",
        dir.join(format!("{stem}.{{txt,csv,md}}")).display()
    );
    Ok(())
}
