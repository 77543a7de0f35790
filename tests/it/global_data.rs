//! Global datasets (`[[dataset]]` with `sharding = "global"`): one writer
//! DC whatever the entry, reads at the writer or local, their own conflict
//! rule, and the writer moved off a dead DC like a shard.

use crate::common;

use multiactive::run;

/// `common::Sites::THREE` (b is a's nearest); unlimited servers, no
/// service time; 6,000 requests a second and `workload`; 100 hash shards
/// dealt round-robin (a owns 34); a dead DC is detected after 1 s and
/// switched; then `rest`.
fn three(workload: &str, rest: &str) -> String {
    let rest = format!(
        "[workload]\nrate = 6000\n{workload}\n\n[sharding]\nshards = 100\n\n\
         [failover]\ndetect_after = \"1s\"\nprocedure = \"switch\"\n\n{rest}\n"
    );
    common::Sites {
        rest: &rest,
        ..common::Sites::THREE
    }
    .text()
}

const A_DIES: &str = "[[fault]]\nkind = \"dc_down\"\ndc = \"a\"\nat = \"5s\"\n";

#[test]
fn one_writer_never_conflicts_where_serve_local_does() {
    // Every request writes, from any region (locality 0), asynchronously.
    // `stock` is global (50 keys, written at b only): every write is
    // forwarded to b, so no two DCs ever write one key: no conflict. `orders`
    // holds as many keys, one per user, served where the write enters
    // (serve_local, no guard): the same key is written at two DCs within
    // the replication delay, and conflicts.
    let classes = "[routing]\non_wrong_dc = \"serve_local\"\nwrite_guard = false\n\n\
                   [[dataset]]\nname = \"stock\"\nshare = 0.5\nsharding = \"global\"\nkeys = 50\nwriter = \"b\"\n\n\
                   [[dataset]]\nname = \"orders\"\nshare = 0.5\n";
    let o = run(&common::config(
        &three("keys = 50\nwrites = 1\nlocality = 0", classes),
        &[],
    ));
    let m = &o.metrics;
    assert_eq!(m.dataset_names, ["stock", "orders"]);
    let (stock, orders) = (&m.datasets[0], &m.datasets[1]);
    assert!(stock.requests > 20_000, "{stock:?}");
    assert_eq!(stock.conflicts, 0, "one writer: no conflicts");
    assert!(orders.conflicts > 100, "{orders:?}");
    assert_eq!(m.totals.divergent_keys, 0);
    common::assert_datasets_add_up(m);
}

#[test]
fn a_global_write_crosses_to_its_writer_and_back() {
    // Every request writes the global dataset, whose writer is c. Constant
    // latencies, no service time: a write from ra enters at a and takes
    // 2·1 + 2·30 = 62 ms; from rb, 2·1 + 2·20 = 42 ms; from rc, served at
    // its entry, 2 ms. A third of the writes each.
    let class =
        "[[dataset]]\nname = \"config\"\nshare = 1\nsharding = \"global\"\nwriter = \"c\"\n";
    let o = run(&common::config(
        &three("keys = 3000\nwrites = 1", class),
        &[],
    ));
    let h = &o.metrics.latency[1];
    let n = h.len() as f64;
    let at = |ms: u64| h.count_between(ms * 1_000_000 - 10_000, ms * 1_000_000 + 10_000) as f64;
    assert_eq!(
        at(62) + at(42) + at(2),
        n,
        "every write takes one of the three"
    );
    for ms in [62, 42, 2] {
        assert!(
            (at(ms) / n - 1.0 / 3.0).abs() < 0.02,
            "{ms} ms: {}",
            at(ms) / n
        );
    }
    let t = o.metrics.totals;
    assert_eq!(t.conflicts, 0);
    assert_eq!(t.misrouted, 0);
    assert_eq!(o.metrics.dcs[2].served as f64, n, "c serves every write");
}

