//! What the system says about other processes: whether one exists, its
//! state and start time, what it maps, which boot this is. Used to judge
//! whether a lock holder lives.
//!
//! Every query returns an error rather than a guess when the system does not
//! answer; the caller decides what not knowing means.

use std::io;

use nix::errno::Errno;

/// Whether a process with this pid exists (a zombie counts). `kill(pid, 0)`
/// sends nothing; EPERM means it exists but is not ours to signal.
#[cfg_attr(loom, allow(dead_code))] // liveness is the model's under loom
pub(crate) fn exists(pid: i32) -> bool {
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        Err(_) => true,
    }
}

/// The fields of `/proc/<pid>/stat` that liveness needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    /// The state letter of the thread-group leader (`R`, `S`, `Z`, ...).
    pub state: u8,
    /// Threads in the group, a zombie leader included.
    pub threads: u64,
    /// Start time in clock ticks since boot, as this process's time
    /// namespace shows it.
    pub start_time: u64,
}

impl Stat {
    /// Every thread of the process has exited: a zombie (`Z`) with no other
    /// thread left, or a process being reaped (`X`). A zombie leader with
    /// live threads is a live process whose main thread ended.
    #[cfg_attr(loom, allow(dead_code))] // liveness is the model's under loom
    pub(crate) fn has_exited(&self) -> bool {
        self.state == b'X' || (self.state == b'Z' && self.threads <= 1)
    }
}

/// Reads `/proc/<pid>/stat`.
pub(crate) fn stat(pid: i32) -> io::Result<Stat> {
    let bytes = std::fs::read(format!("/proc/{pid}/stat"))?;
    parse_stat(&bytes).ok_or_else(|| invalid("/proc/<pid>/stat"))
}

/// Parses a `/proc/<pid>/stat` line. The command name (field 2) is any 1 to
/// 15 bytes (not necessarily UTF-8) in parentheses and may hold spaces or
/// parentheses itself: fields are counted from the last `)`.
pub(crate) fn parse_stat(bytes: &[u8]) -> Option<Stat> {
    let close = bytes.iter().rposition(|&b| b == b')')?;
    let mut fields = bytes[close + 1..]
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    // Field 3 is the state; field n is `fields.nth(n - 3)` from the start.
    let state = match fields.next()? {
        [state] => *state,
        _ => return None,
    };
    let threads = number(fields.nth(20 - 4)?)?;
    let start_time = number(fields.nth(22 - 21)?)?;
    Some(Stat {
        state,
        threads,
        start_time,
    })
}

fn number(field: &[u8]) -> Option<u64> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// This boot's random id, which differs after every reboot. An empty or
/// malformed file (`/dev/null` bind-mounted over it, say) is an error, not
/// an id.
pub(crate) fn boot_id() -> io::Result<[u8; 36]> {
    let bytes = std::fs::read("/proc/sys/kernel/random/boot_id")?;
    parse_boot_id(&bytes).ok_or_else(|| invalid("/proc/sys/kernel/random/boot_id"))
}

