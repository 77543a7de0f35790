//! How much memory a run's fixed state takes, from the sizes the model
//! allocates: every key's record (its copies' values) and the index to it
//! (`storage`), each key's two acknowledgement marks (`world`), the lag
//! counts of every replication stream and DC (`metrics`), and the alias
//! tables of Zipf key popularity (`dist::alias`: 8 bytes per key up to 2^22
//! keys of a population; above, 512 KiB for its 2^16 most popular keys,
//! `dist::hybrid`). `scenario` refuses a scenario
//! whose state would not fit in the memory limit (`simulation.memory_limit`,
//! [`DEFAULT_LIMIT`] unless set).
//!
//! Storage and marks are made as keys are first written, so this is the
//! state once every key has been: a bound a run reaches only if its
//! workload writes them all. Not counted: the lineage counts of keys whose
//! values lost writes to conflicts (`storage`: 4 × DCs × DCs bytes each,
//! made only for those keys), the spilled value slots of keys whose copies
//! held more than 3 values at once (DCs − 3 slots of 12 + 4 × DCs bytes,
//! made only for those keys), and lag counts wider than [`LAG_WINDOW`] (a
//! stream whose lags spread over many powers of two).
//!
//! What traffic adds on top (requests in flight, replication backlogs,
//! the open buckets of the time series) grows with load and latency, not
//! with the shape, and is not counted: a healthy run keeps it to a few MB.
//! A backlog a dead or cut-off destination leaves is bounded, not counted
//! either: [`Footprint::backlog_bound`] per origin, from
//! `replication.compact_after` (see `model::replication`).

use std::mem::size_of;

use super::replication::Replication;
use super::storage::Storage;
use super::world::acks::AckedWrite;
use crate::metrics::{StreamLag, new_histogram, new_lag_histogram};

/// Bytes of one window of lag counts (`metrics::counts`) as counted here:
/// 512 counts of 8 bytes, lags spread over half a power of two (10 to 15
/// ms, say, at three significant digits); lags spread wider take 8 KiB
/// more per power of two they span.
pub const LAG_WINDOW: u64 = 4 << 10;

/// Bytes of a DC's recent lags (`metrics::Metrics::record_lag`).
const RECENT_LAGS: u64 = 16 << 10;

/// The limit when a scenario sets none: 16 GiB.
pub const DEFAULT_LIMIT: u64 = 16 << 30;

/// The program itself (code, the plotting font, allocator and buffers):
/// measured as the peak of a run with a handful of keys.
pub const BASE: u64 = 8 << 20;

/// A run's fixed state, in bytes, by part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// Every DC's copy of every key, and the index that finds a key's copies.
    pub storage: u64,
    /// Two acknowledgement marks per key (stale-read detection).
    pub acks: u64,
    /// Lag counts: two windows per stream (all of them used, at most),
    /// [`LAG_WINDOW`] each; per DC its recent lags (16 KiB); one window
    /// for a DC's sum; the run's lag histogram and the latency histograms.
    pub histograms: u64,
    /// Alias tables of Zipf key popularity ([`Footprint::with_tables`]).
    pub tables: u64,
}

impl Footprint {
    /// The state of a run of `n_dcs` DCs holding `keys` keys (users and
    /// global keys together).
    pub fn of(n_dcs: usize, keys: u64) -> Footprint {
        let n = n_dcs as u64;
        let per_key = Storage::index_bytes_per_key(keys) + Storage::record_bytes(n_dcs);
        let storage = keys.saturating_mul(per_key as u64);
        let acks = keys.saturating_mul(size_of::<[AckedWrite; 2]>() as u64);
        // Per stream a slot, and its counts of the bucket being filled and
        // of the run; per DC its recent lags; one window for a DC's sum;
        // the run's lag histogram and the latency histograms.
        let slot = size_of::<Option<StreamLag>>() as u64;
        let streams = n * n.saturating_sub(1) * 2 * LAG_WINDOW + n * n * slot;
        let per_dc = n * RECENT_LAGS + LAG_WINDOW;
        let histograms = streams
            + per_dc
            + histogram_bytes(&new_lag_histogram())
            + 3 * histogram_bytes(&new_histogram());
        Footprint {
            storage,
            acks,
            histograms,
            tables: 0,
        }
    }

    /// With `bytes` of key-popularity tables
    /// (`model::workload::popularity_table_bytes` of each population).
    pub fn with_tables(self, bytes: u64) -> Footprint {
        Footprint {
            tables: bytes,
            ..self
        }
    }

    /// The most one origin's log holds for streams that cannot deliver:
    /// `compact_after` entries, a quarter more while the next compaction
    /// waits, then one entry per key (of `keys`) once compacted; each entry
    /// [`Replication::entry_bytes`] of `n_dcs` DCs. Plus the blocks the
    /// log's queues hold beyond their entries, and the applied entries
    /// that wait for a trim ([`Replication::log_slack_entries`]).
    pub fn backlog_bound(n_dcs: usize, keys: u64, compact_after: u64) -> u64 {
        let entries = compact_after
            .saturating_add(compact_after / 4)
            .saturating_add(keys)
            .saturating_add(Replication::log_slack_entries());
        entries.saturating_mul(Replication::entry_bytes(n_dcs) as u64)
    }

