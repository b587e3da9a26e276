//! Field get/set beside Python's stdlib way of sharing a field
//! (`multiprocessing.shared_memory` + `struct`): `python3` runs
//! `bench/python/fields.py`, whose output lines are parsed here. For
//! information: the ratio has no target.

use std::hint::black_box;
use std::process::Command;

use crate::harness::{measure, time_loop, watchdog, Cfg, Figure};
use crate::report::{Comparison, Target};
use crate::types::{Foo, Scratch};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python/fields.py");

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
    let region = Scratch::new("python");
    let foo = Foo::options()
        .create_new(true)
        .open_shm(&region.0)
        .expect("open Foo");
    let ours_get = measure(cfg, cfg.local_target, |n| {
        let mut sum = 0i32;
        let took = time_loop(n, |_| sum = sum.wrapping_add(foo.bar.get()));
        black_box(sum);
        took
    });
    let ours_set = measure(cfg, cfg.local_target, |n| {
        time_loop(n, |i| foo.bar.set(i as i32))
    });
    let note = format!(
        "Python figures include its loop: an empty one is {:.1} ns",
        python.empty_loop.median
    );
    for (name, ours, baseline, what, base_what) in [
        (
            "python_field_get",
            ours_get,
            python.get,
            "`foo.bar.get()` (i32)",
            "python3: SharedMemory + struct.unpack_from('i')",
        ),
        (
            "python_field_set",
            ours_set,
            python.set,
            "`foo.bar.set(v)` (i32)",
            "python3: SharedMemory + struct.pack_into('i')",
        ),
    ] {
        out.push(Comparison {
            name,
            ours_what: what.into(),
            baseline_what: base_what.into(),
            ours,
            baseline,
            target: Target::Info,
            note: note.clone(),
            probes: None,
            size: None,
        });
    }
}

struct PythonFigures {
    get: Figure,
    set: Figure,
    empty_loop: Figure,
}

fn run_script(cfg: &Cfg) -> Result<PythonFigures, String> {
    let output = Command::new("python3")
        .arg(SCRIPT)
        .arg("--reps")
        .arg(cfg.reps.to_string())
        .arg("--target-ms")
        .arg(cfg.local_target.as_millis().to_string())
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
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
    Ok(PythonFigures {
        get: figure("get")?,
        set: figure("set")?,
        empty_loop: figure("loop")?,
    })
}
