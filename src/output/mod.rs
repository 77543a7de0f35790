//! Files a run leaves behind. A run is written into a fresh temporary
//! folder beside its target and moved into place whole ([`RunDir`]), so a
//! run folder holds one complete run or the previous one, never a mix; the
//! time series streams into it while the run goes ([`TimeseriesFile`]).
//! Other files (sweep tables, plots) are written to a temporary name and
//! renamed, so a reader sees each complete or not at all. The tables
//! themselves are defined once, in [`tables`].

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

mod carried;
pub mod expectations;
pub mod headline;
pub mod notes;
pub mod plot;
pub mod report;
mod rundir;
pub mod tables;

pub use rundir::RunDir;
pub use tables::{
    DATASETS_COLUMNS, DCS_COLUMNS, FAILURES_COLUMNS, LATENCY_COLUMNS, PERF_COLUMNS, Perf,
    STREAMS_COLUMNS, SUMMARY_COLUMNS, SeriesShape, TIMESERIES_COLUMNS, failure_rows, perf_row,
    summary_row,
};

use crate::metrics::{BucketRow, Outcome, SeriesSink};
use crate::scenario::Config;
pub use notes::RunNotes;

/// Writes CSV rows into `dir/name` through a temporary file and a rename.
pub fn write_csv(
    dir: &Path,
    name: &str,
    header: &[&str],
    rows: &[Vec<String>],
) -> std::io::Result<PathBuf> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).map_err(std::io::Error::other)?;
    for r in rows {
        w.write_record(r).map_err(std::io::Error::other)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    write_atomic(dir, name, &bytes)
}

/// Writes a table of typed rows into `dir/name` (header `columns`, which
/// is never left out, even with no rows), completely or not at all.
pub fn write_table<T: Serialize>(
    dir: &Path,
    name: &str,
    columns: &[&str],
    rows: &[T],
) -> std::io::Result<PathBuf> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    w.write_record(columns).map_err(std::io::Error::other)?;
    for r in rows {
        w.serialize(r).map_err(std::io::Error::other)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    write_atomic(dir, name, &bytes)
}

/// Writes `bytes` to `dir/name` completely or not at all.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, &path)?;
    Ok(path)
}

/// `timeseries.csv`, written as the buckets close.
pub struct TimeseriesFile {
    w: csv::Writer<fs::File>,
    shape: SeriesShape,
    error: Option<std::io::Error>,
}

impl TimeseriesFile {
    /// Creates `dir/timeseries.csv` for a run of `cfg` and writes its header.
    pub fn create(dir: &Path, cfg: &Config) -> std::io::Result<TimeseriesFile> {
        let shape = SeriesShape {
            dc_names: cfg.datacenters.iter().map(|d| d.name.clone()).collect(),
            servers: cfg.datacenters.iter().map(|d| d.servers).collect(),
            bucket_ns: cfg.bucket,
            // When the drain ends, as the world computes it.
            end_ns: crate::time::SimTime(cfg.duration).after(cfg.drain).ns(),
        };
        TimeseriesFile::with_shape(dir, shape)
    }

    fn with_shape(dir: &Path, shape: SeriesShape) -> std::io::Result<TimeseriesFile> {
        let f = fs::File::create(dir.join("timeseries.csv"))?;
        let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(f);
        w.write_record(TIMESERIES_COLUMNS)
            .map_err(std::io::Error::other)?;
        Ok(TimeseriesFile {
            w,
            shape,
            error: None,
        })
    }
}

