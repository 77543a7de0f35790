//! Fuzzing by property tests: the scenario reader never panics, whatever
//! bytes it is given, and small valid scenarios of every shape run to the
//! end without a panic and leave a complete run folder.
//!
//! CI runs a short fixed-seed pass (`PROPTEST_RNG_SEED=20261125`, the case
//! counts below). A long run, for hours, with fresh seeds:
//!
//! ```sh
//! FUZZ_CASES=100000 PROPTEST_RNG_SEED=$RANDOM cargo test --release --test it fuzz:: -- --nocapture
//! ```
//!
//! A failure is shrunk and printed by proptest, and its seed kept in
//! `tests/it/fuzz.proptest-regressions` so later runs try it first.

use std::path::Path;

use multiactive::output::{self, PerfFile};
use multiactive::scenario::{self, DEFAULT_SCENARIO, SHIPPED};
use proptest::prelude::*;

/// Cases per property: `FUZZ_CASES`, or `default` (a few seconds in CI).
fn cases(default: u32) -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A shipped scenario with bytes overwritten, inserted and removed: text
/// close enough to valid that it gets past the TOML parser.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        0..SHIPPED.len(),
        prop::collection::vec((any::<u16>(), 0u8..3, any::<u8>()), 1..8),
    )
        .prop_map(|(i, edits)| {
            let mut b = SHIPPED[i].1.as_bytes().to_vec();
            for (at, op, byte) in edits {
                let at = at as usize % (b.len() + 1);
                match op {
                    0 if at < b.len() => b[at] = byte,
                    1 => b.insert(at, byte),
                    _ if at < b.len() => {
                        b.remove(at);
                    }
                    _ => {}
                }
            }
            b
        })
}

/// Feeds `bytes` to the reader as a file, as text and as a `--set`.
fn read_all_ways(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fuzz.toml");
    std::fs::write(&file, bytes).unwrap();
    let _ = scenario::load_file(&file, &[]);
    let text = String::from_utf8_lossy(bytes);
    if let Err(e) = scenario::load_str("fuzz.toml", "fuzz", &text, &[]) {
        // Every message has something to say.
        assert!(!e.to_string().trim().is_empty());
    }
    let set = text.lines().next().unwrap_or("").to_string();
    let _ = scenario::load_str("default.toml", "default", DEFAULT_SCENARIO, &[set]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn the_reader_never_panics_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..400)
    ) {
        read_all_ways(&bytes);
    }

    #[test]
    fn the_reader_never_panics_on_mutated_scenarios(bytes in mutated()) {
        read_all_ways(&bytes);
    }
}

/// A small scenario: DCs in a chain (plus a shortcut), regions, and a
/// random choice of every mode, policy and fault kind.
#[derive(Debug, Clone)]
struct Small {
    dcs: usize,
    regions: usize,
    keys: u32,
    rate: u32,
    writes: f64,
    duration_ms: u32,
    bucket_ms: u32,
    servers: Option<u32>,
    sharding: (&'static str, &'static str),
    entry: &'static str,
    on_wrong_dc: &'static str,
    mode: &'static str,
    resolve: &'static str,
    procedure: &'static str,
    faults: Vec<(u8, usize, usize, u32, u32)>,
    seed: u64,
}

fn small() -> impl Strategy<Value = Small> {
    let choices = (
        prop::sample::select(vec![
            ("hash", "round_robin"),
            ("range", "round_robin"),
            ("geo", "by_region"),
        ]),
        prop::sample::select(vec!["nearest", "owner"]),
        prop::sample::select(vec!["forward", "serve_local", "reject"]),
        prop::sample::select(vec!["async", "semi_sync", "quorum", "sync"]),
        prop::sample::select(vec!["lww", "origin_priority"]),
        prop::sample::select(vec!["switch", "ban_then_switch"]),
    );
    (1usize..=4, 1usize..=3).prop_flat_map(move |(dcs, regions)| {
        (
            (
                Just(dcs),
                Just(regions),
                1u32..200,
                0u32..3000,
                0.0..=1.0f64,
            ),
            (1u32..1500, 1u32..700, prop::option::of(1u32..8)),
            choices.clone(),
            prop::collection::vec((0u8..7, 0..dcs, 0..dcs, 0u32..2000, 0u32..1500), 0..4),
            any::<u64>(),
        )
            .prop_map(|(w, t, c, faults, seed)| Small {
                dcs: w.0,
                regions: w.1,
                keys: w.2,
                rate: w.3,
                writes: w.4,
                duration_ms: t.0,
                bucket_ms: t.1,
                servers: t.2,
                sharding: c.0,
                entry: c.1,
                on_wrong_dc: c.2,
                mode: c.3,
                resolve: c.4,
                procedure: c.5,
                faults,
                seed,
            })
    })
}

