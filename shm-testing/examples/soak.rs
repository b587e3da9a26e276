//! Writers SIGKILLed at random while readers check every snapshot; exact
//! accounting at the end (see `shm_testing::soak` for what is checked and why).
//!
//!     cargo run --release --example soak -- --seconds 600
//!
//! Options: `--seconds N` (default 10), `--writers N`, `--readers N`
//! (default 4 each, at most 8), `--seed N` (default: from the clock). Prints
//! one result line; exits 1 if any promise broke or anything hung.

use std::process::ExitCode;
use std::time::Duration;

use shm_testing::soak::{self, Config, Program};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The writers and readers are this program again.
    if let [role, rest @ ..] = args.as_slice() {
        if role == "child" {
            return match soak::child_main(rest) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("soak child {rest:?}: {e}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    let config = match parse(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!(
                "soak: {e}\nusage: soak [--seconds N] [--writers N] [--readers N] [--seed N]"
            );
            return ExitCode::from(2);
        }
    };
    let program = match std::env::current_exe() {
        Ok(path) => Program {
            path,
            args: vec!["child".into()],
        },
        Err(e) => {
            eprintln!("soak: cannot find this program: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "soak: {} s, {} writers, {} readers, a writer killed every {:?}-{:?}, seed {}",
        config.duration.as_secs(),
        config.writers,
        config.readers,
        config.kill_every.0,
        config.kill_every.1,
        config.seed
    );
    match soak::run(&config, &program) {
        Ok(report) => {
            println!("{report}");
            let violations = report.violations();
            if violations.is_empty() {
                println!("pass");
                ExitCode::SUCCESS
            } else {
                println!("FAIL: {}", violations.join("; "));
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            println!("FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<Config, String> {
    let mut config = Config::default();
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--seconds" => config.duration = Duration::from_secs(number()?),
            "--writers" => config.writers = number()? as usize,
            "--readers" => config.readers = number()? as usize,
            "--seed" => config.seed = number()?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(config)
}
