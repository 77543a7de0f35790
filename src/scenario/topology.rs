//! `[[datacenter]]`, `[[link]]` and `[[region]]`: where the DCs stand, the
//! network between them and where the users are.

use petgraph::unionfind::UnionFind;

use super::dist_table::read_dist;
use super::keys::{Key, KeyDefault, Section, Type};
use super::readers::{
    Ctx, DcNames, FILE_START, element_key, int, join, name, number, quoted, show_duration,
    signed_duration, tables,
};
use super::tree::{Node, Table, Val};
use super::{Dist, MAX_CLOCK_OFFSET};
use crate::ids::DcId;
use crate::time::Nanos;

/// DCs are numbered with 16 bits; beyond a thousand the all-pairs path
/// tables no longer fit a laptop.
pub(super) const MAX_DCS: usize = 1_000;
/// Servers are counted with 32 bits; a million in one DC is a sure typo.
const MAX_SERVERS: i128 = 1_000_000;
/// A waiting room beyond a billion is unlimited in all but memory.
const MAX_QUEUE: i128 = 1_000_000_000;
/// A region's users are a share: any positive number up to this, normalised.
const MAX_USERS: f64 = 1e12;
/// Serving costs nothing unless the scenario says what it costs.
const SERVICE_TIME: Nanos = 0;

#[derive(Clone, Debug, PartialEq)]
pub struct DcConfig {
    pub name: String,
    pub region: String,
    /// `None`: unlimited servers (no queueing).
    pub servers: Option<u32>,
    pub service_time: Dist,
    /// Waiting room beyond busy servers; `None`: unlimited.
    pub queue: Option<u32>,
    /// Signed offset of the DC's clock, in nanoseconds.
    pub clock_skew: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    pub a: DcId,
    pub b: DcId,
    pub latency: Dist,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RegionConfig {
    pub name: String,
    /// Share of users, normalised so that the shares sum to 1.
    pub share: f64,
    /// One-way latency to each DC, indexed by `DcId`; `None`: unreachable.
    pub latency: Vec<Option<Dist>>,
    /// This region's own rate profile (time zones); `None`: the workload's.
    pub profile: Option<super::Profile>,
}

const DC_NAME: Key = Key::new(
    "name",
    Type::Name,
    KeyDefault::Required,
    "a unique datacenter name",
);
const DC_REGION: Key = Key::new(
    "region",
    Type::Name,
    KeyDefault::Required,
    "the region the datacenter stands in: a [[region]]'s name, or (unless `sharding.placement = \"by_region\"` or `sharding.key = \"geo\"`) a region without users, such as a standby site",
);
const SERVERS: Key = Key::new(
    "servers",
    Type::Int {
        min: 1,
        max: MAX_SERVERS,
    },
    KeyDefault::Absent("unlimited (no queueing)"),
    "how many requests the datacenter serves at once",
);
const SERVICE: Key = Key::new(
    "service_time",
    Type::Dist,
    KeyDefault::Duration(SERVICE_TIME),
    "how long one request holds a server",
);
const QUEUE: Key = Key::new(
    "queue",
    Type::Int {
        min: 0,
        max: MAX_QUEUE,
    },
    KeyDefault::Absent("unlimited"),
    "how many requests may wait beyond the busy servers; a request beyond it is rejected",
);
const CLOCK_SKEW: Key = Key::new(
    "clock_skew",
    Type::SignedDuration,
    KeyDefault::Duration(0),
    "the offset of the datacenter's clock, which stamps its writes for `lww`; with the clock jumps on it, at most 10000d either way",
);

pub(super) const DATACENTER_SECTION: Section = Section {
    path: "datacenter",
    array: true,
    variant: None,
    about: "A datacenter: where it stands and how much it can serve. At least one.",
    keys: &[DC_NAME, DC_REGION, SERVERS, SERVICE, QUEUE, CLOCK_SKEW],
};

const BETWEEN: Key = Key::new(
    "between",
    Type::Other("two datacenter names"),
    KeyDefault::Required,
    "the two datacenters the link joins",
);
const LATENCY: Key = Key::new(
    "latency",
    Type::Dist,
    KeyDefault::Required,
    "the one-way latency, such as \"15ms\"; each direction and message draws its own",
);

pub(super) const LINK_SECTION: Section = Section {
    path: "link",
    array: true,
    variant: None,
    about: "A network link. Datacenters without a link between them talk over the shortest live path; every datacenter must be reachable.",
    keys: &[BETWEEN, LATENCY],
};

const REGION_NAME: Key = Key::new(
    "name",
    Type::Name,
    KeyDefault::Required,
    "a unique region name",
);
const USERS: Key = Key::new(
    "users",
    Type::Number {
        min: 0.0,
        max: MAX_USERS,
        open_min: true,
    },
    KeyDefault::Required,
    "the region's share of users, such as 0.4 (shares are scaled to sum to 1)",
);
const REGION_LATENCY: Key = Key::new(
    "latency",
    Type::Other("table of datacenter name → dist"),
    KeyDefault::Required,
    "one-way latency to each datacenter the region reaches, such as { bj = \"3ms\", sh = \"15ms\" }",
);

const REGION_PROFILE: Key = Key::new(
    "profile",
    Type::Other(super::workload::PROFILE_TYPE),
    KeyDefault::Absent("`workload.profile`"),
    "this region's users' own rate profile (a time zone's day), as `workload.profile`; the region's rate is `workload.rate` × its share × the factor",
);

pub(super) const REGION_SECTION: Section = Section {
    path: "region",
    array: true,
    variant: None,
    about: "A population of users. At least one. Each user has a home region, drawn by the shares.",
    keys: &[REGION_NAME, USERS, REGION_LATENCY, REGION_PROFILE],
};

/// The three topology sections, read.
pub(super) struct Topology {
    pub dcs: Vec<DcConfig>,
    pub links: Vec<LinkConfig>,
    pub regions: Vec<RegionConfig>,
}

pub(super) fn read(cx: &mut Ctx, root: &Table) -> Topology {
    let before = cx.problems.len();
    let dcs = read_datacenters(cx, root.get("datacenter"));
    let names = DcNames(dcs.iter().map(|d| d.name.as_str()).collect());
    let links = read_links(cx, root.get("link"), &names);
    // A misspelt or broken link already has its message; checking the graph
    // without it would only add a second message for the same mistake.
    let dc_node = root.get("datacenter");
    if cx.problems.len() == before
        && let Some(dc_node) = dc_node
    {
        check_connected(cx, &dcs, &links, dc_node);
    }
    let regions = read_regions(cx, root.get("region"), &names);
    Topology {
        dcs,
        links,
        regions,
    }
}

/// An array section's elements, or the problem of its absence.
fn elements<'a>(cx: &mut Ctx, n: Option<&'a Node>, section: &str, what: &str) -> Vec<&'a Node> {
    let Some(n) = n else {
        cx.err(
            FILE_START,
            section,
            format!("the scenario has no [[{section}]]{what}: at least one is required"),
        );
        return Vec::new();
    };
    let items = tables(cx, n, section);
    if items.is_empty() {
        cx.err(
            n.at,
            section,
            format!("no [[{section}]]{what}: at least one is required"),
        );
    }
    items
}

