//! What a command fails with, and how it ends the process: one line on
//! standard error and exit status 1; a closed pipe on standard output ends
//! quietly.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

/// A command's failure.
#[derive(Debug)]
pub enum Error {
    /// From the library; its message names the region and what is wrong.
    Shm(shm_runtime::Error),
    /// Writing to standard output failed.
    Output(io::Error),
    /// Anything else, said in full.
    Message(String),
    /// The command has already said what went wrong (on standard error, or
    /// in its report): only the exit status is left.
    Reported,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shm(e) => write!(f, "{e}"),
            Error::Output(e) => write!(f, "writing to standard output failed: {e}"),
            Error::Message(message) => f.write_str(message),
            Error::Reported => f.write_str("failed"),
        }
    }
}

impl From<shm_runtime::Error> for Error {
    fn from(e: shm_runtime::Error) -> Error {
        Error::Shm(e)
    }
}

/// Output is the only I/O that `?` converts: any other I/O error is given
/// its context where it happens.
impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Output(e)
    }
}

/// Says `shm: <message>` on standard error, for a command that goes on
/// after a problem with one of its arguments.
pub fn report(error: &Error) {
    // Nothing is left to tell if standard error is closed too.
    let _ = writeln!(io::stderr(), "shm: {error}");
}

/// The process's exit status for a command's result, after saying what
/// went wrong.
pub fn exit_code(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `shm show x | head -1`: the reader has all it wanted.
        Err(Error::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Error::Reported) => ExitCode::FAILURE,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}
