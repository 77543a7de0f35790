//! A move of shards to a new owner, from its start (`Act`) through the
//! optional write ban to the switch, or its abandonment.

use super::Controller;
use crate::ids::{DcId, FailureId, MoveId, ShardId};
use crate::kernel::EventQueue;
use crate::model::routing::Target;
use crate::model::world::{Event, Parts};
use crate::scenario::{Fence, Procedure, ReplMode};
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
    Switched,
    Abandoned,
}

/// One move of shards to a new owner.
#[derive(Clone, Debug)]
pub struct Move {
    pub kind: MoveKind,
    /// The failure record it reports into.
    pub failure: FailureId,
    /// The DC that died (failover) or comes home (failback).
    pub dc: Option<DcId>,
    pub shards: Vec<ShardId>,
    /// The global datasets it moves (their global numbers).
    pub globals: Vec<u8>,
    pub to: Option<DcId>,
    pub phase: Phase,
    /// The ban has reached every live DC.
    pub ban_everywhere: bool,
    /// Per source, the end of its log when the ban had reached every DC
    /// (or, under a record fence, at `reshard_at`): all it wrote to the
    /// moving shards before then lies before it.
    pub log_ends: Vec<(DcId, u64)>,
    /// Under a record fence: the move's start, and the DCs it took from.
    pub reshard_at: Option<SimTime>,
    pub fence_sources: Vec<DcId>,
}

impl Move {
    fn new(kind: MoveKind, failure: FailureId, dc: Option<DcId>) -> Move {
        Move {
            kind,
            failure,
            dc,
            shards: Vec::new(),
            globals: Vec::new(),
            to: None,
            phase: Phase::Waiting,
            ban_everywhere: false,
            log_ends: Vec::new(),
            reshard_at: None,
            fence_sources: Vec::new(),
        }
    }

    /// Moves what dead DC `dead` owns when the controller acts, to a target
    /// picked then.
    pub fn failover(failure: FailureId, dead: DcId) -> Move {
        Move::new(MoveKind::Failover, failure, Some(dead))
    }

    /// Moves `shards` to `to`, as scheduled.
    pub fn switchover(failure: FailureId, shards: Vec<ShardId>, to: DcId) -> Move {
        Move {
            shards,
            to: Some(to),
            ..Move::new(MoveKind::Switchover, failure, None)
        }
    }

    /// Moves `shards` and the global datasets `globals` home to `dc`.
    pub fn failback(failure: FailureId, dc: DcId, shards: Vec<ShardId>, globals: Vec<u8>) -> Move {
        Move {
            shards,
            globals,
            to: Some(dc),
            ..Move::new(MoveKind::Failback, failure, Some(dc))
        }
    }
}

