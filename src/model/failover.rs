//! Datacenter failures and the failover controller.
//!
//! A `dc_down` fault kills a DC at once: it stops serving (requests it holds
//! fail) and replicating (its streams block, so every write its peers have
//! not applied is stranded in its log until it returns). The detector
//! notices after `failover.detect_after`; entry routing then avoids the DC,
//! and the controller, after `decide_after`, moves the DC's shards (and the
//! global dataset, if it owned it) to the target:
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

use super::routing::{Holder, RoutingTable, Target};
use super::storage::Applied;
use super::world::{Event, World};
use crate::ids::{DcId, RegionId, ShardId};
use crate::kernel::EventQueue;
use crate::metrics::{FailureRecord, GLOBAL_UNIT};
use crate::scenario::{FailoverTarget, FaultKind, Procedure, ReplMode};
use crate::time::SimTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveKind {
    Failover,
    Switchover,
    Failback,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Waiting,
    Banning,
    Done,
    Abandoned,
}

/// One move of shards to a new owner.
#[derive(Clone, Debug)]
pub struct Move {
    pub kind: MoveKind,
    /// The failure record it reports into.
    pub row: usize,
    /// The DC that died (failover) or comes home (failback).
    pub dc: Option<DcId>,
    pub shards: Vec<ShardId>,
    pub global: bool,
    pub to: Option<DcId>,
    pub phase: Phase,
    /// The ban has reached every live DC.
    pub ready: bool,
    /// Per source, the end of its log when the ban had reached every DC:
    /// all it wrote to the moving shards lies before it.
    pub marks: Vec<(DcId, u64)>,
}

impl World {
    /// The control-plane side of a fault starting or healing.
    pub(super) fn on_fault_control(
        &mut self,
        now: SimTime,
        index: u16,
        start: bool,
        queue: &mut EventQueue<Event>,
    ) {
        let kind = self.faults.kind(index).clone();
        match kind {
            FaultKind::DcDown { dc } if start => self.dc_dies(now, dc, index, queue),
            FaultKind::DcDown { dc } => self.dc_returns(now, dc, index, queue),
            FaultKind::Switchover { shards, to } if start => {
                let row = index as usize;
                self.metrics.failures[row].watch(shards.iter().map(|s| s.0).collect());
                self.watch_units(row);
                let op = self.new_move(MoveKind::Switchover, row, None, shards, false, Some(to));
                queue.schedule(now, Event::Act { op });
            }
            _ => {}
        }
    }

    fn dc_dies(&mut self, now: SimTime, dc: DcId, index: u16, queue: &mut EventQueue<Event>) {
        self.down[dc.idx()] += 1;
        if self.down[dc.idx()] > 1 {
            return; // already down
        }
        self.topology.set_dc(dc, false);
        self.fail_requests_at(now, dc);
        // The shards it owned now, and the global dataset if it wrote it.
        let table = self.routing.authoritative();
        let mut units: Vec<u32> = (0..table.owners.len() as u32)
            .filter(|&s| table.owners[s as usize] == dc)
            .collect();
        if table.global_owner == dc {
            units.push(GLOBAL_UNIT);
        }
        let row = index as usize;
        self.metrics.failures[row].watch(units);
        self.watch_units(row);
        queue.schedule(
            now.after(self.failover.detect_after),
            Event::Detect { index, up: false },
        );
    }

    fn dc_returns(&mut self, now: SimTime, dc: DcId, index: u16, queue: &mut EventQueue<Event>) {
        self.down[dc.idx()] = self.down[dc.idx()].saturating_sub(1);
        if self.down[dc.idx()] > 0 {
            return;
        }
        self.topology.set_dc(dc, true);
        // A returning DC loads the current rules before it serves.
        let latest = self.routing.version();
        self.routing.arrive(Holder::Dc(dc), latest);
        queue.schedule(
            now.after(self.failover.detect_after),
            Event::Detect { index, up: true },
        );
    }

