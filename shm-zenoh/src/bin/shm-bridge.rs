//! `shm-bridge publish|mirror REGION --key KEY [--listen E]... [--connect E]...
//! [--config FILE] [--poll-ms N]`: the `shm publish` / `shm mirror` commands
//! until the CLI carries them, and the process the tests drive. Exit status
//! 0 when stopped by SIGINT or SIGTERM, 2 on a usage error, 1 on any other.

use std::process::ExitCode;
use std::time::Duration;

use shm_zenoh::{run_mirror, run_publish, stop_on_signals, BridgeConfig};

const USAGE: &str = "usage: shm-bridge publish|mirror REGION --key KEY [--listen ENDPOINT]... \
                     [--connect ENDPOINT]... [--config FILE] [--poll-ms N]";

struct Args {
    command: String,
    region: String,
    key: String,
    config: BridgeConfig,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let command = args.next().ok_or("missing command")?;
    if command != "publish" && command != "mirror" {
        return Err(format!("unknown command `{command}`"));
    }
    let mut region = None;
    let mut key = None;
    let mut config = BridgeConfig::default();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--key" => key = Some(value()?),
            "--listen" => config.listen.push(value()?),
            "--connect" => config.connect.push(value()?),
            "--config" => config.config_file = Some(value()?.into()),
            "--poll-ms" => {
                let ms = value()?;
                let ms: u64 = ms
                    .parse()
                    .map_err(|_| format!("--poll-ms {ms}: not a number"))?;
                config.poll_interval = Duration::from_millis(ms.max(1));
            }
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ if region.is_none() => region = Some(arg),
            _ => return Err(format!("unexpected argument `{arg}`")),
        }
    }
    Ok(Args {
        command,
        region: region.ok_or("missing REGION")?,
        key: key.ok_or("missing --key KEY")?,
        config,
    })
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("shm-bridge: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let stop = match stop_on_signals() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("shm-bridge: cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = if args.command == "publish" {
        run_publish
    } else {
        run_mirror
    };
    match run(&args.region, &args.key, &args.config, &stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shm {}: {e}", args.command);
            ExitCode::FAILURE
        }
    }
}