    /// All of it, with the program's own [`BASE`].
    pub fn total(&self) -> u64 {
        BASE.saturating_add(self.storage)
            .saturating_add(self.acks)
            .saturating_add(self.histograms)
            .saturating_add(self.tables)
    }

    /// `Err` with the arithmetic when the state does not fit in `limit`;
    /// `what` names the keys and DCs (`"10 keys in each of 3 datacenters"`).
    pub fn check(&self, what: &str, n_dcs: usize, limit: u64) -> Result<(), String> {
        if self.total() <= limit {
            return Ok(());
        }
        Err(format!(
            "{what} need about {} of memory ({} of replicas: {} bytes per key; {} of acknowledgement marks; {} of lag counts and histograms; {} of key-popularity tables; {} for the program), above the limit of {}: choose fewer keys or datacenters, or raise simulation.memory_limit",
            size(self.total()),
            size(self.storage),
            Storage::record_bytes(n_dcs),
            size(self.acks),
            size(self.histograms),
            size(self.tables),
            size(BASE),
            size(limit),
        ))
    }
}

/// The bytes of a histogram's counts.
fn histogram_bytes(h: &hdrhistogram::Histogram<u64>) -> u64 {
    (h.distinct_values() * size_of::<u64>()) as u64
}

/// A byte count for people: `1.5 GiB`, `300.0 MiB`, `12 bytes`.
pub fn size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (unit, scale) in UNITS {
        if bytes >= scale {
            return format!("{:.1} {unit}", bytes as f64 / scale as f64);
        }
    }
    format!("{bytes} bytes")
}

/// Reads a memory size: a number of bytes, or a number with a unit
/// (`KiB`, `MiB`, `GiB`, `TiB`, or `KB`, `MB`, `GB`, `TB` in powers of
/// ten), such as `"8GiB"` or `"512 MiB"`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(t.len());
    let (num, unit) = (t[..split].replace('_', ""), t[split..].trim());
    let v: f64 = num
        .parse()
        .map_err(|_| format!("expected a size such as \"8GiB\", found \"{text}\""))?;
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "unknown unit \"{unit}\": expected B, KiB, MiB, GiB, TiB, KB, MB, GB or TB"
            ));
        }
    };
    let bytes = v * scale as f64;
    if !(1.0..1e19).contains(&bytes) {
        return Err(format!(
            "expected a size from 1 byte to below 10^19 bytes, found \"{text}\""
        ));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_print() {
        assert_eq!(parse_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("8 GB/s").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1GiB").is_err());
        assert_eq!(size(3 << 29), "1.5 GiB");
        assert_eq!(size(12), "12 bytes");
    }

    #[test]
    fn storage_grows_with_the_dcs() {
        // 8 bytes of block numbers, per DC 4 (own count) and a byte (slot
        // number, in whole words), 3 slots of 12 + 4 per DC; in debug
        // builds 4 × DCs × DCs more (the reorder check). At 50 DCs: 8 +
        // 200 + 52 + 3 × 212 = 896 bytes; at 3: 8 + 12 + 4 + 3 × 24 = 96;
        // at 2, two slots: 8 + 8 + 4 + 2 × 20 = 60.
        let debug = |n: usize| if cfg!(debug_assertions) { 4 * n * n } else { 0 };
        assert_eq!(Storage::record_bytes(50), 896 + debug(50));
        assert_eq!(Storage::record_bytes(3), 96 + debug(3));
        assert_eq!(Storage::record_bytes(2), 60 + debug(2));
        let f = Footprint::of(50, 1_000_000);
        // And per key the index: a 4-byte slot up to 2^20 keys, at worst
        // 32 bytes of hash table above.
        assert_eq!(f.storage, 1_000_000 * (896 + debug(50) as u64 + 4));
        let big = Footprint::of(3, 10_000_000);
        assert_eq!(big.storage, 10_000_000 * (96 + debug(3) as u64 + 32));
        assert_eq!(f.acks, 32_000_000);
        assert_eq!(f.tables, 0);
        let t = f.with_tables(800_000);
        assert_eq!(t.total(), f.total() + 800_000);
    }

    #[test]
    fn a_dead_destination_pins_a_bounded_backlog() {
        // A log entry: 56 bytes, then 8 per DC (its meta vector).
        assert_eq!(Replication::entry_bytes(3), 80);
        // 2^20 entries, 2^18 more, 100,000 keys: 1,410,720 entries; and
        // the unused parts of the first and last blocks of 64 entries,
        // and two spare blocks; fewer than 16 applied entries waiting
        // for a trim.
        assert_eq!(Replication::log_slack_entries(), 4 * 64 + 16);
        assert_eq!(
            Footprint::backlog_bound(3, 100_000, 1 << 20),
            (1_410_720 + 4 * 64 + 16) * 80
        );
    }
}