#[test]
fn local_reads_of_a_global_dataset_are_stale_as_the_lag_implies() {
    // One global key written at a only, by half the requests (Poisson at
    // λ = 40 × 0.5 = 20/s), read locally by the other half. A read at b at
    // time t misses the newest acknowledged write iff one was acknowledged
    // at a in (t − d, t], d = 10 ms: P = 1 − e^{−λd} = 1 − e^{−0.2} = 0.1813.
    // About 30,000 reads at b; tolerance 5%. Without `reads = "local"` the
    // reads cross to a and none is stale.
    let class = "writes = 0.5\n[[dataset]]\nname = \"rate_card\"\nshare = 1\nsharding = \"global\"\n\
                 keys = 1\nwriter = \"a\"\nreads = \"local\"\n";
    let o = run(&common::config(
        &common::pair("10ms", 40.0, "3000s", class),
        &[],
    ));
    let (a, b) = (&o.metrics.dcs[0], &o.metrics.dcs[1]);
    assert_eq!(a.stale_reads, 0, "the writer's reads are never stale");
    let p = b.stale_reads as f64 / b.reads as f64;
    let want = 1.0 - (-0.2f64).exp();
    eprintln!(
        "stale at b: {p:.4} (closed form {want:.4}, {} reads)",
        b.reads
    );
    assert!((p / want - 1.0).abs() < 0.05, "stale {p:.4} vs {want:.4}");
    let t = o.metrics.totals;
    assert_eq!((t.conflicts, t.lost_writes, t.divergent_keys), (0, 0, 0));
    let owner = class.replace("reads = \"local\"\n", "");
    let o = run(&common::config(
        &common::pair("10ms", 40.0, "300s", &owner),
        &[],
    ));
    assert_eq!(o.metrics.totals.stale_reads, 0);
    assert!(o.metrics.totals.forwarded > 2_000);
}

#[test]
fn a_global_sync_dataset_loses_nothing_beside_an_async_sharded_one() {
    // a dies for good at 5 s, b (its nearest) takes over. `balance` is
    // global, written at a, synchronously: none of its acknowledged writes
    // is lost although its writer died. `orders` is sharded, asynchronous:
    // the writes of a's 34 shards in a's last 20 ms (the lag to b; c's is
    // longer, so they are nowhere else) are lost: λ·d, λ = 6000 × 0.5 ×
    // 0.34 = 1020/s, d = 20 ms: 20.4 a run. 30 seeds; tolerance 10%.
    let classes = format!(
        "{A_DIES}\n[[dataset]]\nname = \"balance\"\nshare = 0.5\nsharding = \"global\"\n\
         keys = 1000\nwriter = \"a\"\nmode = \"sync\"\n\n\
         [[dataset]]\nname = \"orders\"\nshare = 0.5\nmode = \"async\"\n"
    );
    let text = three("keys = 30000\nwrites = 1", &classes);
    let (mut got, mut want) = (0.0, 0.0);
    for seed in 0..30 {
        let o = run(&common::config(
            &text,
            &[&format!("simulation.seed={seed}")],
        ));
        let m = &o.metrics;
        let (balance, orders) = (&m.datasets[0], &m.datasets[1]);
        assert_eq!(balance.lost_writes, 0, "seed {seed}: a sync write was lost");
        assert!(balance.ok > 10_000, "seed {seed}: {balance:?}");
        assert_eq!(m.failures[0].moved_to.map(|d| d.0), Some(1));
        got += orders.lost_writes as f64;
        want += 6000.0 * 0.5 * 0.34 * 0.020;
        common::assert_datasets_add_up(m);
    }
    eprintln!(
        "orders: mean lost {:.2}, λ·d {:.2}",
        got / 30.0,
        want / 30.0
    );
    assert!((got / want - 1.0).abs() < 0.10, "lost {got} vs λ·d {want}");
}

#[test]
fn a_dead_writer_moves_with_the_failover_and_loses_its_lag() {
    // Every request writes one global dataset written at a, asynchronously
    // (λ = 6000/s, all at a). a dies at 5 s; the controller notices at 6 s
    // and moves the dataset to b. Its writes fail meanwhile (forwarded to a
    // dead DC, or entering there) and succeed at b at once after the
    // switch: RTO ≈ 1 s (+ b's 1 ms). RPO: what a acknowledged in its last
    // 20 ms (the lag to b): λ·d = 120 a run; 10 seeds, tolerance 10%.
    let class = format!(
        "{A_DIES}\n[[dataset]]\nname = \"ledger\"\nshare = 1\nsharding = \"global\"\nwriter = \"a\"\n"
    );
    let text = three("keys = 30000\nwrites = 1", &class);
    let (mut rpo, mut want) = (0.0, 0.0);
    for seed in 0..10 {
        let o = run(&common::config(
            &text,
            &[&format!("simulation.seed={seed}")],
        ));
        let m = &o.metrics;
        let f = &m.failures[0];
        assert_eq!(f.moved_to.map(|d| d.0), Some(1), "seed {seed}");
        // a's 34 shards and `workload.global`'s dataset (a writes it too;
        // no requests: left out), and the ledger.
        assert_eq!(f.units.len(), 36);
        let (rto, left_out, unrecovered) = f.rto();
        assert_eq!((left_out, unrecovered), (35, 0));
        let rto = rto.expect("the dataset recovered") as f64 / 1e9;
        assert!((1.0..1.01).contains(&rto), "seed {seed}: rto {rto} s");
        // The second without a writer: its writes failed, and those on
        // their way to a when it died: a write reaches a after 1 ms from
        // a's users, 1 + 20 ms from b's, 1 + 30 ms from c's (a third each;
        // service takes 0), 17.67 ms on average. λ·(RTO + 17.67 ms) ≈ 6,106
        // (the mean of 40 seeds was 6,117 when written); the Poisson sd is
        // 78, so 5% is about 4 of them.
        let failed = m.datasets[0].failed as f64;
        let expected = 6000.0 * (rto + (1.0 + 21.0 + 31.0) / 3.0 / 1000.0);
        assert!(
            (failed / expected - 1.0).abs() < 0.05,
            "seed {seed}: {failed} vs {expected:.0}"
        );
        rpo += f.rpo_writes as f64;
        want += 6000.0 * 0.020;
        common::assert_datasets_add_up(m);
    }
    eprintln!("rpo: mean {:.1} writes, λ·d {:.1}", rpo / 10.0, want / 10.0);
    assert!((rpo / want - 1.0).abs() < 0.10, "rpo {rpo} vs λ·d {want}");
    // Without the controller, nobody moves the writer: it never recovers.
    let o = run(&common::config(&text, &["failover.auto=false"]));
    let (rto, _, unrecovered) = o.metrics.failures[0].rto();
    assert_eq!((rto, unrecovered), (None, 1));
}

