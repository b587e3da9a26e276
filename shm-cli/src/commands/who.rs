//! `shm who REGION`.

use std::io::Write;

use crate::error::Result;
use crate::region_arg::RegionArg;
use crate::render;

/// List the processes that have a region mapped.
///
/// Found in `/proc/<pid>/maps` by the region's device and inode (this command
/// itself left out). A process whose memory map cannot be read (another
/// user's, without privilege) is listed as "maybe": it may have the region
/// mapped. Prints nothing when no process has it mapped.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm who such_foo
  shm who /tmp/suchfoo

Output: a table of PID, MAPPED (\"yes\", or \"maybe\" when its memory map
cannot be read) and COMMAND (its command line).")]
pub struct Args {
    /// A file path (it contains a `/`) or a POSIX shm name
    #[arg(value_parser = RegionArg::parser())]
    region: RegionArg,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let region = args.region.open_read_only()?;
    let users = region.users();
    let me = std::process::id();
    let mut rows: Vec<[String; 3]> = Vec::new();
    let listed = users.pids.iter().map(|&pid| (pid, "yes"));
    let maybe = users.unknown.iter().map(|&pid| (pid, "maybe"));
    for (pid, mapped) in listed.chain(maybe).filter(|&(pid, _)| pid != me) {
        rows.push([pid.to_string(), mapped.to_owned(), command_line(pid)]);
    }
    rows.sort_by_key(|row| row[0].parse::<u32>().unwrap_or(u32::MAX));
    if !rows.is_empty() {
        render::write_table(
            out,
            &["PID", "MAPPED", "COMMAND"],
            &[true, false, false],
            &rows,
        )?;
    }
    Ok(())
}

/// The command line of process `pid`, its arguments separated by spaces;
/// `[name]` when it has none to show (a kernel thread, a zombie), or `?`
/// when it is gone or cannot be read.
pub fn command_line(pid: u32) -> String {
    if let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) {
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        if !args.is_empty() {
            return args.join(" ");
        }
    }
    match std::fs::read(format!("/proc/{pid}/comm")) {
        Ok(name) => format!("[{}]", String::from_utf8_lossy(&name).trim_end()),
        Err(_) => "?".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_command_line() {
        let line = command_line(std::process::id());
        let exe = std::env::args().next().unwrap();
        assert!(line.starts_with(&exe), "{line:?} vs {exe:?}");
        assert_eq!(command_line(u32::MAX), "?");
    }
}
