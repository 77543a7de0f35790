//! The key reference in `docs/scenario-keys.md` is what `multiactive keys`
//! prints, which comes from the tables the scenario reader checks keys
//! against; `multiactive explain KEY` prints one entry.
//!
//! After changing a key, refresh the committed reference with
//! `cargo run -- keys > docs/scenario-keys.md` and review the diff.

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_multiactive");

fn multiactive(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the multiactive binary runs")
}

#[test]
fn the_committed_key_reference_is_what_the_binary_prints() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-keys.md");
    let committed = std::fs::read_to_string(&path).expect("docs/scenario-keys.md exists");
    let out = multiactive(&["keys"]);
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(
        committed == printed,
        "docs/scenario-keys.md is stale: refresh it with `cargo run -- keys > docs/scenario-keys.md`"
    );
}

#[test]
fn the_reference_names_every_section_and_the_defaults_the_reader_uses() {
    let text = multiactive::scenario::reference();
    for section in [
        "[simulation]",
        "[[datacenter]]",
        "[[link]]",
        "[[region]]",
        "[workload]",
        "[[request]]",
        "[sharding]",
        "[routing]",
        "[replication]",
        "[failover]",
        "[[fault]]",
    ] {
        assert!(text.contains(&format!("## `{section}`")), "{section}");
    }
    // The defaults are the reader's: an empty [failover] gives these.
    assert!(text.contains("| `failover.procedure` | one of `\"switch\"`, `\"ban_then_switch\"` | `\"ban_then_switch\"` |"), "{text}");
    assert!(
        text.contains("| `simulation.drain` | duration ≥ 0 | `\"30s\"` |"),
        "{text}"
    );
}

#[test]
fn explain_prints_one_key() {
    let out = multiactive(&["explain", "replication.mode"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("replication.mode"), "{text}");
    assert!(
        text.contains("`\"semi_sync\"`") && text.contains("default: `\"async\"`"),
        "{text}"
    );
}

#[test]
fn explain_refuses_an_unknown_key_with_the_closest_known_ones() {
    let out = multiactive(&["explain", "replication.mdoe"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("closest: replication.mode"), "{err}");
}

/// A value no key accepts (TOML date-times are never valid in a scenario).
const NO_KEY_TAKES: &str = "1979-05-27T07:32:00Z";

/// Every documented key is read, not only accepted: a value no key takes,
/// set on it in the default scenario, is refused naming that key. (The
/// default scenario has no `[[request]]`; distribution keys are read by
/// one reader, pinned by the bad-input files.)
#[test]
fn every_documented_key_is_read_by_the_parser() {
    let mut unread = Vec::new();
    for s in multiactive::scenario::keys::sections() {
        if matches!(s.path, "request" | "dist") {
            continue;
        }
        let element = if s.array {
            format!("{}.0", s.path)
        } else {
            s.path.to_string()
        };
        for k in s.keys {
            let mut sets = vec![format!("{element}.{}={NO_KEY_TAKES}", k.name)];
            if let Some(kind) = s.variant {
                sets.insert(0, format!("{element}.kind=\"{kind}\""));
            }
            let named = match multiactive::scenario::load_default(&sets) {
                Ok(_) => false,
                Err(e) => e
                    .diagnostics()
                    .iter()
                    .any(|d| d.key.starts_with(s.path) && d.key.ends_with(&format!(".{}", k.name))),
            };
            if !named {
                unread.push(sets.join(" "));
            }
        }
    }
    assert!(unread.is_empty(), "keys not read: {unread:?}");
}
