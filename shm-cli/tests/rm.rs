//! `rm`: only regions, exactly the object that was checked, never through
//! a symbolic link, once per region however it is spelt; and `--stale`:
//! only regions no process uses, by the kernel's record of who holds them
//! open, with no window in which an open could keep a removed region.

mod support;

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use shm_runtime::OpenOptions;
use support::{fingerprint_of_file, panel, shm, Kind, Panel, Running, Scratch};

/// How `rm --stale` names a region in its report.
fn location_words(scratch: &Scratch) -> String {
    match scratch.kind {
        Kind::File => format!("file {}", scratch.arg),
        Kind::Shm => format!("shm object /{}", scratch.arg),
    }
}

/// Creates a region of `Panel` in file `path`, and closes it.
fn create_file_region(path: &Path) {
    OpenOptions::<Panel>::new()
        .create_new(true)
        .initial(panel())
        .open_file(path)
        .expect("create the region");
}

/// The names a removal may have left beside `path` (none, once it ended).
fn leftovers(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let prefix = format!(".{name}.shm-removing-");
    std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
        })
        .collect()
}

#[test]
fn rm_removes_regions_only() {
    let file = Scratch::file();
    let shm_region = Scratch::shm();
    drop(file.create(panel()));
    drop(shm_region.create(panel()));
    let foreign = file.dir().join("foreign");
    std::fs::write(&foreign, b"precious bytes").unwrap();
    let kept = fingerprint_of_file(&foreign);

    // One argument is not a region: nothing is removed.
    shm()
        .args(["rm", &file.arg, &shm_region.arg])
        .arg(&foreign)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("foreign"))
        .stderr(predicate::str::contains("not a shared-state region"));
    assert!(file.backing_path().exists());
    assert!(shm_region.backing_path().exists());
    assert_eq!(fingerprint_of_file(&foreign), kept);

    shm()
        .args(["rm", &file.arg, &shm_region.arg])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    assert!(!file.backing_path().exists());
    assert!(!shm_region.backing_path().exists());
    assert_eq!(fingerprint_of_file(&foreign), kept);
    assert_eq!(leftovers(&file.backing_path()), Vec::<PathBuf>::new());
    shm()
        .args(["rm", &shm_region.arg])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not found"));
}

/// A file renamed over the region's name after `rm` checked the region and
/// before it removed it is never removed: `rm` stops between the two (a
/// hold point), the test puts a foreign file in the region's place, and
/// `rm` goes on. It used to remove whatever had the name by then.
#[test]
fn rm_never_removes_a_file_put_in_the_regions_place() {
    for scratch in Scratch::both() {
        drop(scratch.create(panel()));
        let path = scratch.backing_path();
        let foreign = path.with_file_name(format!(
            "{}.foreign",
            path.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&foreign, b"precious bytes, not a region").unwrap();
        let mut rm = Running::shm_held(
            &["rm", &scratch.arg],
            &[("SHM_RUNTIME_PAUSE_AT", "remove-checked")],
        );
        assert_eq!(rm.line(), "shm-runtime: paused at remove-checked");
        std::fs::rename(&foreign, &path).unwrap();
        let kept = fingerprint_of_file(&path);
        rm.resume();
        let (status, stderr) = rm.finish();
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("no longer leads to the region that was checked"),
            "{stderr}"
        );
        assert!(stderr.contains("put back untouched"), "{stderr}");
        assert_eq!(fingerprint_of_file(&path), kept, "the foreign file");
        assert_eq!(leftovers(&path), Vec::<PathBuf>::new());
        std::fs::remove_file(&path).unwrap();
    }
}

/// A symbolic link to a region is refused, with and without `--stale`:
/// it used to lose its link while the region stayed, and nothing said so.
#[test]
fn rm_refuses_a_symbolic_link() {
    let file = Scratch::file();
    let shm_region = Scratch::shm();
    drop(file.create(panel()));
    drop(shm_region.create(panel()));
    let links = [
        (file.dir().join("link"), file.backing_path()),
        (
            PathBuf::from(format!("/dev/shm/{}-link", shm_region.arg)),
            shm_region.backing_path(),
        ),
    ];
    for (link, region) in &links {
        std::os::unix::fs::symlink(region, link).unwrap();
        for stale in [None, Some("--stale")] {
            shm()
                .arg("rm")
                .args(stale)
                .arg(link)
                .assert()
                .code(1)
                .stdout("")
                .stderr(predicate::str::contains("is a symbolic link to"))
                .stderr(predicate::str::contains("name the region itself"));
            assert!(link.symlink_metadata().is_ok(), "{link:?} was removed");
            assert!(region.exists(), "{region:?} was removed");
        }
        std::fs::remove_file(link).unwrap();
    }
}

/// One region named twice (two spellings of one name) is removed once,
/// with a word, and the command succeeds. It used to remove it, then fail
/// on the second spelling with "not found".
#[test]
fn rm_removes_a_region_named_twice_once() {
    for stale in [None, Some("--stale")] {
        let file = Scratch::file();
        drop(file.create(panel()));
        // Through `..`: a spelling that differs as a path, not as a name.
        let other = file
            .dir()
            .join("..")
            .join(file.dir().file_name().unwrap())
            .join("region");
        let shm_region = Scratch::shm();
        drop(shm_region.create(panel()));
        let other_shm = format!("/dev/shm/{}", shm_region.arg);
        let out = shm()
            .arg("rm")
            .args(stale)
            .args([
                &file.arg,
                other.to_str().unwrap(),
                &shm_region.arg,
                &other_shm,
            ])
            .assert()
            .success()
            .stderr(predicate::str::contains("are the same region: it is removed once").count(2));
        let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        match stale {
            None => assert_eq!(stdout, ""),
            Some(_) => assert_eq!(
                stdout,
                format!(
                    "removed {}\nremoved {}\n",
                    location_words(&file),
                    location_words(&shm_region)
                )
            ),
        }
        assert!(!file.backing_path().exists());
        assert!(!shm_region.backing_path().exists());
    }
}