    /// Every affected unit of record `row` reports its recovery there too
    /// (a shard can be watched by several records at once: a DC failing
    /// twice, a failover and its failback, a drill during an outage).
    fn watch_units(&mut self, row: usize) {
        for &u in &self.metrics.failures[row].units {
            let slot = if u == GLOBAL_UNIT {
                self.watch.len() - 1
            } else {
                u as usize
            };
            self.watch[slot].push(row as u32);
        }
    }

    /// The watch slot and unit number of a target.
    #[inline]
    fn unit_of(&self, target: Target) -> (usize, u32) {
        match target {
            Target::Shard(s) => (s.idx(), s.0),
            Target::Global => (self.watch.len() - 1, GLOBAL_UNIT),
        }
    }

    /// A write to `target` arrived: its shard has a write attempt.
    #[inline]
    pub(super) fn note_write_attempt(&mut self, target: Target) {
        let (slot, unit) = self.unit_of(target);
        for &row in &self.watch[slot] {
            let rec = &mut self.metrics.failures[row as usize];
            if let Ok(pos) = rec.units.binary_search(&unit) {
                rec.attempted[pos] = true;
            }
        }
    }

    /// A write to `target` that arrived at `began` was acknowledged at `now`.
    #[inline]
    pub(super) fn note_recovery(&mut self, now: SimTime, target: Target, began: SimTime) {
        let (slot, unit) = self.unit_of(target);
        for &row in &self.watch[slot] {
            let rec = &mut self.metrics.failures[row as usize];
            if let Ok(pos) = rec.units.binary_search(&unit)
                && began >= rec.start
                && rec.first_ack[pos].is_none()
            {
                rec.first_ack[pos] = Some(now);
            }
        }
    }

    pub(super) fn on_detect(
        &mut self,
        now: SimTime,
        index: u16,
        up: bool,
        queue: &mut EventQueue<Event>,
    ) {
        let FaultKind::DcDown { dc } = *self.faults.kind(index) else {
            return;
        };
        if up != self.is_up(dc) {
            return; // the DC changed state again before the detector noticed
        }
        self.known_down[dc.idx()] = !up;
        self.refresh_nearest();
        if !up {
            self.metrics.failures[index as usize].detected = Some(now);
            if self.failover.auto {
                let op = self.new_move(
                    MoveKind::Failover,
                    index as usize,
                    Some(dc),
                    Vec::new(),
                    false,
                    None,
                );
                queue.schedule(now.after(self.failover.decide_after), Event::Act { op });
            }
        } else if self.failover.auto && self.failover.failback {
            self.plan_failback(now, dc, queue);
        }
    }

    /// Moves home what failovers took from `dc` and their targets still own.
    fn plan_failback(&mut self, now: SimTime, dc: DcId, queue: &mut EventQueue<Event>) {
        let table = self.routing.authoritative();
        let mut shards = Vec::new();
        let mut global = false;
        for m in &self.moves {
            if m.kind != MoveKind::Failover || m.dc != Some(dc) || m.phase != Phase::Done {
                continue;
            }
            let Some(to) = m.to else { continue };
            shards.extend(
                m.shards
                    .iter()
                    .copied()
                    .filter(|s| table.owners[s.idx()] == to),
            );
            global |= m.global && table.global_owner == to;
        }
        shards.sort_unstable();
        shards.dedup();
        if shards.is_empty() && !global {
            return;
        }
        // The failback's clock starts when the move does, after the decision.
        let start = now.after(self.failover.decide_after);
        let mut rec = FailureRecord::blank("failback", self.names[dc.idx()].clone(), start);
        rec.started = true;
        let mut units: Vec<u32> = shards.iter().map(|s| s.0).collect();
        if global {
            units.push(GLOBAL_UNIT);
        }
        rec.watch(units);
        self.metrics.failures.push(rec);
        let row = self.metrics.failures.len() - 1;
        self.watch_units(row);
        let op = self.new_move(MoveKind::Failback, row, Some(dc), shards, global, Some(dc));
        queue.schedule(now.after(self.failover.decide_after), Event::Act { op });
    }