impl SeriesSink for TimeseriesFile {
    fn bucket(&mut self, bucket: usize, rows: &[BucketRow]) {
        if self.error.is_some() {
            return;
        }
        for row in self.shape.rows(bucket, rows) {
            if let Err(e) = self.w.serialize(row) {
                self.error = Some(std::io::Error::other(e));
                return;
            }
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.w.flush()?;
        self.w.get_ref().sync_all()
    }
}

/// Writes the time series of an outcome that kept it in memory.
fn write_series(dir: &Path, o: &Outcome) -> std::io::Result<()> {
    let m = &o.metrics;
    let shape = SeriesShape {
        dc_names: o.dc_names.clone(),
        servers: o.servers.clone(),
        bucket_ns: m.bucket_ns,
        end_ns: o.end.ns(),
    };
    let mut file = TimeseriesFile::with_shape(dir, shape)?;
    for b in 0..m.n_buckets {
        file.bucket(b, &m.buckets[b * m.n_dcs..(b + 1) * m.n_dcs]);
    }
    file.finish()
}

/// Writes a run's files into `dir` (a run folder being built): the CSV
/// tables, the plots, `scenario.toml` and `report.md` (with the notes), and
/// `summary.csv` last, so that its
/// presence means the run folder is complete (a resumed sweep relies on it).
fn write_files(dir: &Path, o: &Outcome, cfg: &Config, notes: &RunNotes) -> std::io::Result<()> {
    if o.metrics.streamed() {
        o.metrics.series_result()?;
    } else {
        write_series(dir, o)?;
    }
    write_table(dir, "dcs.csv", DCS_COLUMNS, &tables::dc_rows(o))?;
    let datasets = tables::dataset_rows(o);
    if !datasets.is_empty() {
        write_table(dir, "datasets.csv", DATASETS_COLUMNS, &datasets)?;
    }
    write_table(dir, "streams.csv", STREAMS_COLUMNS, &tables::stream_rows(o))?;
    write_table(dir, "failures.csv", FAILURES_COLUMNS, &failure_rows(o))?;
    write_table(
        dir,
        "latency.csv",
        LATENCY_COLUMNS,
        &tables::latency_rows(o),
    )?;
    plot::plot_run(dir).map_err(|e| std::io::Error::other(format!("plotting failed: {e}")))?;
    if let Some(text) = &notes.scenario_toml {
        write_atomic(dir, "scenario.toml", text.as_bytes())?;
    }
    let summary = summary_row(o);
    expectations::write(dir, &expectations::judge_outcome(o, cfg))?;
    report::run_report(dir, cfg, &summary.cells(), &notes.markdown())?;
    write_table(dir, "summary.csv", SUMMARY_COLUMNS, &[summary])?;
    Ok(())
}

/// Writes the run folder `dir` of an outcome whole: into a temporary
/// folder beside it, moved into place when complete.
pub fn write_run(dir: &Path, o: &Outcome, cfg: &Config, notes: &RunNotes) -> std::io::Result<()> {
    let run = RunDir::create(dir)?;
    write_files(run.path(), o, cfg, notes)?;
    run.commit()
}

/// Whether a run folder gets a `perf.csv` (a sweep's runs do not: it would
/// differ between two sweeps of one plan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerfFile {
    Write,
    Omit,
}

/// Runs `cfg` and writes its run folder `out` whole. The time series
/// streams to disk during the run, so memory does not grow with simulated
/// duration. On error the previous content of `out`, if any, is untouched
/// and nothing of this run is left behind. `notes` says what the folder
/// tells beside its tables, from the finished outcome.
pub fn run_into(
    cfg: &Config,
    out: &Path,
    perf_file: PerfFile,
    notes: &dyn Fn(&Outcome) -> RunNotes,
    progress: &mut dyn FnMut(f64),
) -> std::io::Result<(Outcome, Perf, RunNotes)> {
    let run = RunDir::create(out)?;
    let series = TimeseriesFile::create(run.path(), cfg)?;
    let started = Instant::now();
    let outcome = crate::model::run_streaming(cfg, Some(Box::new(series)), progress);
    let perf = Perf {
        wall_s: started.elapsed().as_secs_f64(),
        peak_rss_mb: peak_rss_mb(),
    };
    let notes = notes(&outcome);
    write_files(run.path(), &outcome, cfg, &notes)?;
    if perf_file == PerfFile::Write {
        write_perf(run.path(), &outcome, &perf)?;
    }
    run.commit()?;
    Ok((outcome, perf, notes))
}

pub fn write_perf(dir: &Path, o: &Outcome, p: &Perf) -> std::io::Result<PathBuf> {
    write_table(dir, "perf.csv", PERF_COLUMNS, &[perf_row(o, p)])
}

/// Peak resident memory of this process (Linux), in MiB.
pub fn peak_rss_mb() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
