//! The resolved scenario: the tree a run was read from, overrides applied,
//! written back as TOML. A run folder keeps it as `scenario.toml`, so that
//! `multiactive run scenario.toml` repeats the run byte for byte.
//!
//! Keys are sorted (the order the TOML parser gives them), so that the same
//! overrides in another order give the same text; comments are not kept.

use super::tree::{Node, Table, Val};

/// The tree as TOML text: root values first, then each table as a
/// `[section]` (tables within it inline) and each array of tables as
/// `[[element]]` blocks.
pub fn to_toml(root: &Table) -> String {
    let mut out = String::new();
    let entries = ordered(root);
    for (k, n) in &entries {
        if !is_section(n) {
            line(&mut out, k, n);
        }
    }
    for (k, n) in &entries {
        match &n.val {
            Val::Table(t) => {
                out.push_str(&format!("\n[{}]\n", key(k)));
                for (k, n) in ordered(t) {
                    line(&mut out, k, n);
                }
            }
            Val::Array(items) if is_section(n) => {
                for item in items {
                    out.push_str(&format!("\n[[{}]]\n", key(k)));
                    if let Val::Table(t) = &item.val {
                        for (k, n) in ordered(t) {
                            line(&mut out, k, n);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A table's entries by key (as the TOML parser gives them): the same
/// overrides in any order give the same text.
fn ordered(t: &Table) -> Vec<(&str, &Node)> {
    let mut v: Vec<(&str, &Node)> = t.entries.iter().map(|(k, _, n)| (k.as_str(), n)).collect();
    v.sort_by_key(|(k, _)| *k);
    v
}

/// A table, or a non-empty array of tables: written as its own section.
fn is_section(n: &Node) -> bool {
    match &n.val {
        Val::Table(_) => true,
        Val::Array(items) => {
            !items.is_empty() && items.iter().all(|i| matches!(i.val, Val::Table(_)))
        }
        _ => false,
    }
}

fn line(out: &mut String, k: &str, n: &Node) {
    out.push_str(&key(k));
    out.push_str(" = ");
    value(out, n);
    out.push('\n');
}

/// A bare key when TOML allows one, a quoted key otherwise.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        k.to_string()
    } else {
        quoted(k)
    }
}

/// A TOML basic string.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn value(out: &mut String, n: &Node) {
    match &n.val {
        Val::Str(s) => out.push_str(&quoted(s)),
        Val::Int(i) => out.push_str(&i.to_string()),
        Val::HugeInt(s) | Val::Datetime(s) => out.push_str(s),
        Val::Float(f) => out.push_str(&float(*f)),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                value(out, item);
            }
            out.push(']');
        }
        Val::Table(t) => {
            out.push('{');
            for (i, (k, n)) in ordered(t).into_iter().enumerate() {
                out.push_str(if i > 0 { ", " } else { " " });
                out.push_str(&key(k));
                out.push_str(" = ");
                value(out, n);
            }
            out.push_str(if t.entries.is_empty() { "}" } else { " }" });
        }
    }
}

/// The shortest text that reads back as the same float, in TOML's syntax.
fn float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        // `{:?}` is the shortest round-trip form and keeps a `.0` or an
        // exponent, so the value stays a float.
        format!("{f:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::tree::{apply_set, parse};
    use super::*;

    #[test]
    fn the_text_reads_back_as_the_same_tree() {
        let src = "top = 1\n[a]\nx = 0.1\ny = { p = \"q\\\"\", r = [1, 2] }\n[[dc]]\nname = \"bj\"\n[[dc]]\nname = \"sh\"\nz = 1e20\n";
        let mut t = parse(src).unwrap();
        apply_set(&mut t, 0, "b.w=quorum").unwrap();
        apply_set(&mut t, 1, "a.added=true").unwrap();
        apply_set(&mut t, 2, "a.aaa=5").unwrap();
        let text = to_toml(&t);
        assert_eq!(
            text,
            "top = 1\n\n[a]\naaa = 5\nadded = true\nx = 0.1\ny = { p = \"q\\\"\", r = [1, 2] }\n\n[b]\nw = \"quorum\"\n\n[[dc]]\nname = \"bj\"\n\n[[dc]]\nname = \"sh\"\nz = 1e20\n"
        );
        // Read again and written again: the same text.
        assert_eq!(to_toml(&parse(&text).unwrap()), text);
    }

    #[test]
    fn floats_stay_floats_and_keys_are_quoted_when_needed() {
        assert_eq!(float(1e7), "10000000.0");
        assert_eq!(float(0.3), "0.3");
        assert_eq!(float(f64::INFINITY), "inf");
        assert_eq!(key("a b"), "\"a b\"");
        assert_eq!(quoted("x\ny"), "\"x\\ny\"");
    }
}