    fn new_move(
        &mut self,
        kind: MoveKind,
        row: usize,
        dc: Option<DcId>,
        shards: Vec<ShardId>,
        global: bool,
        to: Option<DcId>,
    ) -> u16 {
        self.moves.push(Move {
            kind,
            row,
            dc,
            shards,
            global,
            to,
            phase: Phase::Waiting,
            ready: false,
            marks: Vec::new(),
        });
        (self.moves.len() - 1) as u16
    }

    /// The live DC a dead DC's shards go to.
    fn pick_target(&self, dead: DcId) -> Option<DcId> {
        if let FailoverTarget::Dc(d) = self.failover.target
            && d != dead
            && self.is_up(d)
        {
            return Some(d);
        }
        (0..self.n_dcs)
            .map(|d| DcId(d as u16))
            .filter(|&d| d != dead && self.is_up(d))
            .min_by_key(|&d| (self.topology.initial_median(dead, d), d))
    }

    pub(super) fn on_act(&mut self, now: SimTime, op: u16, queue: &mut EventQueue<Event>) {
        let m = self.moves[op as usize].clone();
        let table = self.routing.authoritative().clone();
        let (shards, global, to) = match m.kind {
            MoveKind::Failover => {
                let dead = m.dc.expect("a failover names its dead DC");
                if self.is_up(dead) {
                    self.moves[op as usize].phase = Phase::Abandoned;
                    return; // back before the controller acted
                }
                let shards: Vec<ShardId> = (0..table.owners.len() as u32)
                    .map(ShardId)
                    .filter(|s| table.owners[s.idx()] == dead)
                    .collect();
                (shards, table.global_owner == dead, self.pick_target(dead))
            }
            MoveKind::Switchover | MoveKind::Failback => {
                let to = m.to.filter(|&t| self.is_up(t));
                let shards = m
                    .shards
                    .iter()
                    .copied()
                    .filter(|s| Some(table.owners[s.idx()]) != to)
                    .collect();
                (shards, m.global && Some(table.global_owner) != to, to)
            }
        };
        let Some(to) = to else {
            self.moves[op as usize].phase = Phase::Abandoned;
            return; // no live DC to move to
        };
        {
            let mv = &mut self.moves[op as usize];
            mv.shards = shards;
            mv.global = global;
            mv.to = Some(to);
        }
        match self.failover.procedure {
            Procedure::Switch => self.switch(now, op, queue),
            Procedure::BanThenSwitch => {
                let mut banned = table;
                for s in &self.moves[op as usize].shards {
                    banned.banned[s.idx()] = true;
                }
                banned.global_banned |= global;
                let sources = self.sources(op);
                let ready_after = self.publish(now, banned, &sources, queue);
                self.moves[op as usize].phase = Phase::Banning;
                self.banning.push(op);
                queue.schedule(now.after(ready_after), Event::BanReady { op });
                queue.schedule(now.after(self.failover.max_ban), Event::BanDeadline { op });
            }
        }
    }

    /// The DCs a move takes shards from.
    fn sources(&self, op: u16) -> Vec<DcId> {
        let m = &self.moves[op as usize];
        let table = self.routing.authoritative();
        let mut out: Vec<DcId> = m.shards.iter().map(|s| table.owners[s.idx()]).collect();
        if m.global {
            out.push(table.global_owner);
        }
        out.sort_unstable();
        out.dedup();
        out.retain(|&d| Some(d) != m.to);
        out
    }

