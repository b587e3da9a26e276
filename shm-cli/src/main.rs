//! `shm`: look at and change shared-state regions of any type, through the
//! schema every region embeds.
//!
//! This file holds the command line and the dispatch only: each subcommand
//! is a file of `commands/`, human and JSON output is `render.rs`.

mod codegen;
mod commands;
mod error;
#[cfg(test)]
mod fixtures;
mod region_arg;
mod render;
mod signals;

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::{check, codegen as codegen_cmd, get, ls, rm, set, show, watch, who};
#[cfg(feature = "zenoh")]
use commands::{mirror, publish};
use error::Error;

/// Look at and change shared-state regions of any type.
///
/// A region is typed by the schema it embeds, so every command works on any
/// region, whatever program made it. REGION is a file path when it contains
/// a `/` (`/tmp/state`, `./state`, `/dev/shm/x`), and a POSIX shm name
/// otherwise (`such_foo`). Reading needs only read permission.
#[derive(Debug, Parser)]
#[command(
    name = "shm",
    version,
    after_help = "\
Examples:
  shm ls                          regions in /dev/shm
  shm show such_foo               every field of the shm region `such_foo`
  shm set /tmp/suchfoo bar=1 inner.x=2
  shm watch such_foo --json       one JSON object per change
  shm publish such_foo --key lab/foo --listen tcp/0.0.0.0:7447

Exit status: 0 on success (and when `watch`, `publish` or `mirror` is
stopped by SIGINT or SIGTERM),
2 on a usage error, 1 on any other error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Ls(ls::Args),
    Show(show::Args),
    Get(get::Args),
    Set(set::Args),
    Watch(watch::Args),
    Who(who::Args),
    Rm(rm::Args),
    Check(check::Args),
    Codegen(codegen_cmd::Args),
    #[cfg(feature = "zenoh")]
    Publish(publish::Args),
    #[cfg(feature = "zenoh")]
    Mirror(mirror::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = match &cli.command {
        Command::Ls(args) => ls::run(args, &mut out),
        Command::Show(args) => show::run(args, &mut out),
        Command::Get(args) => get::run(args, &mut out),
        Command::Set(args) => set::run(args, &mut out),
        Command::Watch(args) => watch::run(args, &mut out),
        Command::Who(args) => who::run(args, &mut out),
        Command::Rm(args) => rm::run(args, &mut out),
        Command::Check(args) => check::run(args, &mut out),
        Command::Codegen(args) => codegen_cmd::run(args, &mut out),
        #[cfg(feature = "zenoh")]
        Command::Publish(args) => publish::run(args, &mut out),
        #[cfg(feature = "zenoh")]
        Command::Mirror(args) => mirror::run(args, &mut out),
    };
    // What was printed before an error still goes out, ahead of the message.
    let result = result.and_then(|()| out.flush().map_err(Error::Output));
    let _ = out.flush();
    error::exit_code(result)
}