#[test]
fn a_dataset_resolves_its_conflicts_by_its_own_rule() {
    // The hand-computed conflict of `replication`: a writes key 0 at 0 ms
    // (ts 0), b at 5 ms (ts 5 ms); each reaches the other 10 ms later. Then
    // b reads key 0 at 500 ms. LWW keeps b's write: the read is fresh.
    // The dataset's own `origin_priority` (a listed first) keeps a's:
    // the read misses b's acknowledged write, stale, under the scenario's LWW.
    let requests = "\n[[request]]\nat = \"0ms\"\nregion = \"ra\"\nkey = 0\nwrite = true\n\
                    \n[[request]]\nat = \"5ms\"\nregion = \"rb\"\nkey = 0\nwrite = true\n\
                    \n[[request]]\nat = \"500ms\"\nregion = \"rb\"\nkey = 0\n";
    let base = format!(
        "{}\n[routing]\non_wrong_dc = \"serve_local\"\nwrite_guard = false\n{requests}",
        common::pair("10ms", 0.0, "1s", "")
    );
    let stale = |class: &str| {
        let o = run(&common::config(&format!("{base}\n{class}"), &[]));
        let t = o.metrics.totals;
        assert_eq!((t.conflicts, t.lost_writes, t.divergent_keys), (2, 1, 0));
        assert_eq!(o.metrics.datasets[0].conflicts, 2);
        t.stale_reads
    };
    let orders = "[[dataset]]\nname = \"orders\"\nshare = 1\n";
    assert_eq!(stale(orders), 0);
    assert_eq!(
        stale(&format!("{orders}resolve = \"origin_priority\"\n")),
        1
    );
    // Two datasets, the scripted requests on the first: its rule decides.
    let two = format!(
        "{orders}share = 0.5\n[[dataset]]\nname = \"x\"\nshare = 0.5\nresolve = \"origin_priority\"\n"
    );
    assert_eq!(stale(&two.replacen("share = 1\n", "", 1)), 0);
}

#[test]
fn a_dead_writers_dataset_waits_for_its_data_leader() {
    // The ledger of the failover test, under quorum with a data-layer
    // election of 2 s: the controller moves it to b at 6 s, but b has no
    // data leader for it before 7 s; its writes there are refused
    // (`no_leader`) until then. RTO = max(1 s, 2 s) = 2 s, plus the first
    // write's quorum round trip to c (2 × 20 ms; a is dead) and its ≤ 1 ms
    // on the way in. With an election of 0.5 s the controller's path is the
    // later: 1 s + 40 ms.
    let class = format!(
        "{A_DIES}\n[replication]\nmode = \"quorum\"\nelection_timeout = \"2s\"\n\n\
         [[dataset]]\nname = \"ledger\"\nshare = 1\nsharding = \"global\"\nwriter = \"a\"\nmode = \"quorum\"\n"
    );
    let text = three("keys = 30000\nwrites = 1", &class);
    for (election, want) in [("2s", 2.0), ("500ms", 1.0)] {
        let o = run(&common::config(
            &text,
            &[&format!("replication.election_timeout={election}")],
        ));
        let m = &o.metrics;
        let rto = m.failures[0].rto().0.expect("recovered") as f64 / 1e9;
        let quorum = want + 0.040;
        assert!(
            (quorum..quorum + 0.002).contains(&rto),
            "{election}: rto {rto} s"
        );
        // Writes reaching b between the switch and the election: ~1 s of them.
        let refused = m.totals.no_leader as f64;
        let expect = (want - 1.0) * 6000.0;
        assert!(
            (refused - expect).abs() <= 0.05 * 6000.0,
            "{election}: {refused}"
        );
        if want == 1.0 {
            assert_eq!(refused, 0.0, "the leader was there before the switch");
        }
        assert_eq!(m.datasets[0].lost_writes, 0);
        common::assert_datasets_add_up(m);
    }
}

