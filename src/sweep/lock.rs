//! An exclusive lock on a sweep folder: `.lock`, created only if absent,
//! holding the process id of its holder and removed when the holder is done.
//! A lock whose process is gone (a killed sweep) is taken over.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// The lock file's name inside a locked folder.
pub const LOCK_FILE: &str = ".lock";

/// Held while a sweep or a merge writes into a folder.
#[derive(Debug)]
pub struct FolderLock {
    path: PathBuf,
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Whether process `pid` exists. Where that cannot be known (no `/proc`),
/// it is assumed alive: the message then says how to remove the lock.
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        // Not us: we do not hold it yet, so an old process had our id.
        return false;
    }
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// Locks `dir` (which exists) for this process, or says who holds it.
pub fn lock(dir: &Path) -> Result<FolderLock, Error> {
    let path = dir.join(LOCK_FILE);
    for _ in 0..3 {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                let lock = FolderLock { path: path.clone() };
                writeln!(f, "{}", std::process::id())
                    .and_then(|()| f.sync_all())
                    .map_err(Error::io(&path))?;
                return Ok(lock);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(&path).unwrap_or_default();
                match text.trim().parse::<u32>() {
                    Ok(pid) if alive(pid) => {
                        return Err(Error::Locked(format!(
                            "{}: another sweep or merge (process {pid}) is writing into this folder; wait for it to end or choose another --out (if no such process runs, remove {})",
                            dir.display(),
                            path.display()
                        )));
                    }
                    Ok(_) => {
                        // Its holder is gone: the lock is stale.
                        let _ = fs::remove_file(&path);
                    }
                    Err(_) => {
                        // Being written this instant, or left half-written.
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        let again = fs::read_to_string(&path).unwrap_or_default();
                        if again.trim().parse::<u32>().is_err() && path.exists() {
                            return Err(Error::Locked(format!(
                                "{}: locked by {}, which names no process; if no sweep runs here, remove it",
                                dir.display(),
                                path.display()
                            )));
                        }
                    }
                }
            }
            Err(e) => return Err(Error::io(&path)(e)),
        }
    }
    Err(Error::Locked(format!(
        "{}: could not take the lock {}; another sweep keeps taking it",
        dir.display(),
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_refuses_and_a_stale_one_is_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let first = lock(tmp.path()).unwrap();
        assert_eq!(
            fs::read_to_string(tmp.path().join(LOCK_FILE)).unwrap(),
            format!("{}\n", std::process::id())
        );
        // Our own id in the lock means an old process had it: taken over.
        let second = lock(tmp.path()).unwrap();
        drop(first);
        drop(second);
        assert!(!tmp.path().join(LOCK_FILE).exists());
        // A live process (pid 1 always exists) holds it: refused.
        fs::write(tmp.path().join(LOCK_FILE), "1\n").unwrap();
        let e = lock(tmp.path()).unwrap_err();
        assert!(e.to_string().contains("process 1"), "{e}");
        // A dead one: taken over (pids above the kernel's maximum never exist).
        fs::write(tmp.path().join(LOCK_FILE), "4294967295\n").unwrap();
        lock(tmp.path()).unwrap();
    }
}
