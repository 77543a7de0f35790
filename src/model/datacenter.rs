//! A datacenter's serving capacity: `servers` identical servers, a FIFO
//! waiting room of `queue` places, and a service-time distribution. With
//! unlimited servers nothing ever waits.

use std::collections::VecDeque;

use super::world::ReqHandle;
use crate::kernel::{ComponentRng, stream};
use crate::scenario::{DcConfig, Dist};
use crate::time::Nanos;

/// What happens to a request arriving at the servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// A server took it; it is done after this long.
    Start(Nanos),
    /// All servers busy; it waits its turn.
    Queued,
    /// All servers busy and the waiting room full: refused.
    Full,
}

pub struct Servers {
    servers: Option<u32>,
    queue: Option<u32>,
    busy: u32,
    waiting: VecDeque<ReqHandle>,
    service: Dist,
    rng: ComponentRng,
}

impl Servers {
    pub fn new(cfg: &DcConfig, seed: u64, component: u64) -> Servers {
        Servers {
            servers: cfg.servers,
            queue: cfg.queue,
            busy: 0,
            waiting: VecDeque::new(),
            service: cfg.service_time.clone(),
            rng: stream(seed, component),
        }
    }

    /// Admits request `req`.
    #[inline]
    pub fn arrive(&mut self, req: ReqHandle) -> Admit {
        match self.servers {
            Some(n) if self.busy >= n => {
                if self.queue.is_some_and(|q| self.waiting.len() >= q as usize) {
                    Admit::Full
                } else {
                    self.waiting.push_back(req);
                    Admit::Queued
                }
            }
            _ => {
                self.busy += 1;
                Admit::Start(self.service.sample(&mut self.rng))
            }
        }
    }

    /// A server finished; returns the next waiting request and its service
    /// time, if one starts now.
    #[inline]
    pub fn finish(&mut self) -> Option<(ReqHandle, Nanos)> {
        debug_assert!(self.busy > 0, "a server finished that was not busy");
        match self.waiting.pop_front() {
            Some(next) => Some((next, self.service.sample(&mut self.rng))),
            None => {
                self.busy -= 1;
                None
            }
        }
    }

    /// The DC died: every server stops and the waiting room empties.
    pub fn reset(&mut self) {
        self.busy = 0;
        self.waiting.clear();
    }

    pub fn busy(&self) -> u32 {
        self.busy
    }

    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }
}
