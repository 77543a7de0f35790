//! The scenario as a tree of values that remember where they were written:
//! a span in the file, or the `--set` override they came from. Every later
//! error message points back through these locations.

use std::fmt;

use toml::de::{DeTable, DeValue};

/// Where a value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A byte range of the scenario file.
    File { start: usize, end: usize },
    /// The `--set` override with this index.
    Set(usize),
    /// Not written anywhere (an implied table).
    Nowhere,
}

#[derive(Clone, Debug)]
pub enum Val {
    Str(String),
    /// Integers are kept wide so that out-of-range input is reported, not wrapped.
    Int(i128),
    /// An integer beyond even `i128`, kept as written so that the reader of
    /// its key reports it as out of range, at its own line.
    HugeInt(String),
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<Node>),
    Table(Table),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub val: Val,
    pub at: Origin,
}

/// A table's entries in the order the parser gives them.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub entries: Vec<(String, Origin, Node)>,
}

impl Table {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, n)| n)
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.entries
            .iter_mut()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, n)| n)
    }

    /// Puts `node` under `key`, replacing the value of an existing entry.
    pub fn set(&mut self, key: &str, at: Origin, node: Node) {
        match self.get_mut(key) {
            Some(slot) => *slot = node,
            None => self.entries.push((key.to_string(), at, node)),
        }
    }
}

impl Val {
    /// The TOML name of the value's type, for "expected ..., found ..." messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Str(_) => "a string",
            Val::Int(_) | Val::HugeInt(_) => "an integer",
            Val::Float(_) => "a float",
            Val::Bool(_) => "a boolean",
            Val::Datetime(_) => "a date-time",
            Val::Array(_) => "an array",
            Val::Table(_) => "a table",
        }
    }
}

/// The text the locations point into: the file and the overrides.
pub struct Sources {
    pub path: String,
    pub text: String,
    pub sets: Vec<String>,
    /// The flag each override came from (`--set`, `--vary`, `--seed`),
    /// parallel to `sets`; `--set` where missing.
    pub flags: Vec<String>,
    line_starts: Vec<usize>,
}

impl Sources {
    pub fn new(path: impl Into<String>, text: impl Into<String>, sets: Vec<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Sources {
            path: path.into(),
            text,
            sets,
            flags: Vec::new(),
            line_starts,
        }
    }

    /// Names the flag of each override in messages (`--vary k=v`, not `--set k=v`).
    pub fn with_flags(mut self, flags: Vec<String>) -> Self {
        self.flags = flags;
        self
    }

    /// 1-based line and column (in characters) of a byte offset of the file.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.text[start..offset].chars().count() + 1;
        (line + 1, col)
    }

    /// `path:line:col`, or `--set KEY=VALUE`, for a message.
    pub fn describe(&self, at: Origin) -> String {
        match at {
            Origin::File { start, .. } => {
                let (line, col) = self.line_col(start);
                format!("{}:{line}:{col}", self.path)
            }
            Origin::Set(i) => format!(
                "{} {}",
                self.flags.get(i).map_or("--set", String::as_str),
                self.sets.get(i).map_or("?", String::as_str)
            ),
            Origin::Nowhere => self.path.clone(),
        }
    }
}

/// A problem found while reading a scenario; `key` is the dotted path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub at: Origin,
    pub key: String,
    pub message: String,
}

/// A located, human-readable problem: `file:line:col: key: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: String,
    pub message: String,
}

/// One line per problem: names and values echoed from the input have their
/// control characters (newlines included) escaped.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use super::load::escape;
        if self.key.is_empty() {
            write!(f, "{}: {}", escape(&self.location), escape(&self.message))
        } else {
            write!(
                f,
                "{}: `{}`: {}",
                escape(&self.location),
                escape(&self.key),
                escape(&self.message)
            )
        }
    }
}

impl Sources {
    pub fn diagnose(&self, p: &Problem) -> Diagnostic {
        let (line, column) = match p.at {
            Origin::File { start, .. } => {
                let (l, c) = self.line_col(start);
                (Some(l), Some(c))
            }
            _ => (None, None),
        };
        Diagnostic {
            location: self.describe(p.at),
            line,
            column,
            key: p.key.clone(),
            message: p.message.clone(),
        }
    }
}