fn text(s: &Small) -> String {
    let mut t = format!(
        "[simulation]\nduration = \"{}ms\"\ndrain = \"1s\"\nbucket = \"{}ms\"\nseed = {}\n\n",
        s.duration_ms, s.bucket_ms, s.seed
    );
    for d in 0..s.dcs {
        t += &format!(
            "[[datacenter]]\nname = \"dc{d}\"\nregion = \"r{}\"\n",
            d % s.regions
        );
        if let Some(n) = s.servers {
            t += &format!(
                "servers = {n}\nqueue = 20\nservice_time = {{ dist = \"exp\", mean = \"2ms\" }}\n"
            );
        }
        t += "\n";
    }
    for d in 1..s.dcs {
        t += &format!(
            "[[link]]\nbetween = [\"dc{}\", \"dc{d}\"]\nlatency = {{ dist = \"normal\", mean = \"{}ms\", sd = \"1ms\" }}\n\n",
            d - 1,
            3 * d
        );
    }
    if s.dcs > 2 {
        t += &format!(
            "[[link]]\nbetween = [\"dc0\", \"dc{}\"]\nlatency = \"9ms\"\n\n",
            s.dcs - 1
        );
    }
    for r in 0..s.regions {
        let lat: Vec<String> = (0..s.dcs)
            .map(|d| format!("dc{d} = \"{}ms\"", 1 + (r + d) % 4))
            .collect();
        t += &format!(
            "[[region]]\nname = \"r{r}\"\nusers = {}\nlatency = {{ {} }}\n\n",
            r + 1,
            lat.join(", ")
        );
    }
    t += &format!(
        "[workload]\nkeys = {}\nrate = {}\nwrites = {}\nglobal = 0.1\nglobal_keys = 5\n\n",
        s.keys, s.rate, s.writes
    );
    t += &format!(
        "[sharding]\nkey = \"{}\"\nplacement = \"{}\"\nshards = {}\n\n",
        s.sharding.0,
        s.sharding.1,
        s.regions.max(4)
    );
    t += &format!(
        "[routing]\nentry = \"{}\"\non_wrong_dc = \"{}\"\n\n[replication]\nmode = \"{}\"\nresolve = \"{}\"\nack_timeout = \"200ms\"\n\n",
        s.entry, s.on_wrong_dc, s.mode, s.resolve
    );
    t += &format!(
        "[failover]\ndetect_after = \"200ms\"\ndecide_after = \"50ms\"\nprocedure = \"{}\"\nmax_ban = \"300ms\"\nfailback = true\n",
        s.procedure
    );
    for &(kind, a, b, at, len) in &s.faults {
        let b = if a == b { (b + 1) % s.dcs } else { b };
        if a == b && kind != 0 && kind != 5 {
            continue; // one DC: only faults of a single DC apply
        }
        let (da, db) = (format!("dc{a}"), format!("dc{b}"));
        let body = match kind {
            0 => format!("kind = \"dc_down\"\ndc = \"{da}\""),
            1 => format!("kind = \"link_down\"\nbetween = [\"{da}\", \"{db}\"]"),
            2 => format!("kind = \"partition\"\ngroups = [[\"{da}\"], [\"{db}\"]]"),
            3 => format!(
                "kind = \"slow_link\"\nbetween = [\"{da}\", \"{db}\"]\nfactor = {}",
                1 + len % 20
            ),
            4 => format!("kind = \"replication_stall\"\nfrom = \"{da}\"\nto = \"{db}\""),
            5 => format!(
                "kind = \"clock_jump\"\ndc = \"{da}\"\nby = \"{}ms\"",
                len as i64 - 700
            ),
            _ => format!("kind = \"switchover\"\nshards = \"0\"\nto = \"{db}\""),
        };
        let dur = if kind == 5 || kind == 6 {
            String::new()
        } else {
            format!("for = \"{}ms\"\n", len.max(1))
        };
        t += &format!("\n[[fault]]\n{body}\nat = \"{at}ms\"\n{dur}");
    }
    t
}

fn assert_complete(dir: &Path) {
    for f in [
        "summary.csv",
        "timeseries.csv",
        "dcs.csv",
        "streams.csv",
        "failures.csv",
        "latency.csv",
        "report.md",
        "timeline.svg",
        "timeline.png",
        "latency.svg",
        "latency.png",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let names: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "leftovers beside the run: {names:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(24)))]

    #[test]
    fn small_valid_scenarios_run_to_a_complete_folder(s in small()) {
        let text = text(&s);
        let cfg = match scenario::load_str("small.toml", "small", &text, &[]) {
            Ok(c) => c,
            // The generator aims at valid scenarios; what the reader
            // refuses (a fault after the end, say) must say why.
            Err(e) => {
                prop_assert!(!e.to_string().is_empty());
                return Ok(());
            }
        };
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("run");
        let (o, _, _) = output::run_into(&cfg, &out, PerfFile::Write, &|_| Default::default(), &mut |_| {}).unwrap();
        let t = o.metrics.totals;
        prop_assert_eq!(t.requests, t.ok + t.failed + t.rejected);
        assert_complete(&out);
        let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
        let expected = format!("small,{},{},", s.seed, t.requests);
        prop_assert!(summary.contains(&expected), "{}", summary);
    }
}