/// A unique name: reported when an earlier element has it too.
fn unique_name(
    cx: &mut Ctx,
    t: &Table,
    item: &Node,
    path: &str,
    key: &Key,
    earlier: &[&str],
    what: &str,
) -> Option<String> {
    let name = cx
        .need(t, item.at, path, key)
        .and_then(|v| name(cx, v, &join(path, "name")))?;
    if earlier.contains(&name.as_str()) {
        cx.err(
            t.get("name").map_or(item.at, |v| v.at),
            &join(path, "name"),
            format!("{what} \"{name}\" is defined twice"),
        );
    }
    Some(name)
}

fn read_datacenters(cx: &mut Ctx, n: Option<&Node>) -> Vec<DcConfig> {
    let items = elements(cx, n, "datacenter", "");
    if items.len() > MAX_DCS {
        let at = n.map_or(FILE_START, |n| n.at);
        let message = format!("{} datacenters: at most {MAX_DCS}", items.len());
        cx.err(at, "datacenter", message);
        return Vec::new();
    }
    let mut out: Vec<DcConfig> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = element_key("datacenter", i, item);
        let Some(t) = cx.table(item, &path, DATACENTER_SECTION.keys) else {
            continue;
        };
        let k = |key: &Key| join(&path, key.name);
        let earlier: Vec<&str> = out.iter().map(|d| d.name.as_str()).collect();
        let name = unique_name(cx, t, item, &path, &DC_NAME, &earlier, "datacenter");
        let region = cx
            .need(t, item.at, &path, &DC_REGION)
            .and_then(|v| super::readers::name(cx, v, &k(&DC_REGION)));
        let servers = t
            .get(SERVERS.name)
            .and_then(|v| int(cx, v, &k(&SERVERS), 1, MAX_SERVERS));
        let service = t
            .get(SERVICE.name)
            .and_then(|v| read_dist(cx, v, &k(&SERVICE)));
        let queue = t
            .get(QUEUE.name)
            .and_then(|v| int(cx, v, &k(&QUEUE), 0, MAX_QUEUE));
        let skew = t
            .get(CLOCK_SKEW.name)
            .and_then(|v| clock_skew(cx, v, &k(&CLOCK_SKEW)));
        // A datacenter whose name is readable stays in the list even when
        // another of its keys is wrong, so that references to it resolve and
        // only the real problem is reported (the Config is refused anyway).
        let Some(name) = name else {
            continue;
        };
        out.push(DcConfig {
            name,
            region: region.unwrap_or_default(),
            servers: servers.map(|v| v as u32),
            service_time: service.unwrap_or(Dist::Const(SERVICE_TIME)),
            queue: queue.map(|v| v as u32),
            clock_skew: skew.unwrap_or(0),
        });
    }
    out
}