fn convert(value: &DeValue<'_>, at: Origin, set: Option<usize>) -> Node {
    let origin = |span: std::ops::Range<usize>| match set {
        Some(i) => Origin::Set(i),
        None => Origin::File {
            start: span.start,
            end: span.end,
        },
    };
    let val = match value {
        DeValue::String(s) => Val::Str(s.to_string()),
        DeValue::Integer(i) => match i128::from_str_radix(i.as_str(), i.radix()) {
            Ok(v) => Val::Int(v),
            Err(_) => Val::HugeInt(i.to_string()),
        },
        // The TOML parser has checked the syntax, so this parse succeeds; were
        // it to fail, NaN is refused by every reader of a number.
        DeValue::Float(f) => Val::Float(f.as_str().replace('_', "").parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Val::Bool(*b),
        DeValue::Datetime(d) => Val::Datetime(d.to_string()),
        DeValue::Array(items) => Val::Array(
            items
                .iter()
                .map(|item| convert(item.get_ref(), origin(item.span()), set))
                .collect(),
        ),
        DeValue::Table(t) => Val::Table(convert_table(t, set)),
    };
    Node { val, at }
}

fn convert_table(t: &DeTable<'_>, set: Option<usize>) -> Table {
    let entries = t
        .iter()
        .map(|(k, v)| {
            let (kat, vat) = match set {
                Some(i) => (Origin::Set(i), Origin::Set(i)),
                None => (
                    Origin::File {
                        start: k.span().start,
                        end: k.span().end,
                    },
                    Origin::File {
                        start: v.span().start,
                        end: v.span().end,
                    },
                ),
            };
            (k.get_ref().to_string(), kat, convert(v.get_ref(), vat, set))
        })
        .collect();
    Table { entries }
}

/// Parses the scenario text into a located tree. A syntax error becomes a
/// problem at its position.
pub fn parse(text: &str) -> Result<Table, Problem> {
    let doc = DeTable::parse(text).map_err(|e| syntax_problem(text, &e))?;
    Ok(convert_table(doc.get_ref(), None))
}

fn syntax_problem(text: &str, e: &toml::de::Error) -> Problem {
    let message = e.message().trim();
    let Some(span) = e.span() else {
        return Problem {
            at: Origin::Nowhere,
            key: String::new(),
            message: format!("TOML syntax error: {message}"),
        };
    };
    // Inline tables, arrays and multi-line strings may span lines, so a
    // missing `}`, `]` or `"""` is only noticed at the next table header or
    // at the end of the file, far from the mistake: point at the opener.
    if let Some((open, what)) = unclosed_before(text, span.start)
        && runs_into_header_or_end(text, span.start)
        && line_of(text, open) < line_of(text, span.start)
    {
        return Problem {
            at: Origin::File {
                start: open,
                end: open + 1,
            },
            key: String::new(),
            message: format!(
                "TOML syntax error: {what} opened here is never closed (the parser gave up at line {}: {message})",
                line_of(text, span.start)
            ),
        };
    }
    // The parser's "duplicate key" names neither the key nor that a table
    // header counts as a key.
    let message = match text.get(span.clone()) {
        Some(name) if message == "duplicate key" && !name.trim().is_empty() => format!(
            "duplicate key `{}`: expected each key and each [table] to be defined once",
            name.trim()
        ),
        _ => message.to_string(),
    };
    Problem {
        at: Origin::File {
            start: span.start,
            end: span.end,
        },
        key: String::new(),
        message: format!("TOML syntax error: {message}"),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Whether the error sits at a `[table]` header or after the last content.
fn runs_into_header_or_end(text: &str, offset: usize) -> bool {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let rest = &text[line_start..];
    rest.trim_start().starts_with('[') || text[offset..].trim().is_empty()
}

/// The innermost `{`, `[` or multi-line string still open at `offset`, by a
/// scan that skips comments and strings: its offset and a description.
fn unclosed_before(text: &str, offset: usize) -> Option<(usize, &'static str)> {
    let bytes = &text.as_bytes()[..offset.min(text.len())];
    let mut open: Vec<(usize, u8)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            q @ (b'"' | b'\'') => {
                let triple = bytes[i..].starts_with(&[q, q, q]);
                let start = i;
                i = skip_string(bytes, i, q, triple);
                if i >= bytes.len() && triple {
                    return Some((start, "the multi-line string"));
                }
                continue;
            }
            c @ (b'{' | b'[') => open.push((i, c)),
            b'}' | b']' => {
                open.pop();
            }
            _ => {}
        }
        i += 1;
    }
    open.last().map(|&(at, c)| {
        (
            at,
            if c == b'{' {
                "the inline table `{`"
            } else {
                "the array `[`"
            },
        )
    })
}

/// The offset just past the string that starts at `i` with quote `q`.
fn skip_string(bytes: &[u8], i: usize, q: u8, triple: bool) -> usize {
    let mut j = i + if triple { 3 } else { 1 };
    while j < bytes.len() {
        if q == b'"' && bytes[j] == b'\\' {
            j += 2;
            continue;
        }
        if triple && bytes[j..].starts_with(&[q, q, q]) {
            return j + 3;
        }
        if !triple && (bytes[j] == q || bytes[j] == b'\n') {
            return j + 1;
        }
        j += 1;
    }
    j
}

/// Applies the override `KEY=VALUE` (the `index`-th `--set`) to the tree.
///
/// `VALUE` is read as a TOML value when it is one (`1000`, `false`,
/// `{ bj = "0-49" }`) and as a plain string otherwise (`quorum`, `5s`).
/// In `KEY`, a segment after an array of tables picks an element by its
/// `name` (`datacenter.bj.servers`) or by its index (`fault.0.at`).
pub fn apply_set(root: &mut Table, index: usize, spec: &str) -> Result<(), Problem> {
    let fail = |key: &str, message: String| Problem {
        at: Origin::Set(index),
        key: key.to_string(),
        message,
    };
    let Some((key, raw)) = spec.split_once('=') else {
        return Err(fail(
            "",
            "expected KEY=VALUE, such as replication.mode=quorum".into(),
        ));
    };
    let key = key.trim();
    let raw = raw.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(fail(key, "the key is empty or has an empty segment".into()));
    }
    let at = Origin::Set(index);
    let node = match DeValue::parse(raw) {
        Ok(v) => convert(v.get_ref(), at, Some(index)),
        Err(_) => Node {
            val: Val::Str(raw.to_string()),
            at,
        },
    };
    let segments: Vec<&str> = key.split('.').collect();
    set_path(root, &segments, node, &mut String::new()).map_err(|m| fail(key, m))
}

