//! `ls`, `show` and `get`: what they print about regions made by the typed
//! API, for people and as JSON, and a closed pipe ending them quietly.

mod support;

use std::io::Read;

use predicates::prelude::*;
use support::{json, panel, shm, Kind, Long, Panel, Running, Scratch};

#[test]
fn show_prints_a_tree_with_compact_scalar_arrays() {
    for scratch in Scratch::both() {
        let _panel = scratch.create(panel());
        let out = shm().args(["show", &scratch.arg]).assert().success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        let (first, tree) = text.split_once('\n').unwrap();
        let what = match scratch.kind {
            Kind::File => "file",
            Kind::Shm => "shm object",
        };
        assert_eq!(
            first,
            format!(
                "{what} {}: Panel, 56 bytes, version 0, lock free",
                scratch.location()
            )
        );
        assert_eq!(
            tree,
            "  id: 7
  level: 0.1
  count: -3
  ratio: 2.5
  inner:
    x: 9
    corners:
      [0]:
        x: -1
        y: 2
      [1]:
        x: 300
        y: -400
  samples: [1, 2, 3, 4]
  grid: [[1, 2, 3], [4, 5, 6]]
  delta: -8
  _pad: [0, 0, 0, 0, 0]
"
        );
    }
}

#[test]
fn show_json_has_the_contracts_shape() {
    for scratch in Scratch::both() {
        let shared = scratch.create(panel());
        shared.update(|p| {
            p.level = f32::NAN;
            p.ratio = f64::NEG_INFINITY;
        });
        shared.notify();
        let out = shm()
            .args(["show", &scratch.arg, "--json"])
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "one line: {text}");
        let v = json(&text);
        assert_eq!(v["type"], "Panel");
        assert_eq!(v["version"], shared.version());
        assert_eq!(v["size"], 56);
        assert_eq!(v["location"], scratch.location());
        let kind = if scratch.kind == Kind::File {
            "file"
        } else {
            "shm"
        };
        assert_eq!(v["kind"], kind);
        assert_eq!(v["lock"]["held"], false);
        assert_eq!(
            v["value"],
            json(
                r#"{"id":7,"level":"NaN","count":-3,"ratio":"-inf",
                    "inner":{"x":9,"corners":[{"x":-1,"y":2},{"x":300,"y":-400}]},
                    "samples":[1,2,3,4],"grid":[[1,2,3],[4,5,6]],"delta":-8,"_pad":[0,0,0,0,0]}"#
            )
        );
        // Fields in declaration order, as the struct has them.
        assert!(
            text.contains(r#""value":{"id":7,"level":"NaN","count":-3,"ratio":"-inf","inner":{"#)
        );
    }
}

