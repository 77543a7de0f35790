//! The failover controller: the detector's decisions, shard moves and the
//! failure records they report into. `World` owns one `Controller` and calls
//! it when a DC dies, returns or is detected, when a switchover starts, and
//! when a controller event fires; the controller sees the rest of the world
//! only through a `Parts` view (routing, replication, storage, topology, DC
//! states, metrics, checker).
//!
//! A `dc_down` fault kills a DC at once: it stops serving (requests it holds
//! fail) and replicating (its streams block, so every write its peers have
//! not applied is stranded in its log until it returns). The detector
//! notices after `failover.detect_after`; entry routing then avoids the DC,
//! and the controller, after `decide_after`, moves the DC's shards (and the
//! global datasets it wrote) to the target:
//!
//! - `switch` publishes the new owners at once;
//! - `ban_then_switch` first publishes a ban on writes to the moving shards,
//!   waits until the ban has reached every live DC and the target has applied
//!   everything the sources can still send (or `max_ban` passes), then
//!   publishes the new owners with the ban lifted.
//!
//! Each published version reaches every router, guard and edge after its own
//! `routing.propagation` delay; a live source DC takes it at once (the
//! controller tells the DC giving shards up first). Under `quorum` and `sync`
//! the target first takes, from the surviving DCs, every write of a dead
//! source that any of them applied, as a consensus group's new leader would.
//!
//! Every fault has a `FailureRecord`: detection and switch times, RPO (the
//! acknowledged writes of the sources the target had not applied when it
//! took over) and RTO (per affected shard, the first write acknowledged after
//! the failure began; the worst shard's).

mod moves;

pub use moves::{Move, MoveKind, Phase};

use super::routing::{Holder, Target};
use super::world::{Event, Parts};
use crate::ids::{DcId, FailureId, FaultId, MoveId, ShardId};
use crate::kernel::{ComponentRng, EventQueue};
use crate::metrics::{FailureRecord, global_unit};
use crate::scenario::{Dist, FailoverConfig, ReplMode};
use crate::time::{Nanos, SimTime};

pub struct Controller {
    cfg: FailoverConfig,
    mode: ReplMode,
    names: Vec<String>,
    propagation: Dist,
    propagation_rng: ComponentRng,
    /// Shard moves started, in order (`MoveId` indexes it).
    moves: Vec<Move>,
    /// The moves waiting in a ban.
    banning: Vec<MoveId>,
    /// The moves whose record fence still holds (`fence = "record"`).
    fencing: Vec<MoveId>,
    /// Per unit (each shard, then each global dataset): the DC fencing its
    /// old records and the move's start (`reshard_at`), while a fence holds.
    fenced: Vec<Option<(DcId, SimTime)>>,
    /// After the drain: replication finishes, the controller does not act.
    settling: bool,
    /// Per unit (each shard, then each global dataset): the failure records
    /// watching its recovery.
    watchers: Vec<Vec<FailureId>>,
    /// Shards: the global datasets' units follow theirs.
    shards: usize,
    /// `routing.push_timeout`: a push not confirmed within it is retried;
    /// `None`, pushes always arrive.
    push_timeout: Option<Nanos>,
    push_retries: u32,
    /// Per DC: the version the controller is pushing to it and the retries
    /// spent on it.
    pushing: Vec<(u32, u32)>,
    /// A rollback is being published.
    rolling_back: bool,
    /// Per DC: when it last died.
    pub(super) died_at: Vec<SimTime>,
}

/// What a controller needs from the scenario.
pub struct ControllerOptions {
    pub failover: FailoverConfig,
    pub mode: ReplMode,
    pub dc_names: Vec<String>,
    pub propagation: Dist,
    pub propagation_rng: ComponentRng,
    pub shards: usize,
    /// Global datasets (`workload.global`'s and the global `[[dataset]]`s).
    pub globals: usize,
    pub push_timeout: Option<Nanos>,
    pub push_retries: u32,
    pub n_dcs: usize,
}

impl Controller {
    pub fn new(o: ControllerOptions) -> Controller {
        Controller {
            cfg: o.failover,
            mode: o.mode,
            names: o.dc_names,
            propagation: o.propagation,
            propagation_rng: o.propagation_rng,
            moves: Vec::new(),
            banning: Vec::new(),
            fencing: Vec::new(),
            fenced: vec![None; o.shards + o.globals],
            settling: false,
            watchers: vec![Vec::new(); o.shards + o.globals],
            shards: o.shards,
            push_timeout: o.push_timeout,
            push_retries: o.push_retries,
            pushing: vec![(0, 0); o.n_dcs],
            rolling_back: false,
            died_at: vec![SimTime::ZERO; o.n_dcs],
        }
    }