/// A clock skew within [`MAX_CLOCK_OFFSET`], so that the clock's reading
/// cannot overflow.
fn clock_skew(cx: &mut Ctx, v: &Node, key: &str) -> Option<i64> {
    let skew = signed_duration(cx, v, key)?;
    if skew.unsigned_abs() > MAX_CLOCK_OFFSET {
        cx.err(
            v.at,
            key,
            format!(
                "a clock skew of {}{} is out of range: expected at most {} either way",
                if skew < 0 { "-" } else { "" },
                show_duration(skew.unsigned_abs()),
                show_duration(MAX_CLOCK_OFFSET)
            ),
        );
        return None;
    }
    Some(skew)
}

fn read_links(cx: &mut Ctx, n: Option<&Node>, names: &DcNames) -> Vec<LinkConfig> {
    let Some(n) = n else { return Vec::new() };
    let mut out: Vec<LinkConfig> = Vec::new();
    for (i, item) in tables(cx, n, "link").iter().enumerate() {
        let path = format!("link.{i}");
        let Some(t) = cx.table(item, &path, LINK_SECTION.keys) else {
            continue;
        };
        let pair = cx
            .need(t, item.at, &path, &BETWEEN)
            .and_then(|v| names.pair(cx, v, &join(&path, BETWEEN.name)));
        let latency = cx
            .need(t, item.at, &path, &LATENCY)
            .and_then(|v| read_dist(cx, v, &join(&path, LATENCY.name)));
        let (Some((a, b)), Some(latency)) = (pair, latency) else {
            continue;
        };
        if out
            .iter()
            .any(|l| (l.a, l.b) == (a, b) || (l.a, l.b) == (b, a))
        {
            cx.err(
                t.get("between").map_or(item.at, |v| v.at),
                &join(&path, "between"),
                format!(
                    "\"{}\" and \"{}\" are already joined by an earlier [[link]]; expected one link per pair",
                    names.0[a.idx()],
                    names.0[b.idx()]
                ),
            );
            continue;
        }
        out.push(LinkConfig { a, b, latency });
    }
    out
}

/// Every datacenter must reach the first one over links: one message per
/// group cut off, at the group's first datacenter. Called only when every
/// datacenter and link was read, so `dcs[i]` is element `i` of `dc_node`.
fn check_connected(cx: &mut Ctx, dcs: &[DcConfig], links: &[LinkConfig], dc_node: &Node) {
    if dcs.len() < 2 {
        return;
    }
    let mut uf = UnionFind::<usize>::new(dcs.len());
    for l in links {
        uf.union(l.a.idx(), l.b.idx());
    }
    let group = |root: usize| -> Vec<&str> {
        dcs.iter()
            .enumerate()
            .filter(|&(i, _)| uf.find(i) == root)
            .map(|(_, d)| d.name.as_str())
            .collect()
    };
    let main = group(uf.find(0));
    let mut reported = vec![uf.find(0)];
    for (i, item) in dc_items(dc_node).iter().enumerate().take(dcs.len()) {
        let root = uf.find(i);
        if reported.contains(&root) {
            continue;
        }
        reported.push(root);
        cx.err(
            item.at,
            &element_key("datacenter", i, item),
            format!(
                "not connected: no path of links joins {} to {}; expected a [[link]] between the two groups",
                quoted(&group(root)),
                quoted(&main)
            ),
        );
    }
}

