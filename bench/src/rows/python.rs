//! The `shm` Python package beside Python's stdlib way of sharing a field
//! (`multiprocessing.shared_memory` + `struct`), both measured by one
//! interpreter in one run: `bench/python/fields.py`, whose output lines are
//! parsed here. Field reads and writes have a target (<= 1.5 x the stdlib's
//! `unpack_from`/`pack_into`); the 16-byte snapshot is for information.
//!
//! The interpreter is `$SHM_BENCH_PYTHON`, else the workspace's `.venv`
//! (where PYTHON-NOTES.md installs the package), else `python3`. Without
//! the package the rows are skipped with a note.

use std::path::Path;
use std::process::Command;

use crate::harness::{watchdog, Cfg, Figure};
use crate::report::{Comparison, Target};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/fields.py");
const VENV_PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");

pub fn rows(cfg: &Cfg, out: &mut Vec<Comparison>) {
    if !cfg.wants("python") {
        return;
    }
    watchdog::row("python");
    let python = match run_script(cfg) {
        Ok(figures) => figures,
        Err(e) => {
            eprintln!("warning: skipping the Python rows: {e}");
            return;
        }
    };
    let Some(package) = python.package else {
        eprintln!(
            "warning: skipping the Python rows: {} ({})",
            python.skip.unwrap_or_default(),
            python.interpreter
        );
        return;
    };
    let note = format!(
        "one interpreter, reps interleaved; figures include its loop: an empty one is {:.1} ns",
        python.empty_loop.median
    );
    for (name, ours, baseline, target, what, base_what) in [
        (
            "python_field_get",
            package.get,
            python.get,
            Target::AtMost(1.5),
            "python: `foo.bar` (i32), shm package",
            "python: SharedMemory + struct.unpack_from('i', buf, 0)[0]",
        ),
        (
            "python_field_set",
            package.set,
            python.set,
            Target::AtMost(1.5),
            "python: `foo.bar = 7` (i32), shm package",
            "python: SharedMemory + struct.pack_into('i', buf, 0, 7)",
        ),
        (
            "python_snapshot_16",
            package.snapshot,
            package.snapshot_base,
            Target::Info,
            "python: `small.snapshot()`, 16 B (i32, i32, u64) -> a Small value",
            "python: struct.unpack_from('iiQ', buf, 0) (a tuple; no consistency)",
        ),
    ] {
        out.push(Comparison {
            name,
            ours_what: what.into(),
            baseline_what: base_what.into(),
            ours,
            baseline,
            target,
            note: note.clone(),
            probes: None,
            size: None,
        });
    }
}

/// The package's figures, when it is installed.
struct PackageFigures {
    get: Figure,
    set: Figure,
    snapshot: Figure,
    snapshot_base: Figure,
}

struct PythonFigures {
    interpreter: String,
    get: Figure,
    set: Figure,
    empty_loop: Figure,
    package: Option<PackageFigures>,
    skip: Option<String>,
}

fn interpreter() -> String {
    if let Ok(given) = std::env::var("SHM_BENCH_PYTHON") {
        return given;
    }
    if Path::new(VENV_PYTHON).exists() {
        return VENV_PYTHON.to_owned();
    }
    "python3".to_owned()
}

fn run_script(cfg: &Cfg) -> Result<PythonFigures, String> {
    let interpreter = interpreter();
    let output = Command::new(&interpreter)
        .arg(SCRIPT)
        .arg("--reps")
        .arg(cfg.reps.to_string())
        .arg("--target-ms")
        .arg(cfg.local_target.as_millis().to_string())
        .output()
        .map_err(|e| format!("cannot run {interpreter}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{SCRIPT} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let figure = |key: &str| -> Result<Figure, String> {
        let line = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .ok_or_else(|| format!("no `{key}` line in the output of {SCRIPT}: {stdout}"))?;
        let parse_err = |_| format!("bad line from {SCRIPT}: {line}");
        let fields: Vec<&str> = line.split_whitespace().skip(1).collect();
        let [median, min, max, iters] = fields[..] else {
            return Err(format!("bad line from {SCRIPT}: {line}"));
        };
        Ok(Figure {
            median: median.parse().map_err(parse_err)?,
            min: min.parse().map_err(parse_err)?,
            max: max.parse().map_err(parse_err)?,
            iters: iters
                .parse()
                .map_err(|_| format!("bad line from {SCRIPT}: {line}"))?,
        })
    };
    let skip = stdout
        .lines()
        .find_map(|l| l.strip_prefix("skip "))
        .map(str::to_owned);
    let package = match skip {
        Some(_) => None,
        None => Some(PackageFigures {
            get: figure("shm_get")?,
            set: figure("shm_set")?,
            snapshot: figure("shm_snapshot")?,
            snapshot_base: figure("snapshot_base")?,
        }),
    };
    Ok(PythonFigures {
        interpreter,
        get: figure("get")?,
        set: figure("set")?,
        empty_loop: figure("loop")?,
        package,
        skip,
    })
}