impl Controller {
    /// Move `mv` starts: what it moves is fixed now, from the authoritative
    /// table; then it switches at once or bans writes first.
    pub fn on_act(&mut self, now: SimTime, mv: MoveId, p: &mut Parts, q: &mut EventQueue<Event>) {
        let m = self.mv(mv).clone();
        let table = p.routing.authoritative().clone();
        let (shards, globals, to) = match m.kind {
            MoveKind::Failover => {
                let dead = m.dc.expect("a failover names its dead DC");
                if p.is_up(dead) {
                    self.mv_mut(mv).phase = Phase::Abandoned;
                    return; // back before the controller acted
                }
                let shards: Vec<ShardId> = (0..table.owners.len())
                    .filter(|&s| table.owners[s] == dead)
                    .map(|s| ShardId(p.checker.narrow_u32(s)))
                    .collect();
                let globals = (0..table.global_owners.len())
                    .filter(|&g| table.global_owners[g] == dead)
                    .map(|g| g as u8)
                    .collect();
                (shards, globals, self.pick_target(dead, p))
            }
            MoveKind::Switchover | MoveKind::Failback => {
                let to = m.to.filter(|&t| p.is_up(t));
                let shards = m
                    .shards
                    .iter()
                    .copied()
                    .filter(|s| Some(table.owners[s.idx()]) != to)
                    .collect();
                let globals = m
                    .globals
                    .iter()
                    .copied()
                    .filter(|&g| Some(table.global_owners[g as usize]) != to)
                    .collect();
                (shards, globals, to)
            }
        };
        let Some(to) = to else {
            self.mv_mut(mv).phase = Phase::Abandoned;
            return; // no live DC to move to
        };
        let m = self.mv_mut(mv);
        m.shards = shards;
        m.globals = globals;
        m.to = Some(to);
        match self.cfg.procedure {
            Procedure::Switch => self.switch(now, mv, p, q),
            Procedure::BanThenSwitch if self.cfg.fence == Fence::Record => {
                self.fence_switch(now, mv, p, q);
            }
            Procedure::BanThenSwitch => {
                let mut banned = table;
                for s in &self.mv(mv).shards {
                    banned.banned[s.idx()] = true;
                }
                for &g in &self.mv(mv).globals {
                    banned.global_banned[g as usize] = true;
                }
                let sources = self.sources(mv, p);
                let ready_after = self.publish(now, banned, &sources, p, q);
                self.mv_mut(mv).phase = Phase::Banning;
                self.banning.push(mv);
                q.schedule(now.after(ready_after), Event::BanReady { mv });
                q.schedule(now.after(self.cfg.max_ban), Event::BanDeadline { mv });
            }
        }
    }

    /// Move `mv`'s ban has reached every live DC.
    pub fn on_ban_ready(
        &mut self,
        now: SimTime,
        mv: MoveId,
        p: &mut Parts,
        q: &mut EventQueue<Event>,
    ) {
        if self.mv(mv).phase != Phase::Banning {
            return;
        }
        let log_ends = self
            .sources(mv, p)
            .into_iter()
            .map(|s| (s, p.repl.log_end(s)))
            .collect();
        let m = self.mv_mut(mv);
        m.ban_everywhere = true;
        m.log_ends = log_ends;
        if self.caught_up(mv, p) {
            self.switch(now, mv, p, q);
        }
    }

    /// The units (indices into `fenced`) move `mv` moves.
    fn units_of(&self, mv: MoveId) -> Vec<usize> {
        let m = self.mv(mv);
        m.shards
            .iter()
            .map(|s| s.idx())
            .chain(m.globals.iter().map(|&g| self.shards + g as usize))
            .collect()
    }

    /// Move `mv` has waited `max_ban`: it switches with what it has.
    pub fn on_ban_deadline(
        &mut self,
        now: SimTime,
        mv: MoveId,
        p: &mut Parts,
        q: &mut EventQueue<Event>,
    ) {
        if self.fencing.contains(&mv) {
            self.lift_fence(mv, true, p);
            return;
        }
        if self.mv(mv).phase != Phase::Banning {
            return;
        }
        let failure = self.mv(mv).failure;
        p.metrics.failures[failure.idx()].ban_timed_out = true;
        self.switch(now, mv, p, q);
    }

    /// Eleme's record fence: note `reshard_at` (now) and what each live
    /// source has logged by then, switch at once, and let the target refuse
    /// writes to records last modified by then until it has applied all of
    /// that (a dead source will send nothing more), at most `max_ban`.
    fn fence_switch(&mut self, now: SimTime, mv: MoveId, p: &mut Parts, q: &mut EventQueue<Event>) {
        let sources = self.sources(mv, p);
        let log_ends = sources
            .iter()
            .filter(|&&s| p.is_up(s))
            .map(|&s| (s, p.repl.log_end(s)))
            .collect();
        let m = self.mv_mut(mv);
        m.log_ends = log_ends;
        m.fence_sources = sources;
        m.reshard_at = Some(now);
        self.switch_as(now, mv, false, p, q);
        let m = self.mv(mv);
        if m.phase != Phase::Switched {
            return;
        }
        let to = m.to.expect("a started move has a target");
        let units = self.units_of(mv);
        for u in units {
            self.fenced[u] = Some((to, now));
        }
        self.fencing.push(mv);
        q.schedule(now.after(self.cfg.max_ban), Event::BanDeadline { mv });
        if self.caught_up(mv, p) {
            self.lift_fence(mv, false, p);
        }
    }

