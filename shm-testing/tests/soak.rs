//! Ten seconds of the soak (`shm_testing::soak`, also `examples/soak.rs`): writers
//! SIGKILLed every 20-100 ms while readers check every snapshot. Nothing
//! torn, nothing lost, nothing hung, and the accounting exact.

use std::time::Duration;

use shm_testing::soak::{self, Config, Program};

#[test]
fn writers_killed_at_random_lose_nothing_and_tear_nothing() {
    let config = Config {
        duration: Duration::from_secs(10),
        ..Config::default()
    };
    let program = Program {
        path: env!("CARGO_BIN_EXE_shm-test-child").into(),
        args: vec!["soak".into()],
    };
    let report = soak::run(&config, &program).unwrap_or_else(|e| panic!("{e}"));
    println!("{report}");
    let violations = report.violations();
    assert!(violations.is_empty(), "{report}\n{violations:#?}");
    // The run did what it is for: kills happened, and both kinds of write
    // and the reads went on through them.
    assert!(report.kills > 10, "{report}");
    assert!(
        report.updates_found > 0 && report.adds_found > 0,
        "{report}"
    );
    assert!(report.snapshots > 0, "{report}");
}