    /// The drain has begun: replication finishes, the controller rests.
    pub fn settle(&mut self) {
        self.settling = true;
    }

    /// Whether an applied replicated write may end a ban (`on_applied_at`).
    #[inline]
    pub fn waits_for_applies(&self) -> bool {
        (!self.banning.is_empty() || !self.fencing.is_empty()) && !self.settling
    }

    /// Whether any record fence holds now (the write path asks this first).
    #[inline]
    pub fn fencing(&self) -> bool {
        !self.fencing.is_empty()
    }

    /// The `reshard_at` of the record fence `dc` holds on `target`, if any:
    /// writes there to records last modified at or before it are refused.
    #[inline]
    pub fn fence_at(&self, target: Target, dc: DcId) -> Option<SimTime> {
        match self.fenced[self.unit_of(target).0] {
            Some((at_dc, reshard_at)) if at_dc == dc => Some(reshard_at),
            _ => None,
        }
    }

    /// DC `dc` died by `fault`: the record watches what it owned; the
    /// detector will notice.
    pub fn dc_died(
        &mut self,
        now: SimTime,
        dc: DcId,
        fault: FaultId,
        p: &mut Parts,
        queue: &mut EventQueue<Event>,
    ) {
        self.died_at[dc.idx()] = now;
        let table = p.routing.authoritative();
        let mut units: Vec<u32> = (0..table.owners.len())
            .filter(|&s| table.owners[s] == dc)
            .map(|s| p.checker.narrow_u32(s))
            .collect();
        for (g, &owner) in table.global_owners.iter().enumerate() {
            if owner == dc {
                units.push(global_unit(g));
            }
        }
        let failure = FailureId(u32::from(fault.0));
        p.metrics.failures[failure.idx()].watch(units);
        self.watch_units(failure, p);
        queue.schedule(
            now.after(self.cfg.detect_after),
            Event::DetectDown { fault },
        );
    }

    /// DC `dc` is back: it loads the current rules before it serves.
    pub fn dc_returned(
        &mut self,
        now: SimTime,
        dc: DcId,
        fault: FaultId,
        p: &mut Parts,
        queue: &mut EventQueue<Event>,
    ) {
        let latest = p.routing.version();
        p.routing.arrive(Holder::Dc(dc), latest);
        queue.schedule(now.after(self.cfg.detect_after), Event::DetectUp { fault });
    }

    /// A scheduled switchover (`fault`) starts now.
    pub fn switchover(
        &mut self,
        now: SimTime,
        fault: FaultId,
        shards: Vec<ShardId>,
        to: DcId,
        p: &mut Parts,
        queue: &mut EventQueue<Event>,
    ) {
        let failure = FailureId(u32::from(fault.0));
        p.metrics.failures[failure.idx()].watch(shards.iter().map(|s| s.0).collect());
        self.watch_units(failure, p);
        let mv = self.add_move(Move::switchover(failure, shards, to), p);
        queue.schedule(now, Event::Act { mv });
    }

    /// The detector noticed that `dc` (down by `fault`) died.
    pub fn detected_down(
        &mut self,
        now: SimTime,
        fault: FaultId,
        dc: DcId,
        p: &mut Parts,
        queue: &mut EventQueue<Event>,
    ) {
        let failure = FailureId(u32::from(fault.0));
        p.metrics.failures[failure.idx()].detected = Some(now);
        if self.cfg.auto {
            let mv = self.add_move(Move::failover(failure, dc), p);
            queue.schedule(now.after(self.cfg.decide_after), Event::Act { mv });
        }
    }

    /// The detector noticed that `dc` is back.
    pub fn detected_up(
        &mut self,
        now: SimTime,
        dc: DcId,
        p: &mut Parts,
        queue: &mut EventQueue<Event>,
    ) {
        if self.cfg.auto && self.cfg.failback {
            self.plan_failback(now, dc, p, queue);
        }
    }

    /// Every affected unit of record `failure` reports its recovery there
    /// too (a shard can be watched by several records at once: a DC failing
    /// twice, a failover and its failback, a drill during an outage).
    fn watch_units(&mut self, failure: FailureId, p: &Parts) {
        for &u in &p.metrics.failures[failure.idx()].units {
            let unit = match crate::metrics::unit_global(u) {
                Some(g) => self.shards + g,
                None => u as usize,
            };
            self.watchers[unit].push(failure);
        }
    }

    /// Where a target's watchers are kept, and its unit number in records.
    #[inline]
    fn unit_of(&self, target: Target) -> (usize, u32) {
        match target {
            Target::Shard(s) => (s.idx(), s.0),
            Target::Global(g) => (self.shards + g as usize, global_unit(g as usize)),
        }
    }

