//! Errors by cause, and the exit status each cause maps to: bad input (a
//! scenario, a flag, a folder the user named that cannot serve) is the
//! user's to fix; anything else (a failed write, plot or thread pool) is not.

use crate::scenario::ScenarioError;

/// The exit statuses of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Done = 0,
    /// Anything but bad input: a write, a plot, a thread pool failed.
    Failed = 1,
    /// The scenario, a flag or a named folder is wrong; nothing was run.
    BadInput = 2,
    /// A run finished but did not meet the expectations it states (or a
    /// search found a schedule that breaks them).
    Unmet = 3,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// Why a command did not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario could not be found or is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// A flag, a plan or a named folder is wrong.
    #[error("{0}")]
    BadInput(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Drawing a plot failed.
    #[error("{path}: plotting failed: {message}")]
    Plot { path: String, message: String },
    /// The worker threads could not be started.
    #[error("cannot start {jobs} worker threads: {message}")]
    ThreadPool { jobs: usize, message: String },
    /// Another process holds the folder.
    #[error("{0}")]
    Locked(String),
    /// The run (or a search) finished, and an expectation was not met.
    #[error("{0}")]
    Unmet(String),
    /// Anything else that failed, described.
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn status(&self) -> ExitStatus {
        match self {
            Error::Scenario(_) | Error::BadInput(_) => ExitStatus::BadInput,
            Error::Io { .. }
            | Error::Plot { .. }
            | Error::ThreadPool { .. }
            | Error::Locked(_)
            | Error::Other(_) => ExitStatus::Failed,
            Error::Unmet(_) => ExitStatus::Unmet,
        }
    }

    /// An I/O error at `path`.
    pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
