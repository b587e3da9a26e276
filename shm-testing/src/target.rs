use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use shm_runtime::{OpenOptions, Region, RegionOptions, Result, Shared, SharedState};

/// Where a region lives, as helper processes take it on their command
/// line: `file <path>` or `shm <name>`.
#[derive(Clone, Debug)]
pub enum Target {
    File(PathBuf),
    Shm(String),
}

impl Target {
    /// Opens a region of `T` here with `options`.
    pub fn open<T: SharedState>(&self, options: &OpenOptions<T>) -> Result<Shared<T>> {
        match self {
            Target::File(path) => options.open_file(path),
            Target::Shm(name) => options.open_shm(name),
        }
    }

    /// Opens a region here with run-time `options`.
    pub fn open_region(&self, options: &RegionOptions) -> Result<Region> {
        match self {
            Target::File(path) => options.open_file(path),
            Target::Shm(name) => options.open_shm(name),
        }
    }

    /// The two command-line words that name this target.
    pub fn args(&self) -> [String; 2] {
        match self {
            Target::File(path) => ["file".into(), path.display().to_string()],
            Target::Shm(name) => ["shm".into(), name.clone()],
        }
    }

    /// Parses what [`Target::args`] printed.
    pub fn from_args(kind: &str, where_: &str) -> Option<Target> {
        match kind {
            "file" => Some(Target::File(where_.into())),
            "shm" => Some(Target::Shm(where_.to_owned())),
            _ => None,
        }
    }

    /// The path of the backing object (for a shm object, its file in
    /// `/dev/shm`), to inspect it from a test.
    pub fn backing_path(&self) -> PathBuf {
        match self {
            Target::File(path) => path.clone(),
            Target::Shm(name) => Path::new("/dev/shm").join(name.trim_start_matches('/')),
        }
    }
}

/// A fresh region location, unique to this process and call, removed on
/// drop: a file in a new temporary folder, or a shm object.
#[derive(Debug)]
pub struct Scratch {
    pub target: Target,
    dir: Option<PathBuf>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn unique(what: &str) -> String {
    format!(
        "shm-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Scratch {
    pub fn file() -> Scratch {
        let dir = std::env::temp_dir().join(unique("test-dir"));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        Scratch {
            target: Target::File(dir.join("region")),
            dir: Some(dir),
        }
    }

    pub fn shm() -> Scratch {
        Scratch {
            target: Target::Shm(format!("/{}", unique("test"))),
            dir: None,
        }
    }

    /// Both kinds, for tests that run the same scenario over each.
    pub fn both() -> [Scratch; 2] {
        [Scratch::file(), Scratch::shm()]
    }

    /// A file if `file`, else a shm object.
    pub fn either(file: bool) -> Scratch {
        if file {
            Scratch::file()
        } else {
            Scratch::shm()
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match (&self.target, &self.dir) {
            (_, Some(dir)) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            (Target::Shm(name), None) => {
                let _ = shm_runtime::remove_shm(name);
            }
            (Target::File(_), None) => {}
        }
    }
}