#[test]
fn a_returning_writer_takes_its_dataset_back() {
    // a dies at 5 s and returns at 6.5 s; the controller moved the ledger
    // (and a's shards, and `workload.global`'s dataset) to b at 6 s, and
    // with failback brings them home once it notices the return (7.5 s):
    // a second record, the failback, moves the same 36 units to a.
    let class = "[[fault]]\nkind = \"dc_down\"\ndc = \"a\"\nat = \"5s\"\nfor = \"1500ms\"\n\n\
                 [[dataset]]\nname = \"ledger\"\nshare = 1\nsharding = \"global\"\nwriter = \"a\"\n";
    let text = three("keys = 30000\nwrites = 1", class);
    let o = run(&common::config(&text, &["failover.failback=true"]));
    let f = &o.metrics.failures;
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].moved_to.map(|d| d.0), Some(1));
    assert_eq!(
        (f[1].kind, f[1].moved_to.map(|d| d.0)),
        ("failback", Some(0))
    );
    assert_eq!(f[1].units, f[0].units);
    // The ledger's writes went on through the failback: a RTO of a few ms.
    let rto = f[1].rto().0.expect("recovered") as f64 / 1e9;
    assert!(rto < 0.1, "failback rto {rto} s");
    common::assert_datasets_add_up(&o.metrics);
}

#[test]
fn a_run_with_a_global_dataset_writes_the_same_files_twice() {
    // The default scenario (sz dies at 2 s for 3 s here) with orders
    // sharded by user and stock global, written at sz: the binary writes
    // byte-identical files for one seed, and `datasets.csv` has a row per
    // dataset (then `global` for `workload.global`'s) adding up to the
    // summary's requests.
    use std::process::Command;
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("classes.toml");
    let classes = "\n[[dataset]]\nname = \"orders\"\nshare = 0.7\n\n\
                   [[dataset]]\nname = \"stock\"\nshare = 0.3\nsharding = \"global\"\nkeys = 500\n\
                   writer = \"sz\"\nreads = \"local\"\nmode = \"sync\"\nresolve = \"origin_priority\"\n";
    std::fs::write(
        &file,
        format!("{}{classes}", multiactive::scenario::DEFAULT_SCENARIO),
    )
    .unwrap();
    let run_into = |dir: &std::path::Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_multiactive"))
            .arg("run")
            .arg(&file)
            .arg("--out")
            .arg(dir)
            .args([
                "--set",
                "simulation.duration=6s",
                "--set",
                "simulation.drain=2s",
            ])
            .args(["--set", "fault.0.at=2s", "--set", "fault.0.for=3s"])
            .args(["--set", "failover.detect_after=1s"])
            .output()
            .expect("the binary runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap() != "perf.csv")
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect();
        files.sort();
        files
    };
    let (a, b) = (
        run_into(&tmp.path().join("a")),
        run_into(&tmp.path().join("b")),
    );
    assert_eq!(a, b, "same seed, different bytes");
    let text = |name: &str| {
        let (_, bytes) = a.iter().find(|(n, _)| n == name).expect(name);
        String::from_utf8(bytes.clone()).unwrap()
    };
    let datasets = text("datasets.csv");
    let rows: Vec<Vec<&str>> = datasets
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(names, ["orders", "stock", "global"]);
    // Synchronous: stock loses no acknowledged write although its writer
    // dies. (Its writes sz applied but never got acked for come back with
    // sz, on top of newer ones at the new writer: conflicts, as a shard's.)
    assert_eq!(
        datasets.lines().next().unwrap(),
        "dataset,requests,ok,failed,rejected,conflicts,lost_writes"
    );
    assert_eq!(rows[1][6], "0", "{datasets}");
    let requests: u64 = rows.iter().map(|r| r[1].parse::<u64>().unwrap()).sum();
    let summary = text("summary.csv");
    let total: u64 = summary
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(2)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(requests, total);
}
