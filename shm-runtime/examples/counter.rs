//! N processes increment one shared counter; the total is exact.
//!
//!     cargo run --release --example counter -- [processes] [increments]
//!
//! Defaults: 4 processes, 1,000,000 increments each. Each increment is one
//! `fetch_add`: a single atomic instruction on the shared memory.

use std::process::Command;
use std::time::Instant;

use shm_runtime::SharedState;

#[derive(SharedState, Clone, Copy, Debug, Default)]
#[repr(C)]
struct Counter {
    count: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [role, name, n] = args.as_slice() {
        if role == "worker" {
            let counter = Counter::options().create(false).open_shm(name)?;
            for _ in 0..n.parse::<u64>()? {
                counter.count.fetch_add(1);
            }
            return Ok(());
        }
    }
    let processes: u64 = args.first().map_or(Ok(4), |a| a.parse())?;
    let increments: u64 = args.get(1).map_or(Ok(1_000_000), |a| a.parse())?;

    let name = format!("shm_counter_example_{}", std::process::id());
    let counter = Counter::options().create_new(true).open_shm(&name)?;
    println!("{processes} processes x {increments} increments of /{name}");

    let started = Instant::now();
    let workers = (0..processes)
        .map(|_| {
            Command::new(std::env::current_exe()?)
                .args(["worker", &name, &increments.to_string()])
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut failed = 0;
    for mut worker in workers {
        failed += u32::from(!worker.wait()?.success());
    }
    let elapsed = started.elapsed();
    shm_runtime::remove_shm(&name)?;

    let total = counter.count.get();
    let expected = processes * increments;
    println!("total {total}, expected {expected}, in {elapsed:.2?}");
    if failed > 0 || total != expected {
        return Err(format!("{failed} workers failed; total {total} != {expected}").into());
    }
    println!("exact");
    Ok(())
}