/// Puts `node` at `segs` below `table`, creating tables on the way.
fn set_path(
    table: &mut Table,
    segs: &[&str],
    node: Node,
    walked: &mut String,
) -> Result<(), String> {
    let Some((seg, rest)) = segs.split_first() else {
        return Ok(());
    };
    if rest.is_empty() {
        table.set(seg, node.at, node);
        return Ok(());
    }
    if !walked.is_empty() {
        walked.push('.');
    }
    walked.push_str(seg);
    if table.get(seg).is_none() {
        // `fault.0.at` with no [[fault]] in the file would build a table keyed
        // "0"; an override changes elements, it cannot add them.
        if rest.len() > 1 && rest[0].parse::<usize>().is_ok() {
            return Err(format!(
                "the scenario has no `{walked}`, so `{walked}.{}` does not exist; --set changes elements the file has, it cannot add them",
                rest[0]
            ));
        }
        let empty = Node {
            val: Val::Table(Table::default()),
            at: node.at,
        };
        table.set(seg, node.at, empty);
    }
    let next = table.get_mut(seg).expect("present: inserted above");
    match &mut next.val {
        Val::Table(t) => set_path(t, rest, node, walked),
        Val::Array(items) => {
            let (pick, below) = rest.split_first().expect("rest is not empty");
            let pos = match pick.parse::<usize>() {
                Ok(n) if n < items.len() => n,
                Ok(n) => {
                    return Err(format!(
                        "`{walked}` has {} elements; index {n} is out of range",
                        items.len()
                    ));
                }
                Err(_) => match items
                    .iter()
                    .position(|n| element_name(n).as_deref() == Some(*pick))
                {
                    Some(p) => p,
                    None => {
                        let names: Vec<String> = items.iter().filter_map(element_name).collect();
                        return Err(format!(
                            "no element of `{walked}` is named \"{pick}\"; known: {}",
                            names.join(", ")
                        ));
                    }
                },
            };
            if below.is_empty() {
                return Err(format!(
                    "name a key inside `{walked}.{pick}`, such as `{walked}.{pick}.name`"
                ));
            }
            walked.push('.');
            walked.push_str(pick);
            match &mut items[pos].val {
                Val::Table(t) => set_path(t, below, node, walked),
                other => Err(format!("`{walked}` is {}, not a table", other.type_name())),
            }
        }
        other => Err(format!("`{walked}` is {}, not a table", other.type_name())),
    }
}