/// `--stale` keeps a region that a process holds open (a `shm watch`, a
/// read-only handle) and removes one nobody uses, named as REGION
/// arguments, and in a folder it sweeps, where a file that is not a
/// region and a symbolic link are left alone. Here pid 1's memory map
/// cannot be read (as in most containers): it used to count as a possible
/// user of every region, so `--stale` kept them all.
#[test]
fn rm_stale_removes_only_unused_regions() {
    let pid1_map_unreadable = std::fs::read("/proc/1/maps").is_err();
    eprintln!("pid 1's memory map is unreadable here: {pid1_map_unreadable}");

    // By name: shm objects and files.
    for (held, unheld) in [
        (Scratch::shm(), Scratch::shm()),
        (Scratch::file(), Scratch::file()),
    ] {
        drop(held.create(panel()));
        drop(unheld.create(panel()));
        let watcher = Running::shm(&["watch", &held.arg], &[]);
        assert!(watcher.error_line().starts_with("watching "));
        shm()
            .args(["rm", "--stale", &held.arg, &unheld.arg])
            .assert()
            .success()
            .stdout(format!(
                "kept {}: held open by pid {}\nremoved {}\n",
                location_words(&held),
                watcher.pid(),
                location_words(&unheld)
            ));
        assert!(held.backing_path().exists());
        assert!(!unheld.backing_path().exists());
        drop(watcher);
        // Its holder gone, it goes too.
        shm()
            .args(["rm", "--stale", &held.arg])
            .assert()
            .success()
            .stdout(format!("removed {}\n", location_words(&held)));
        assert!(!held.backing_path().exists());
    }

    // A folder, swept.
    let dir = tempfile::tempdir().unwrap();
    let (held, unheld) = (dir.path().join("held"), dir.path().join("unheld"));
    create_file_region(&held);
    create_file_region(&unheld);
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, b"not a region").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&held, &link).unwrap();
    let held_arg = held.to_str().unwrap();
    let watcher = Running::shm(&["watch", held_arg], &[]);
    assert!(watcher.error_line().starts_with("watching "));
    shm()
        .args(["rm", "--stale"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(format!(
            "kept file {held_arg}: held open by pid {}\nremoved file {}\n",
            watcher.pid(),
            unheld.display()
        ));
    assert!(held.exists() && !unheld.exists());
    assert!(notes.exists() && link.symlink_metadata().is_ok());
    drop(watcher);
    shm()
        .args(["rm", "--stale"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(format!("removed file {held_arg}\n"));
    assert!(!held.exists() && notes.exists() && link.symlink_metadata().is_ok());
}

/// An open that found the region by its name just before `rm --stale`
/// removed it (held between its open and its registration as a holder,
/// where nothing yet shows it holds the region) does not end with a
/// handle of the removed region: it finds the name gone after it
/// registers, and reports `NotFound`. It used to show the removed
/// region's fields (and `--stale` kept nothing here anyway, as pid 1's
/// memory map cannot be read).
#[test]
fn rm_stale_never_leaves_an_opener_with_a_removed_region() {
    for scratch in Scratch::both() {
        drop(scratch.create(panel()));
        let mut opener = Running::shm_held(
            &["show", &scratch.arg],
            &[("SHM_RUNTIME_PAUSE_AT", "before-register")],
        );
        assert_eq!(opener.line(), "shm-runtime: paused at before-register");
        shm()
            .args(["rm", "--stale", &scratch.arg])
            .assert()
            .success()
            .stdout(format!("removed {}\n", location_words(&scratch)));
        opener.resume();
        let (status, stdout, stderr) = opener.finish_with_stdout();
        assert_eq!(status.code(), Some(1), "{stderr}");
        // Found gone when it looked again ("not found"), or, past its
        // deadline, "not found: it was removed while this process was
        // opening it".
        assert!(stderr.contains(": not found"), "{stderr}");
        assert_eq!(stdout, Vec::<String>::new(), "it showed the removed region");
    }
}

/// While `rm --stale` holds a region's record (held after it locked it,
/// before it removes the name), no open can register: an open times out
/// waiting for the removal, and never holds the region it removes.
#[test]
fn rm_stale_locks_out_opens_while_it_removes() {
    for scratch in Scratch::both() {
        drop(scratch.create(panel()));
        let mut rm = Running::shm_held(
            &["rm", "--stale", &scratch.arg],
            &[("SHM_RUNTIME_PAUSE_AT", "remove-locked")],
        );
        assert_eq!(rm.line(), "shm-runtime: paused at remove-locked");
        shm()
            .args(["show", &scratch.arg])
            .assert()
            .code(1)
            .stdout("")
            .stderr(predicate::str::contains(
                "waiting for a removal of the region (`shm rm --stale`) to finish",
            ));
        rm.resume();
        assert_eq!(rm.line(), format!("removed {}", location_words(&scratch)));
        let (status, stderr) = rm.finish();
        assert_eq!(status.code(), Some(0), "{stderr}");
        assert!(!scratch.backing_path().exists());
    }
}