fn dc_items(dc_node: &Node) -> Vec<&Node> {
    match &dc_node.val {
        Val::Array(items) => items.iter().collect(),
        _ => vec![dc_node],
    }
}

/// A datacenter's `region` must name a `[[region]]` where it decides what
/// the DC owns (`by_region` placement, `geo` sharding), and wherever it is
/// one edit from a region's name: a typo would silently change which shards
/// the DC gets. Elsewhere a region without users is allowed (a standby site).
pub(super) fn check_dc_regions(
    cx: &mut Ctx,
    dc_node: Option<&Node>,
    regions: &[RegionConfig],
    regions_decide: bool,
) {
    let Some(dc_node) = dc_node else { return };
    if regions.is_empty() {
        return;
    }
    let known: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    for (i, item) in dc_items(dc_node).iter().enumerate() {
        let Val::Table(t) = &item.val else { continue };
        let Some(
            v @ Node {
                val: Val::Str(region),
                ..
            },
        ) = t.get(DC_REGION.name)
        else {
            continue;
        };
        if region.trim().is_empty() || known.contains(&region.as_str()) {
            continue;
        }
        let typo = super::readers::closest(region, &known);
        if typo.is_none() && !regions_decide {
            continue;
        }
        let hint = typo
            .map(|c| format!(" (did you mean \"{c}\"?)"))
            .unwrap_or_default();
        cx.err(
            v.at,
            &join(&element_key("datacenter", i, item), DC_REGION.name),
            format!(
                "no [[region]] is named \"{region}\"{hint}; known regions: {}",
                known.join(", ")
            ),
        );
    }
}

fn read_regions(cx: &mut Ctx, n: Option<&Node>, names: &DcNames) -> Vec<RegionConfig> {
    let items = elements(cx, n, "region", " of users");
    let mut out: Vec<RegionConfig> = Vec::new();
    let mut total = 0.0;
    for (i, item) in items.iter().enumerate() {
        let path = element_key("region", i, item);
        let Some(t) = cx.table(item, &path, REGION_SECTION.keys) else {
            continue;
        };
        let earlier: Vec<&str> = out.iter().map(|r| r.name.as_str()).collect();
        let name = unique_name(cx, t, item, &path, &REGION_NAME, &earlier, "region");
        let users = cx
            .need(t, item.at, &path, &USERS)
            .and_then(|v| number(cx, v, &join(&path, "users"), 0.0, MAX_USERS, true));
        let latency = cx
            .need(t, item.at, &path, &REGION_LATENCY)
            .and_then(|v| region_latency(cx, v, &join(&path, "latency"), names));
        let profile = match t.get(REGION_PROFILE.name) {
            None => Some(None),
            Some(v) => super::profile::read_profile(cx, v, &join(&path, "profile")).map(Some),
        };
        let (Some(name), Some(users), Some(latency), Some(profile)) =
            (name, users, latency, profile)
        else {
            continue;
        };
        total += users;
        out.push(RegionConfig {
            name,
            share: users,
            latency,
            profile,
        });
    }
    for r in &mut out {
        r.share /= total;
    }
    out
}

fn region_latency(cx: &mut Ctx, v: &Node, lk: &str, names: &DcNames) -> Option<Vec<Option<Dist>>> {
    let Val::Table(lt) = &v.val else {
        cx.expected(
            v,
            lk,
            "a table of one-way latencies per datacenter, such as { bj = \"3ms\", sh = \"15ms\" }",
        );
        return None;
    };
    let mut lat: Vec<Option<Dist>> = vec![None; names.0.len()];
    for (dc, kat, d) in &lt.entries {
        let id = names.find_key(cx, dc, *kat, lk);
        let dd = read_dist(cx, d, &join(lk, dc));
        if let (Some(id), Some(dd)) = (id, dd) {
            lat[id.idx()] = Some(dd);
        }
    }
    if lt.entries.is_empty() {
        cx.err(
            v.at,
            lk,
            "the region reaches no datacenter: name at least one, such as { bj = \"3ms\" }",
        );
    }
    Some(lat)
}
