//! `merge`: sweep parts (same plan) joined into a new folder, exactly what
//! one machine would have written. The parts are only read.

use std::fs;
use std::path::{Path, PathBuf};

use super::{Done, Plan, check_same_plan, finish, lock, read_plan, write_plan};
use crate::error::Error;
use crate::output;

/// Where `merge` writes when no `--out` is given: `merged` beside the
/// first part (never a part itself).
pub fn default_out(parts: &[PathBuf]) -> PathBuf {
    parts
        .first()
        .and_then(|p| p.parent())
        .map_or_else(|| PathBuf::from("merged"), |d| d.join("merged"))
}

/// Checks that each part is a sweep folder, once per path.
fn check_part(p: &Path) -> Result<Plan, Error> {
    if !p.is_dir() {
        return Err(Error::BadInput(format!(
            "merge: {}: {}",
            p.display(),
            if p.exists() {
                "not a folder; merge joins the folders of a sharded sweep"
            } else {
                "no such folder"
            }
        )));
    }
    if !p.join("plan.toml").is_file() {
        return Err(Error::BadInput(format!(
            "merge: {}: not a sweep folder (it has no plan.toml)",
            p.display()
        )));
    }
    read_plan(p)
}

/// The same folder, whether or not both paths exist or are spelt alike.
fn same(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Joins sweep parts (same plan) into `out`: copies every run folder, then
/// writes the tables, plots and report one machine would have written.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<Done, Error> {
    let Some(first) = parts.first() else {
        return Err(Error::BadInput(
            "merge: name the sweep folders to join".into(),
        ));
    };
    let plan = check_part(first)?;
    plan.check()?;
    for p in &parts[1..] {
        if check_part(p)? != plan {
            return Err(Error::BadInput(format!(
                "merge: {}: its plan differs from {}'s: only parts of one sweep can be merged",
                p.display(),
                first.display()
            )));
        }
    }
    if let Some(p) = parts.iter().find(|p| same(p, out)) {
        return Err(Error::BadInput(format!(
            "merge: --out {} is one of the parts ({}); merge never changes its inputs: name a new folder",
            out.display(),
            p.display()
        )));
    }
    let total = plan.total() as u64;
    // Every run must be somewhere before anything is written.
    let mut missing = 0u64;
    let mut first_missing = None;
    for r in plan.runs() {
        let rel = plan.dir_of(&r);
        if !out.join(&rel).join("summary.csv").exists()
            && !parts
                .iter()
                .any(|p| p.join(&rel).join("summary.csv").exists())
        {
            missing += 1;
            first_missing.get_or_insert(rel);
        }
    }
    if let Some(rel) = first_missing {
        return Err(Error::BadInput(format!(
            "merge: {missing} of {total} runs are in none of the parts (the first: {}); run the missing shards",
            rel.display()
        )));
    }
    fs::create_dir_all(out).map_err(Error::io(out))?;
    let _lock = lock::lock(out)?;
    check_same_plan(out, &plan)?;
    write_plan(out, &plan)?;
    for r in plan.runs() {
        let rel = plan.dir_of(&r);
        let target = out.join(&rel);
        if target.join("summary.csv").exists() {
            continue;
        }
        if let Some(p) = parts
            .iter()
            .find(|p| p.join(&rel).join("summary.csv").exists())
        {
            copy_dir(&p.join(&rel), &target)?;
        }
    }
    finish(out, &plan)?;
    Ok(Done {
        total,
        ran: 0,
        skipped: total,
        warned: 0,
    })
}

/// Copies a run folder, `summary.csv` last (it marks the run as done).
fn copy_dir(from: &Path, to: &Path) -> Result<(), Error> {
    fs::create_dir_all(to).map_err(Error::io(to))?;
    let mut names: Vec<_> = fs::read_dir(from)
        .map_err(Error::io(from))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .filter(|n| !n.to_string_lossy().starts_with('.'))
        .collect();
    names.sort_by_key(|n| (n == "summary.csv", n.clone()));
    for name in names {
        let bytes = fs::read(from.join(&name)).map_err(Error::io(from))?;
        output::write_atomic(to, &name.to_string_lossy(), &bytes).map_err(Error::io(to))?;
    }
    Ok(())
}