    /// Move `mv`'s record fence ends (the target caught up, or `max_ban`
    /// passed): RPO is what the target still lacks of the sources' writes.
    fn lift_fence(&mut self, mv: MoveId, timed_out: bool, p: &mut Parts) {
        self.fencing.retain(|&f| f != mv);
        let m = self.mv(mv);
        let held = m.to.zip(m.reshard_at);
        let units = self.units_of(mv);
        let (sources, failure) = (m.fence_sources.clone(), m.failure);
        for u in units {
            if self.fenced[u] == held {
                self.fenced[u] = None;
            }
        }
        if timed_out {
            p.metrics.failures[failure.idx()].ban_timed_out = true;
        }
        self.record_rpo(mv, &sources, p);
    }

    /// A replicated write was applied at `dst`: a ban waiting on it may end.
    pub fn on_applied_at(
        &mut self,
        now: SimTime,
        dst: DcId,
        p: &mut Parts,
        q: &mut EventQueue<Event>,
    ) {
        for i in (0..self.banning.len()).rev() {
            let mv = self.banning[i];
            let m = self.mv(mv);
            if m.ban_everywhere && m.to == Some(dst) && self.caught_up(mv, p) {
                self.switch(now, mv, p, q);
            }
        }
        for i in (0..self.fencing.len()).rev() {
            let mv = self.fencing[i];
            if self.mv(mv).to == Some(dst) && self.caught_up(mv, p) {
                self.lift_fence(mv, false, p);
            }
        }
    }

    /// Whether the target has applied all it can still get from the
    /// sources: everything they logged before the ban took effect, unless
    /// the source is dead (then nothing more will come). A live source cut
    /// off by the network is waited for, up to `max_ban`.
    fn caught_up(&self, mv: MoveId, p: &Parts) -> bool {
        let m = self.mv(mv);
        let to = m.to.expect("a started move has a target");
        m.log_ends
            .iter()
            .all(|&(s, end)| !p.is_up(s) || p.repl.head_index(p.repl.stream_id(s, to)) >= end)
    }

    /// Moves the shards: recovery from the survivors (quorum, sync), RPO,
    /// and the new owners published with the ban lifted.
    fn switch(&mut self, now: SimTime, mv: MoveId, p: &mut Parts, q: &mut EventQueue<Event>) {
        self.switch_as(now, mv, true, p, q);
    }

    /// The switch, with RPO taken now (`rpo`) or when a fence lifts.
    fn switch_as(
        &mut self,
        now: SimTime,
        mv: MoveId,
        rpo: bool,
        p: &mut Parts,
        q: &mut EventQueue<Event>,
    ) {
        let m = self.mv(mv);
        let to = m.to.expect("a started move has a target");
        let failure = m.failure;
        // A dead target, or a DC back before its failover switched: the
        // move no longer makes sense.
        let back = m.kind == MoveKind::Failover && m.dc.is_some_and(|d| p.is_up(d));
        if !p.is_up(to) || back {
            self.abandon(now, mv, p, q);
            return;
        }
        let sources = self.sources(mv, p);
        // A consensus group's new leader first learns every entry a
        // majority holds, from a dead or a live old leader alike.
        if matches!(self.mode, ReplMode::Quorum | ReplMode::Sync) {
            for &s in &sources {
                recover_from_survivors(now, s, to, p, q);
            }
        }
        if rpo {
            self.record_rpo(mv, &sources, p);
        }
        let m = self.mv(mv);
        let mut table = p.routing.authoritative().clone();
        for s in &m.shards {
            table.owners[s.idx()] = to;
            table.banned[s.idx()] = false;
        }
        for &g in &m.globals {
            table.global_owners[g as usize] = to;
            table.global_banned[g as usize] = false;
        }
        let live_sources: Vec<DcId> = sources.into_iter().filter(|&s| p.is_up(s)).collect();
        self.publish(now, table, &live_sources, p, q);
        let rec = &mut p.metrics.failures[failure.idx()];
        rec.switched = Some(now);
        rec.moved_to = Some(to);
        self.mv_mut(mv).phase = Phase::Switched;
        self.banning.retain(|&b| b != mv);
    }