/// Floats print in the shortest form that reads back to the same value of
/// their own width: an `f32` 0.1 is `0.1`, not `0.10000000149011612`.
#[test]
fn floats_read_back_at_their_own_width() {
    let scratch = Scratch::shm();
    let shared = scratch.create(panel());
    for (level, ratio) in [
        (0.1f32, 0.1f64),
        (f32::MAX, f64::MIN_POSITIVE),
        (1.0 / 3.0, 1e300),
        (f32::INFINITY, -0.0),
    ] {
        shared.update(|p| {
            p.level = level;
            p.ratio = ratio;
        });
        let out = shm()
            .args(["show", &scratch.arg, "--json"])
            .assert()
            .success();
        let v = json(std::str::from_utf8(&out.get_output().stdout).unwrap());
        let back_level = match &v["value"]["level"] {
            serde_json::Value::String(s) => s.parse::<f32>().unwrap(),
            n => n.as_f64().unwrap() as f32,
        };
        assert_eq!(back_level.to_bits(), level.to_bits(), "{v}");
        let back_ratio = v["value"]["ratio"].as_f64().unwrap();
        assert_eq!(back_ratio.to_bits(), ratio.to_bits(), "{v}");
        let text = shm()
            .args(["get", &scratch.arg, "level"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(text).unwrap();
        assert_eq!(
            text.trim().parse::<f32>().unwrap().to_bits(),
            level.to_bits()
        );
    }
}

#[test]
fn get_reads_one_field_by_any_path_form() {
    let scratch = Scratch::file();
    let _panel = scratch.create(panel());
    for (path, value) in [
        ("id", "7\n"),
        ("inner.x", "9\n"),
        ("samples[2]", "3\n"),
        ("samples.2", "3\n"),
        ("inner.corners[1].y", "-400\n"),
        ("inner.corners.1.y", "-400\n"),
        ("grid[1][0]", "4\n"),
        ("samples", "[1, 2, 3, 4]\n"),
        ("inner.corners.0", "x: -1\ny: 2\n"),
    ] {
        shm()
            .args(["get", &scratch.arg, path])
            .assert()
            .success()
            .stdout(value);
    }
    shm()
        .args(["get", &scratch.arg, "inner.nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("shm: "))
        .stderr(predicate::str::contains("has no field `nope`"));
    shm()
        .args(["get", &scratch.arg, "samples[4]"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("out of range"));
}

/// Long arrays: people see the ends, JSON every element.
#[test]
fn long_arrays_are_elided_for_people_only() {
    let scratch = Scratch::file();
    let shared = scratch.create_zeroed::<Long>();
    shared.update(|l| {
        for (i, d) in l.data.iter_mut().enumerate() {
            *d = i as u64;
        }
    });
    shm()
        .args(["show", &scratch.arg])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "  data: [0, 1, 2, 3, 4, 5, 6, 7, … 65524 more …, 65532, 65533, 65534, 65535]\n",
        ));
    let out = shm()
        .args(["show", &scratch.arg, "--json"])
        .assert()
        .success();
    let v = json(std::str::from_utf8(&out.get_output().stdout).unwrap());
    let data = v["value"]["data"].as_array().unwrap();
    assert_eq!(data.len(), 65_536);
    assert_eq!(data[65_535], 65_535);
}

/// `shm show x --json | head -c 100`: the reader goes away, the command
/// ends at once, quietly and successfully.
#[test]
fn a_closed_pipe_ends_quietly() {
    let scratch = Scratch::file();
    let long = scratch.create_zeroed::<Long>();
    long.update(|l| l.data.fill(u64::MAX));
    let mut running = Running::shm_raw_stdout(&["show", &scratch.arg, "--json"]);
    let mut stdout = running.take_stdout();
    let mut first = [0u8; 100];
    stdout.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"{\"location\":"));
    drop(stdout);
    let (status, stderr) = running.finish();
    assert!(status.success(), "{status:?}: {stderr}");
    assert_eq!(stderr, "", "nothing said about the pipe");
}

#[test]
fn ls_lists_regions_in_folders_and_skips_everything_else() {
    let a = Scratch::file();
    let _a = a.create(panel());
    let dir = a.dir();
    let b_path = dir.join("b");
    let _b = Panel::options()
        .initial(Panel { id: 1, ..panel() })
        .open_file(&b_path)
        .unwrap();
    std::fs::write(dir.join("text"), "not a region").unwrap();
    std::fs::write(dir.join("empty"), "").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    nix::unistd::mkfifo(&dir.join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();

    let out = shm().args(["ls", "--json"]).arg(dir).assert().success();
    let v = json(std::str::from_utf8(&out.get_output().stdout).unwrap());
    let rows = v.as_array().unwrap();
    let locations: Vec<&str> = rows
        .iter()
        .map(|r| r["location"].as_str().unwrap())
        .collect();
    assert_eq!(locations, [b_path.to_str().unwrap(), a.arg.as_str()]);
    for row in rows {
        assert_eq!(row["kind"], "file");
        assert_eq!(row["type"], "Panel");
        assert_eq!(row["size"], 56);
        assert_eq!(row["version"], 0);
    }

    let out = shm().arg("ls").arg(dir).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("LOCATION"), "{text}");
    assert!(
        lines[0].contains("KIND  TYPE   SIZE  VERSION  LOCK"),
        "{text}"
    );
    assert!(lines[2].starts_with(&a.arg), "{text}");
    assert!(
        lines[2].ends_with("file  Panel    56        0  free"),
        "{text}"
    );

    // Named files: regions listed, other files skipped, a missing one is an
    // error after the rest is listed.
    let out = shm()
        .args(["ls", "--json", &a.arg])
        .arg(dir.join("text"))
        .arg(dir.join("fifo"))
        .arg(dir.join("missing"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing"));
    let v = json(std::str::from_utf8(&out.get_output().stdout).unwrap());
    assert_eq!(v.as_array().unwrap().len(), 1);
}

#[test]
fn ls_lists_shm_objects_by_default() {
    let scratch = Scratch::shm();
    let _panel = scratch.create(panel());
    for args in [&["ls", "--json"][..], &["ls", "--json", "/dev/shm"]] {
        let out = shm().args(args).assert().success();
        let v = json(std::str::from_utf8(&out.get_output().stdout).unwrap());
        let row = v
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["location"] == scratch.location())
            .unwrap_or_else(|| panic!("{} not listed: {v}", scratch.location()));
        assert_eq!(row["kind"], "shm");
        assert_eq!(row["type"], "Panel");
        assert_eq!(row["size"], 56);
        assert_eq!(row["version"], 0);
    }
}