    /// A write to `target` arrived: its shard has a write attempt.
    #[inline]
    pub fn note_write_attempt(&self, target: Target, failures: &mut [FailureRecord]) {
        let (unit, number) = self.unit_of(target);
        for &f in &self.watchers[unit] {
            let rec = &mut failures[f.idx()];
            if let Ok(pos) = rec.units.binary_search(&number) {
                rec.attempted[pos] = true;
            }
        }
    }

    /// A request to `target` was refused at `now`: it counts against each
    /// record watching the shard that has not yet seen it recover.
    #[inline]
    pub fn note_rejection(&self, now: SimTime, target: Target, failures: &mut [FailureRecord]) {
        let (unit, number) = self.unit_of(target);
        for &f in &self.watchers[unit] {
            let rec = &mut failures[f.idx()];
            if let Ok(pos) = rec.units.binary_search(&number)
                && now >= rec.start
                && rec.first_ack[pos].is_none()
            {
                rec.rejected += 1;
            }
        }
    }

    /// A write to `target` that arrived at `began` was acknowledged at `now`.
    #[inline]
    pub fn note_recovery(
        &self,
        now: SimTime,
        target: Target,
        began: SimTime,
        failures: &mut [FailureRecord],
    ) {
        let (unit, number) = self.unit_of(target);
        for &f in &self.watchers[unit] {
            let rec = &mut failures[f.idx()];
            if let Ok(pos) = rec.units.binary_search(&number)
                && began >= rec.start
                && rec.first_ack[pos].is_none()
            {
                rec.first_ack[pos] = Some(now);
            }
        }
    }

    /// Moves home what failovers took from `dc` and their targets still own.
    fn plan_failback(
        &mut self,
        now: SimTime,
        dc: DcId,
        p: &mut Parts,
        queue: &mut EventQueue<Event>,
    ) {
        let table = p.routing.authoritative();
        let mut shards = Vec::new();
        let mut globals = Vec::new();
        for m in &self.moves {
            if m.kind != MoveKind::Failover || m.dc != Some(dc) || m.phase != Phase::Switched {
                continue;
            }
            let Some(to) = m.to else { continue };
            shards.extend(
                m.shards
                    .iter()
                    .copied()
                    .filter(|s| table.owners[s.idx()] == to),
            );
            globals.extend(
                m.globals
                    .iter()
                    .copied()
                    .filter(|&g| table.global_owners[g as usize] == to),
            );
        }
        shards.sort_unstable();
        shards.dedup();
        globals.sort_unstable();
        globals.dedup();
        if shards.is_empty() && globals.is_empty() {
            return;
        }
        // The failback's clock starts when the move does, after the decision.
        let start = now.after(self.cfg.decide_after);
        let mut rec = FailureRecord::blank("failback", self.names[dc.idx()].clone(), start);
        rec.started = true;
        let mut units: Vec<u32> = shards.iter().map(|s| s.0).collect();
        units.extend(globals.iter().map(|&g| global_unit(g as usize)));
        rec.watch(units);
        p.metrics.failures.push(rec);
        let failure = FailureId(p.checker.narrow_u32(p.metrics.failures.len() - 1));
        self.watch_units(failure, p);
        let mv = self.add_move(Move::failback(failure, dc, shards, globals), p);
        queue.schedule(now.after(self.cfg.decide_after), Event::Act { mv });
    }

    fn add_move(&mut self, m: Move, p: &mut Parts) -> MoveId {
        self.moves.push(m);
        MoveId(p.checker.narrow_u32(self.moves.len() - 1))
    }

    fn mv(&self, mv: MoveId) -> &Move {
        &self.moves[mv.idx()]
    }

    fn mv_mut(&mut self, mv: MoveId) -> &mut Move {
        &mut self.moves[mv.idx()]
    }

    /// The live DC a dead DC's shards go to.
    fn pick_target(&self, dead: DcId, p: &Parts) -> Option<DcId> {
        if let crate::scenario::FailoverTarget::Dc(d) = self.cfg.target
            && d != dead
            && p.is_up(d)
        {
            return Some(d);
        }
        (0..p.down.len())
            .map(|d| DcId(d as u16))
            .filter(|&d| d != dead && p.is_up(d))
            .min_by_key(|&d| (p.topology.initial_median(dead, d), d))
    }

    /// The DCs a move takes shards from.
    fn sources(&self, mv: MoveId, p: &Parts) -> Vec<DcId> {
        let m = self.mv(mv);
        let table = p.routing.authoritative();
        let mut out: Vec<DcId> = m.shards.iter().map(|s| table.owners[s.idx()]).collect();
        out.extend(m.globals.iter().map(|&g| table.global_owners[g as usize]));
        out.sort_unstable();
        out.dedup();
        out.retain(|&d| Some(d) != m.to);
        out
    }