    /// RPO of a switch: what the sources wrote to the moving units that
    /// the target has not applied.
    fn record_rpo(&self, mv: MoveId, sources: &[DcId], p: &mut Parts) {
        let m = self.mv(mv);
        let to = m.to.expect("a started move has a target");
        let mut moving = vec![false; p.sharding.shards() as usize];
        for s in &m.shards {
            moving[s.idx()] = true;
        }
        let (keys, sharding) = (p.keys, p.sharding);
        let wanted = |key: u32| match keys.target_of(key, sharding) {
            Target::Shard(s) => moving[s.idx()],
            Target::Global(g) => m.globals.contains(&g),
        };
        let dead: Vec<bool> = sources.iter().map(|&s| !p.is_up(s)).collect();
        let rec = &mut p.metrics.failures[m.failure.idx()];
        for (&s, dead) in sources.iter().zip(dead) {
            let u = p.repl.unapplied(s, to, wanted);
            rec.rpo_writes += u.acked;
            rec.stranded += u.all;
            if let Some(t) = u.oldest_acked {
                rec.rpo_oldest = Some(rec.rpo_oldest.map_or(t, |o| o.min(t)));
                // A source that died before the move (an operator's move
                // off a dead DC) lost its writes when it died, not now.
                let died = self.died_at[s.idx()];
                if dead && died < rec.start {
                    rec.rpo_from = Some(rec.rpo_from.map_or(died, |f| f.min(died)));
                }
            }
        }
    }

    /// The target died before the switch: lift the move's ban, owners
    /// unchanged (the target's own failure is handled by its detection).
    fn abandon(&mut self, now: SimTime, mv: MoveId, p: &mut Parts, q: &mut EventQueue<Event>) {
        let m = self.mv(mv);
        let mut table = p.routing.authoritative().clone();
        for s in &m.shards {
            table.banned[s.idx()] = false;
        }
        for &g in &m.globals {
            table.global_banned[g as usize] = false;
        }
        let live_sources: Vec<DcId> = self
            .sources(mv, p)
            .into_iter()
            .filter(|&s| p.is_up(s))
            .collect();
        self.publish(now, table, &live_sources, p, q);
        self.mv_mut(mv).phase = Phase::Abandoned;
        self.banning.retain(|&b| b != mv);
        // A failover whose target died is tried again, to another target,
        // as long as the DC it rescues is still down.
        let m = self.mv(mv);
        if m.kind == MoveKind::Failover
            && let Some(dead) = m.dc.filter(|&d| !p.is_up(d))
        {
            let again = self.add_move(Move::failover(m.failure, dead), p);
            q.schedule(now, Event::Act { mv: again });
        }
    }
}

/// The target takes every write of dead `src` that a surviving DC applied.
fn recover_from_survivors(
    now: SimTime,
    src: DcId,
    to: DcId,
    p: &mut Parts,
    q: &mut EventQueue<Event>,
) {
    let down = p.down;
    let upto = p.repl.applied_elsewhere(src, to, |d| down[d.idx()] == 0);
    // Take the stream's unapplied entries back (a live source's stream
    // ships again, in order, from where recovery leaves it).
    let stream = p.repl.stream_id(src, to);
    let was_blocked = p.repl.is_blocked(stream);
    p.repl.set_blocked(stream, true);
    while let Some(index) = p.repl.take_recovered(src, to, upto) {
        p.apply_replicated(now, stream, index);
    }
    if !was_blocked {
        p.repl.set_blocked(stream, false);
        p.ship(stream, now, q);
    }
}
