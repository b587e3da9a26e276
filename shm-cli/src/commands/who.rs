//! `shm who REGION`.

use std::io::Write;

use shm_runtime::{Mapped, Users};

use crate::error::Result;
use crate::region_arg::RegionArg;
use crate::render;

/// List the processes that use a region.
///
/// Every process that holds the region open through this library (a handle
/// in any language, read-write or read-only, a forked child's included),
/// from the kernel's record of who holds it open, which needs no permission
/// to read; and every process whose memory map (/proc/PID/maps) can be
/// read and shows the region mapped by other means. A process whose memory
/// map cannot be read (another user's, without privilege; pid 1 in a
/// container) and that holds no handle is not listed: nothing can tell
/// whether it maps the region. This command itself is left out. Prints
/// nothing when no process uses it.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  shm who such_foo
  shm who /tmp/suchfoo

Output: a table of PID, HANDLE (\"yes\": it holds the region open through
this library), MAPPED (\"rw\" or \"ro\" as its memory map shows the region
mapped, \"no\", or \"?\" when its memory map cannot be read) and COMMAND
(its command line). A handle whose process has exited but whose descriptor
is still open in another process (one it passed it to, or forked without
the library's fork handlers) is named by a line after the table.")]
pub struct Args {
    /// A file path (it contains a `/`) or a POSIX shm name
    #[arg(value_parser = RegionArg::parser())]
    region: RegionArg,
}

pub fn run(args: &Args, out: &mut dyn Write) -> Result<()> {
    let region = args.region.open_read_only()?;
    let users = region.users()?.without(std::process::id());
    drop(region);
    let rows: Vec<[String; 4]> = users
        .processes
        .iter()
        .map(|user| {
            let handle = if user.handle { "yes" } else { "no" };
            [
                user.pid.to_string(),
                handle.to_owned(),
                mapped_text(user.mapped).to_owned(),
                command_line(user.pid),
            ]
        })
        .collect();
    if !rows.is_empty() {
        render::write_table(
            out,
            &["PID", "HANDLE", "MAPPED", "COMMAND"],
            &[true, false, false, false],
            &rows,
        )?;
    }
    for line in notes(&users) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A MAPPED cell.
pub fn mapped_text(mapped: Mapped) -> &'static str {
    match mapped {
        Mapped::ReadWrite => "rw",
        Mapped::ReadOnly => "ro",
        Mapped::No => "no",
        _ => "?",
    }
}

/// What the record says that no row can: handles of exited processes, and
/// locks that no handle takes.
pub fn notes(users: &Users) -> Vec<String> {
    let mut lines: Vec<String> = users
        .departed
        .iter()
        .map(|pid| {
            format!(
                "(a handle that pid {pid} opened is still open in another process, \
                 which pid {pid} forked without the library's fork handlers or passed it to; \
                 pid {pid} has exited)"
            )
        })
        .collect();
    if users.foreign_lock {
        lines.push(
            "(its record of holders holds a lock no handle takes: a removal under way, \
             or another program's lock)"
                .to_owned(),
        );
    }
    lines
}

/// The command line of process `pid`, its arguments separated by spaces
/// (control characters escaped, so that a row stays one line); `[name]`
/// when it has none to show (a kernel thread, a zombie), or `?` when it is
/// gone or cannot be read.
pub fn command_line(pid: u32) -> String {
    if let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) {
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|arg| !arg.is_empty())
            .map(|arg| escape_controls(&String::from_utf8_lossy(arg)))
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

/// `text` with its control characters (a newline in a `python -c`
/// script) written as escapes.
fn escape_controls(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("a\nb\tc é"), "a\\nb\\tc é");
    }

    #[test]
    fn this_process_has_a_command_line() {
        let line = command_line(std::process::id());
        let exe = std::env::args().next().unwrap();
        assert!(line.starts_with(&exe), "{line:?} vs {exe:?}");
        assert_eq!(command_line(u32::MAX), "?");
    }
}