/// A boot id as the kernel prints it: a lowercase UUID, then a newline.
fn parse_boot_id(bytes: &[u8]) -> Option<[u8; 36]> {
    let id: [u8; 36] = bytes.trim_ascii_end().try_into().ok()?;
    let well_formed = id.iter().enumerate().all(|(i, &b)| match i {
        8 | 13 | 18 | 23 => b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    well_formed.then_some(id)
}

/// Whether this process lives in a time namespace whose boot-time clock is
/// offset from the machine's: then every start time it reads in `/proc` is
/// shifted by that offset, and means something else to other processes.
pub(crate) fn boot_clock_is_shifted() -> io::Result<bool> {
    match std::fs::read("/proc/self/timens_offsets") {
        Ok(bytes) => {
            parse_boot_clock_shifted(&bytes).ok_or_else(|| invalid("/proc/self/timens_offsets"))
        }
        // A kernel without time namespaces (before 5.6): nothing is shifted.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Parses `timens_offsets`: lines `<clock> <seconds> <nanoseconds>`.
fn parse_boot_clock_shifted(bytes: &[u8]) -> Option<bool> {
    for line in bytes.split(|&b| b == b'\n') {
        let mut words = line
            .split(u8::is_ascii_whitespace)
            .filter(|w| !w.is_empty());
        if words.next() == Some(b"boottime") {
            let secs: i64 = std::str::from_utf8(words.next()?).ok()?.parse().ok()?;
            let nanos: i64 = std::str::from_utf8(words.next()?).ok()?.parse().ok()?;
            return Some(secs != 0 || nanos != 0);
        }
    }
    Some(false)
}

/// Whether a process maps a given file, from its `/proc/<pid>/maps`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Maps {
    /// Mappings of this device and inode; `writable` if one of them may be
    /// written (a read-write handle's, `rw-s`).
    Object { writable: bool },
    /// No mapping of this device and inode, but one of the same inode
    /// number on another device: maybe the same file seen through another
    /// layer (overlayfs, btrfs subvolumes report devices inconsistently).
    SameInodeElsewhere,
    /// Mappings, none of this inode.
    Other,
    /// No mappings at all: the process has no memory map left (exiting, or
    /// its leader thread exited and `/proc/<pid>/maps` shows nothing).
    Nothing,
}

/// What `/proc/<pid>/maps` says about the file with device `dev` (as
/// `stat` reports it, `st_dev`) and inode `ino`. Reading another user's
/// map fails with `EACCES` (it needs ptrace read access).
pub(crate) fn maps(pid: i32, dev: u64, ino: u64) -> io::Result<Maps> {
    let bytes = std::fs::read(format!("/proc/{pid}/maps"))?;
    scan_maps(&bytes, dev, ino).ok_or_else(|| invalid("/proc/<pid>/maps"))
}

/// Scans a maps listing: lines `start-end perms offset major:minor inode
/// [path]`, the device in hex, the inode in decimal. The path may hold any
/// bytes but no newline (the kernel escapes it), and is not looked at.
pub(crate) fn scan_maps(bytes: &[u8], dev: u64, ino: u64) -> Option<Maps> {
    let (major, minor) = split_device(dev);
    let mut found = Maps::Nothing;
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty()).skip(1);
        let writable = fields.next()?.get(1) == Some(&b'w');
        let mut fields = fields.skip(1);
        let device = fields.next()?;
        let inode = number(fields.next()?)?;
        let colon = device.iter().position(|&b| b == b':')?;
        let hex = |f: &[u8]| u64::from_str_radix(std::str::from_utf8(f).ok()?, 16).ok();
        let (line_major, line_minor) = (hex(&device[..colon])?, hex(&device[colon + 1..])?);
        if inode == ino && inode != 0 {
            if (line_major, line_minor) == (major, minor) {
                let before = matches!(found, Maps::Object { writable: true });
                found = Maps::Object {
                    writable: writable || before,
                };
            } else if !matches!(found, Maps::Object { .. }) {
                found = Maps::SameInodeElsewhere;
            }
        } else if found == Maps::Nothing {
            found = Maps::Other;
        }
    }
    Some(found)
}

/// The major and minor numbers of an `st_dev`, decoded as glibc's `major`
/// and `minor` do (the kernel prints the same numbers in maps).
fn split_device(dev: u64) -> (u64, u64) {
    let major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff);
    let minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff);
    (major, minor)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("unexpected {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stat line from a real process, with the command name replaced.
    fn stat_line(name: &[u8], state: u8, threads: u64, start: u64) -> Vec<u8> {
        let mut line = b"4242 (".to_vec();
        line.extend_from_slice(name);
        line.extend_from_slice(
            format!(
                ") {} 1 4242 4242 0 -1 4194560 97 0 0 0 0 0 0 0 20 0 {threads} 0 {start} \
                 2449408 385 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 \
                 0 0 0 0 0 0 0 0\n",
                state as char
            )
            .as_bytes(),
        );
        line
    }

    #[test]
    fn stat_lines_parse_whatever_the_command_name() {
        for name in [
            &b"sleep"[..],
            b"a b) c (d",
            b")",
            b"hold) \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3",
            b"\xff\xfe",
        ] {
            assert_eq!(
                parse_stat(&stat_line(name, b'S', 3, 123_456)),
                Some(Stat {
                    state: b'S',
                    threads: 3,
                    start_time: 123_456
                }),
                "{name:?}"
            );
        }
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"1 (x) S 1 2"), None);
    }

    #[test]
    fn this_process_has_a_stat() {
        let me = stat(std::process::id() as i32).unwrap();
        assert!(me.threads >= 1 && !me.has_exited(), "{me:?}");
    }

    #[test]
    fn zombies_have_exited_only_with_no_thread_left() {
        let stat = |state, threads| Stat {
            state,
            threads,
            start_time: 1,
        };
        assert!(stat(b'Z', 1).has_exited());
        assert!(stat(b'X', 1).has_exited());
        assert!(!stat(b'Z', 2).has_exited(), "its main thread ended, not it");
        assert!(!stat(b'S', 1).has_exited());
        assert!(!stat(b'D', 1).has_exited());
    }

    #[test]
    fn boot_ids_must_be_well_formed() {
        let good = b"4572c6a4-7c59-46ee-9a36-c23988fb92fd\n";
        assert_eq!(
            parse_boot_id(good).map(|id| id.to_vec()),
            Some(good[..36].to_vec())
        );
        for bad in [
            &b""[..],
            b"\n",
            b"4572c6a4-7c59-46ee-9a36-c23988fb92f\n",
            b"4572c6a4x7c59-46ee-9a36-c23988fb92fd\n",
            b"4572c6a4-7c59-46ee-9a36-c23988fb92fdd",
        ] {
            assert_eq!(parse_boot_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn time_namespace_offsets() {
        let root = b"monotonic           0         0\nboottime            0         0\n";
        let shifted = b"monotonic           0         0\nboottime       100000         0\n";
        let nanos = b"monotonic 5 0\nboottime 0 1\n";
        assert_eq!(parse_boot_clock_shifted(root), Some(false));
        assert_eq!(parse_boot_clock_shifted(shifted), Some(true));
        assert_eq!(parse_boot_clock_shifted(nanos), Some(true));
        assert_eq!(parse_boot_clock_shifted(b"boottime x 0\n"), None);
    }

    #[test]
    fn maps_lines_match_device_and_inode() {
        // st_dev of 0:45 and of 259:2 (a major over 255) as glibc encodes them.
        let (tmpfs, nvme) = (0x2d, (259 << 8) | 2);
        let maps = b"55d0c0a00000-55d0c0a02000 r--p 00000000 103:02 1835023    /usr/bin/cat\n\
            7f1c2a000000-7f1c2a001000 rw-s 00000000 00:2d 1042      /dev/shm/a b (deleted)\n\
            7ffd8e3f0000-7ffd8e411000 rw-p 00000000 00:00 0          [stack]\n";
        assert_eq!(
            scan_maps(maps, tmpfs, 1042),
            Some(Maps::Object { writable: true })
        );
        assert_eq!(
            scan_maps(maps, nvme, 1835023),
            Some(Maps::Object { writable: false })
        );
        assert_eq!(scan_maps(maps, tmpfs, 1043), Some(Maps::Other));
        assert_eq!(scan_maps(maps, nvme, 1042), Some(Maps::SameInodeElsewhere));
        assert_eq!(
            scan_maps(maps, 0, 0),
            Some(Maps::Other),
            "inode 0 is no file"
        );
        assert_eq!(scan_maps(b"", tmpfs, 1042), Some(Maps::Nothing));
        // A read-only mapping and a writable one of the same object.
        let both = b"7f00-7f01 r--s 00000000 00:2d 1042 /dev/shm/a\n\
            7f02-7f03 rw-s 00000000 00:2d 1042 /dev/shm/a\n\
            7f04-7f05 r--s 00000000 00:2d 1042 /dev/shm/a\n";
        assert_eq!(
            scan_maps(both, tmpfs, 1042),
            Some(Maps::Object { writable: true })
        );
        assert_eq!(scan_maps(b"garbage\n", tmpfs, 1042), None);
    }

    #[test]
    fn large_device_numbers_split_as_glibc_does() {
        // makedev(0x12345, 0x6789a) by glibc's formula.
        let (major, minor) = (0x12345u64, 0x6789au64);
        let dev = ((major & 0xffff_f000) << 32)
            | ((major & 0xfff) << 8)
            | ((minor & 0xffff_ff00) << 12)
            | (minor & 0xff);
        assert_eq!(split_device(dev), (major, minor));
    }

    #[test]
    fn this_process_maps_its_own_executable() {
        let exe = std::fs::metadata("/proc/self/exe").unwrap();
        use std::os::unix::fs::MetadataExt;
        let pid = std::process::id() as i32;
        assert!(matches!(
            maps(pid, exe.dev(), exe.ino()).unwrap(),
            Maps::Object { .. }
        ));
    }
}