fn element_name(n: &Node) -> Option<String> {
    match &n.val {
        Val::Table(t) => match t.get("name").map(|n| &n.val) {
            Some(Val::Str(s)) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_line_and_column() {
        let src = Sources::new("s.toml", "a = 1\n  b = 2\n", vec![]);
        assert_eq!(src.line_col(0), (1, 1));
        assert_eq!(src.line_col(8), (2, 3));
        let t = parse(&src.text).unwrap();
        let b = t.get("b").unwrap();
        assert_eq!(src.describe(b.at), "s.toml:2:7");
    }

    #[test]
    fn set_overrides_nested_and_array_elements() {
        let mut t = parse(
            "[simulation]\nduration = \"1s\"\n[[datacenter]]\nname = \"bj\"\n[[datacenter]]\nname = \"sh\"\n",
        )
        .unwrap();
        apply_set(&mut t, 0, "simulation.duration=5s").unwrap();
        apply_set(&mut t, 1, "datacenter.sh.servers=4").unwrap();
        apply_set(&mut t, 2, "replication.mode=quorum").unwrap();
        apply_set(&mut t, 3, "datacenter.0.region=north").unwrap();
        let Val::Table(sim) = &t.get("simulation").unwrap().val else {
            panic!()
        };
        assert!(matches!(&sim.get("duration").unwrap().val, Val::Str(s) if s == "5s"));
        let Val::Array(dcs) = &t.get("datacenter").unwrap().val else {
            panic!()
        };
        let Val::Table(sh) = &dcs[1].val else {
            panic!()
        };
        assert!(matches!(sh.get("servers").unwrap().val, Val::Int(4)));
        let Val::Table(bj) = &dcs[0].val else {
            panic!()
        };
        assert!(matches!(&bj.get("region").unwrap().val, Val::Str(s) if s == "north"));
        let Val::Table(r) = &t.get("replication").unwrap().val else {
            panic!()
        };
        assert_eq!(r.get("mode").unwrap().at, Origin::Set(2));
    }

    #[test]
    fn set_names_unknown_elements() {
        let mut t = parse("[[datacenter]]\nname = \"bj\"\n").unwrap();
        let e = apply_set(&mut t, 0, "datacenter.xx.servers=4").unwrap_err();
        assert!(e.message.contains("known: bj"), "{}", e.message);
        let e = apply_set(&mut t, 0, "nonsense").unwrap_err();
        assert!(e.message.contains("KEY=VALUE"));
    }

    #[test]
    fn integers_beyond_i128_keep_their_place() {
        let t = parse("a = 1\nb = 123456789012345678901234567890123456789012345\n").unwrap();
        let b = t.get("b").unwrap();
        assert!(matches!(&b.val, Val::HugeInt(d) if d.starts_with("1234")));
        assert!(matches!(b.at, Origin::File { start: 10, .. }));
    }

    #[test]
    fn an_unclosed_inline_table_is_shown_where_it_opens() {
        let text = "[a]\nx = { b = 1, c = 2\n\n[d]\ny = 1\n";
        let e = parse(text).unwrap_err();
        assert_eq!(e.at, Origin::File { start: 8, end: 9 });
        assert!(e.message.contains("never closed"), "{}", e.message);
        // Brackets and quotes inside strings and comments do not count.
        assert_eq!(
            unclosed_before("a = \"{[\" # {\nb = [", 18),
            Some((17, "the array `[`"))
        );
        assert_eq!(unclosed_before("a = '{'\n[t]\n", 12), None);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let e = parse("a = 1\nb = = 2\n").unwrap_err();
        assert!(matches!(e.at, Origin::File { .. }));
        assert!(e.message.contains("syntax"));
    }
}