    /// Publishes a table version: `immediate` DCs take it now, every other
    /// holder after its own propagation delay. Returns the longest delay to
    /// a live DC.
    fn publish(
        &mut self,
        now: SimTime,
        table: RoutingTable,
        immediate: &[DcId],
        queue: &mut EventQueue<Event>,
    ) -> u64 {
        let version = self.routing.publish(table);
        let holders = self.n_dcs + self.nearest.len();
        let mut longest = 0;
        for h in 0..holders {
            let holder = if h < self.n_dcs {
                Holder::Dc(DcId(h as u16))
            } else {
                Holder::Edge(RegionId((h - self.n_dcs) as u16))
            };
            let delay = self.propagation.sample(&mut self.propagation_rng);
            let now_here = matches!(holder, Holder::Dc(d) if immediate.contains(&d));
            if now_here || delay == 0 {
                self.routing.arrive(holder, version);
                continue;
            }
            if let Holder::Dc(d) = holder
                && self.is_up(d)
            {
                longest = longest.max(delay);
            }
            queue.schedule(
                now.after(delay),
                Event::TableArrives {
                    holder: h as u16,
                    version,
                },
            );
        }
        longest
    }

    pub(super) fn on_table_arrives(&mut self, holder: u16, version: u32) {
        let h = holder as usize;
        let holder = if h < self.n_dcs {
            Holder::Dc(DcId(h as u16))
        } else {
            Holder::Edge(RegionId((h - self.n_dcs) as u16))
        };
        self.routing.arrive(holder, version);
    }

    pub(super) fn on_ban_ready(&mut self, now: SimTime, op: u16, queue: &mut EventQueue<Event>) {
        if self.moves[op as usize].phase != Phase::Banning {
            return;
        }
        let marks = self
            .sources(op)
            .into_iter()
            .map(|s| (s, self.repl.log_end(s)))
            .collect();
        let m = &mut self.moves[op as usize];
        m.ready = true;
        m.marks = marks;
        if self.caught_up(op) {
            self.switch(now, op, queue);
        }
    }

    pub(super) fn on_ban_deadline(&mut self, now: SimTime, op: u16, queue: &mut EventQueue<Event>) {
        if self.moves[op as usize].phase != Phase::Banning {
            return;
        }
        let row = self.moves[op as usize].row;
        self.metrics.failures[row].ban_timed_out = true;
        self.switch(now, op, queue);
    }

    /// A replicated write was applied at `dst`: a ban waiting on it may end.
    pub(super) fn on_applied_at(&mut self, now: SimTime, dst: DcId, queue: &mut EventQueue<Event>) {
        for i in (0..self.banning.len()).rev() {
            let op = self.banning[i];
            let m = &self.moves[op as usize];
            if m.ready && m.to == Some(dst) && self.caught_up(op) {
                self.switch(now, op, queue);
            }
        }
    }

    /// Whether the target has applied all it can still get from the
    /// sources: everything they logged before the ban took effect, unless
    /// the source is dead (then nothing more will come). A live source cut
    /// off by the network is waited for, up to `max_ban`.
    fn caught_up(&self, op: u16) -> bool {
        let m = &self.moves[op as usize];
        let to = m.to.expect("a started move has a target");
        m.marks.iter().all(|&(s, mark)| {
            !self.is_up(s) || self.repl.head_index(self.repl.stream_id(s, to)) >= mark
        })
    }