    /// Publishes a table version: `immediate` DCs take it now, every other
    /// holder after its own propagation delay. Returns the longest delay to
    /// a live DC. A push to a DC can fail (`push_failure`, or a delay beyond
    /// `routing.push_timeout`): it is retried (`on_push_timeout`).
    pub(in crate::model) fn publish(
        &mut self,
        now: SimTime,
        table: super::routing::RoutingTable,
        immediate: &[DcId],
        p: &mut Parts,
        queue: &mut EventQueue<Event>,
    ) -> u64 {
        let down = p.down;
        p.checker
            .table_published(p.routing.authoritative(), &table, |d| down[d.idx()] == 0);
        let version = p.routing.publish(table);
        let mut longest = 0;
        for holder in p.routing.holders() {
            let delay = self.propagation.sample(&mut self.propagation_rng);
            let now_here = matches!(holder, Holder::Dc(d) if immediate.contains(&d));
            if let Holder::Dc(d) = holder
                && self.push_timeout.is_some()
                && p.is_up(d)
            {
                // A newer version replaces the retries of an older one; a
                // rollback's own pushes are not checked (it is not rolled
                // back in turn).
                self.pushing[d.idx()] = (version, 0);
                if !self.rolling_back
                    && self.push_failed(now, d, version, delay, now_here, p, queue)
                {
                    continue;
                }
            }
            if now_here || delay == 0 {
                p.routing.arrive(holder, version);
                continue;
            }
            if let Holder::Dc(d) = holder
                && p.is_up(d)
            {
                longest = longest.max(delay);
            }
            queue.schedule(now.after(delay), Event::TableArrives { holder, version });
        }
        longest
    }

    /// Whether the push of `version` to DC `d`, which would take `delay`
    /// (none if `immediate`), fails: then the controller notices at the
    /// timeout.
    #[allow(clippy::too_many_arguments)]
    fn push_failed(
        &mut self,
        now: SimTime,
        d: DcId,
        version: u32,
        delay: Nanos,
        immediate: bool,
        p: &mut Parts,
        queue: &mut EventQueue<Event>,
    ) -> bool {
        let Some(timeout) = self.push_timeout else {
            return false;
        };
        let late = !immediate && delay > timeout;
        if !p.routing.push_fails(d) && !late {
            return false;
        }
        p.metrics.totals.push_failures += 1;
        queue.schedule(now.after(timeout), Event::PushTimeout { dc: d, version });
        true
    }

    /// The push of `version` to `dc` was not confirmed in time: retry it,
    /// or, with the retries spent, roll back. Nothing is done if the DC
    /// has the version (or a newer one), is down (it loads the rules when
    /// it returns), or a newer push replaced this one.
    pub fn on_push_timeout(
        &mut self,
        now: SimTime,
        dc: DcId,
        version: u32,
        p: &mut Parts,
        queue: &mut EventQueue<Event>,
    ) {
        let holder = Holder::Dc(dc);
        if self.settling
            || !p.is_up(dc)
            || p.routing.copy_version(holder) >= version
            || self.pushing[dc.idx()].0 != version
        {
            return;
        }
        let retries = self.pushing[dc.idx()].1 + 1;
        if retries > self.push_retries {
            self.roll_back(now, dc, p, queue);
            return;
        }
        self.pushing[dc.idx()].1 = retries;
        let delay = self.propagation.sample(&mut self.propagation_rng);
        if self.push_failed(now, dc, version, delay, false, p, queue) {
            return;
        }
        if delay == 0 {
            p.routing.arrive(holder, version);
        } else {
            queue.schedule(now.after(delay), Event::TableArrives { holder, version });
        }
    }

    /// A push to `dc` ran out of retries: the controller publishes again the
    /// table `dc` still holds, so that every holder agrees with it, except
    /// that a unit whose owner there is down keeps its current owner (a
    /// rollback never hands a shard back to a dead DC). `dc` has it already;
    /// the others take it as any new version.
    fn roll_back(&mut self, now: SimTime, dc: DcId, p: &mut Parts, q: &mut EventQueue<Event>) {
        p.metrics.totals.push_rollbacks += 1;
        let current = p.routing.authoritative().clone();
        let mut table = p.routing.copy(Holder::Dc(dc)).clone();
        for (s, owner) in table.owners.iter_mut().enumerate() {
            if !p.is_up(*owner) {
                *owner = current.owners[s];
            }
        }
        for (g, owner) in table.global_owners.iter_mut().enumerate() {
            if !p.is_up(*owner) {
                *owner = current.global_owners[g];
            }
        }
        self.rolling_back = true;
        self.publish(now, table, &[dc], p, q);
        self.rolling_back = false;
    }
}
