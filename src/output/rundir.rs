//! A run folder built beside its target and moved into place whole.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Tells apart the temporary folders of one process (sweep runs in threads).
static NEXT: AtomicU64 = AtomicU64::new(0);

/// What a run folder may hold: an existing folder with anything else in it
/// is not replaced (it is someone's folder, not an old run).
fn is_run_file(name: &str) -> bool {
    const TABLES: &[&str] = &[
        "summary.csv",
        "timeseries.csv",
        "dcs.csv",
        "streams.csv",
        "failures.csv",
        "latency.csv",
        "perf.csv",
        "report.md",
        "scenario.toml",
        "expectations.csv",
    ];
    // Hidden: a temporary file of an interrupted write; images: plots.
    name.starts_with('.')
        || TABLES.contains(&name)
        || name.ends_with(".svg")
        || name.ends_with(".png")
}

/// A fresh temporary folder `.<name>.tmp-<pid>-<n>` beside `target`.
/// [`RunDir::commit`] moves it into place, replacing the previous run;
/// dropped without a commit (an error on the way), it is removed, leaving
/// `target` as it was.
pub struct RunDir {
    target: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl RunDir {
    pub fn create(target: &Path) -> io::Result<RunDir> {
        let (parent, name) = split(target)?;
        recover(&parent, &name, target)?;
        if target.exists() {
            check_replaceable(target)?;
        }
        fs::create_dir_all(&parent)?;
        let tag = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = parent.join(format!(".{name}.tmp-{tag}"));
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir(&tmp)?;
        Ok(RunDir {
            target: target.to_path_buf(),
            tmp,
            committed: false,
        })
    }

    /// Where the run's files go until the commit.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Moves the complete run into place: the previous run (if any) is set
    /// aside, the new one renamed in, the previous one removed. A failed
    /// rename puts the previous run back.
    pub fn commit(mut self) -> io::Result<()> {
        let (parent, name) = split(&self.target)?;
        let old = parent.join(format!(
            ".{name}.old-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let had_old = match fs::rename(&self.target, &old) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        if let Err(e) = fs::rename(&self.tmp, &self.target) {
            if had_old {
                let _ = fs::rename(&old, &self.target);
            }
            return Err(e);
        }
        self.committed = true;
        if had_old {
            // The new run is in place: a previous run that cannot be
            // removed now is removed by the next run into this folder.
            let _ = fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// The folder holding `target` and `target`'s own name.
fn split(target: &Path) -> io::Result<(PathBuf, String)> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: a run folder needs a name (not . or ..)",
                    target.display()
                ),
            )
        })?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

/// An existing target is replaced only if it holds nothing but run files.
fn check_replaceable(target: &Path) -> io::Result<()> {
    let not_a_run = |what: String| {
        io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and {what}: it is not a run folder, and a run replaces its folder whole; choose another --out",
                target.display()
            ),
        )
    };
    if !target.is_dir() {
        return Err(not_a_run("is not a folder".to_string()));
    }
    for e in fs::read_dir(target)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type()?.is_dir() || !is_run_file(&name) {
            return Err(not_a_run(format!("holds {name}")));
        }
    }
    Ok(())
}

/// Cleans up after a process that died while writing `name` (killed, or
/// out of memory): its temporary folder goes; a previous run it had set
/// aside comes back if nothing replaced it. Only folders of processes that
/// no longer run are touched (Linux: `/proc/<pid>`; elsewhere nothing).
fn recover(parent: &Path, name: &str, target: &Path) -> io::Result<()> {
    if !Path::new("/proc/self").exists() {
        return Ok(());
    }
    let Ok(entries) = fs::read_dir(parent) else {
        return Ok(());
    };
    let me = std::process::id().to_string();
    let tmp = format!(".{name}.tmp-");
    let old = format!(".{name}.old-");
    for e in entries {
        let e = e?;
        let file = e.file_name().to_string_lossy().into_owned();
        let Some((rest, set_aside)) = file
            .strip_prefix(&tmp)
            .map(|r| (r, false))
            .or_else(|| file.strip_prefix(&old).map(|r| (r, true)))
        else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if pid.is_empty()
            || pid == me
            || !pid.bytes().all(|b| b.is_ascii_digit())
            || Path::new("/proc").join(pid).exists()
        {
            continue;
        }
        if set_aside && !target.exists() {
            fs::rename(e.path(), target)?;
        } else {
            fs::remove_dir_all(e.path())?;
        }
    }
    Ok(())
}