    /// Moves the shards: recovery from the survivors (quorum, sync), RPO,
    /// and the new owners published with the ban lifted.
    fn switch(&mut self, now: SimTime, op: u16, queue: &mut EventQueue<Event>) {
        let to = self.moves[op as usize]
            .to
            .expect("a started move has a target");
        let row = self.moves[op as usize].row;
        let m = &self.moves[op as usize];
        // A dead target, or a DC back before its failover switched: the
        // move no longer makes sense.
        let back = m.kind == MoveKind::Failover && m.dc.is_some_and(|d| self.is_up(d));
        if !self.is_up(to) || back {
            self.abandon(now, op, queue);
            return;
        }
        let sources = self.sources(op);
        // A consensus group's new leader first learns every entry a
        // majority holds, from a dead or a live old leader alike.
        if matches!(self.mode, ReplMode::Quorum | ReplMode::Sync) {
            for &s in &sources {
                self.recover_from_survivors(now, s, to, queue);
            }
        }
        let m = &self.moves[op as usize];
        let mut moving = vec![false; self.sharding.shards() as usize];
        for s in &m.shards {
            moving[s.idx()] = true;
        }
        let global = m.global;
        let sharded_keys = self.sharded_keys;
        let sharding = &self.sharding;
        let wanted = |key: u32| {
            if (key as u64) < sharded_keys {
                moving[sharding.shard_of(key).idx()]
            } else {
                global
            }
        };
        let rec = &mut self.metrics.failures[row];
        for &s in &sources {
            let u = self.repl.unapplied(s, to, wanted);
            rec.rpo_writes += u.acked;
            rec.stranded += u.all;
            if let Some(t) = u.oldest_acked {
                rec.rpo_oldest = Some(rec.rpo_oldest.map_or(t, |o| o.min(t)));
            }
        }
        rec.switched = Some(now);
        rec.moved_to = Some(to);
        let m = &self.moves[op as usize];
        let mut table = self.routing.authoritative().clone();
        for s in &m.shards {
            table.owners[s.idx()] = to;
            table.banned[s.idx()] = false;
        }
        if m.global {
            table.global_owner = to;
            table.global_banned = false;
        }
        let live_sources: Vec<DcId> = sources.into_iter().filter(|&s| self.is_up(s)).collect();
        self.publish(now, table, &live_sources, queue);
        self.moves[op as usize].phase = Phase::Done;
        self.banning.retain(|&b| b != op);
    }

    /// The target died before the switch: lift the move's ban, owners
    /// unchanged (the target's own failure is handled by its detection).
    fn abandon(&mut self, now: SimTime, op: u16, queue: &mut EventQueue<Event>) {
        let m = &self.moves[op as usize];
        let mut table = self.routing.authoritative().clone();
        for s in &m.shards {
            table.banned[s.idx()] = false;
        }
        if m.global {
            table.global_banned = false;
        }
        let live_sources: Vec<DcId> = self
            .sources(op)
            .into_iter()
            .filter(|&s| self.is_up(s))
            .collect();
        self.publish(now, table, &live_sources, queue);
        self.moves[op as usize].phase = Phase::Abandoned;
        self.banning.retain(|&b| b != op);
        // A failover whose target died is tried again, to another target,
        // as long as the DC it rescues is still down.
        let m = &self.moves[op as usize];
        if m.kind == MoveKind::Failover
            && let Some(dead) = m.dc.filter(|&d| !self.is_up(d))
        {
            let again = self.new_move(
                MoveKind::Failover,
                m.row,
                Some(dead),
                Vec::new(),
                false,
                None,
            );
            queue.schedule(now, Event::Act { op: again });
        }
    }

    /// The target takes every write of dead `src` that a surviving DC applied.
    fn recover_from_survivors(
        &mut self,
        now: SimTime,
        src: DcId,
        to: DcId,
        queue: &mut EventQueue<Event>,
    ) {
        let down = self.down.clone();
        let upto = self.repl.applied_elsewhere(src, to, |d| down[d.idx()] == 0);
        // Take the stream's unapplied entries back (a live source's stream
        // ships again, in order, from where recovery leaves it).
        let stream = self.repl.stream_id(src, to);
        let was_blocked = self.repl.is_blocked(stream);
        self.repl.set_blocked(stream, true);
        while let Some((index, entry, vv)) = self.repl.take_recovered(src, to, upto) {
            let outcome = self.storage.apply_remote(to, &entry.write, vv);
            self.metrics.totals.replicated += 1;
            self.metrics
                .record_lag(src, to, now, now.since(entry.written));
            if matches!(outcome, Applied::ConflictWon | Applied::ConflictLost)
                && !self.repl.mark_conflicted(src, index)
            {
                self.metrics.totals.conflicts += 1;
                self.metrics.at(now, to).conflicts += 1;
            }
        }
        if !was_blocked {
            self.repl.set_blocked(stream, false);
            self.ship(stream, now, queue);
        }
    }
}
