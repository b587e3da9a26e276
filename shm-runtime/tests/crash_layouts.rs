//! A writer killed at any step of an update or a store, over generated
//! layouts (`shm_testing::crash`). Bounded here; set `SHM_CRASH_LAYOUTS`
//! (and `SHM_CRASH_SEED`, `SHM_CRASH_MAX_SIZE`, `SHM_CRASH_ONLY`) for a long
//! run or to repeat a failure.

use shm_testing::crash::{self, Config};

/// Layouts per `cargo test`: each takes about 17 kills.
const LAYOUTS: usize = 60;
/// The largest struct generated.
const MAX_SIZE: usize = 1 << 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(crash::CHILD) {
        std::process::exit(crash::child_main(&args[1..]));
    }
    let config = Config::from_env(LAYOUTS, MAX_SIZE);
    eprintln!(
        "crash_layouts: seed {:#x} (SHM_CRASH_SEED={:#x} repeats this run)",
        config.seed, config.seed
    );
    let started = std::time::Instant::now();
    let report = crash::run(&config);
    eprintln!("crash_layouts: {report}, in {:.1?}", started.elapsed());
    if report.failed() > 0 {
        eprintln!(
            "crash_layouts: seed {:#x}: {} failures",
            config.seed,
            report.failed()
        );
        std::process::exit(1);
    }
}
