//! A datacenter's serving capacity: `servers` identical servers, a FIFO
//! waiting room of `queue` places (`DEFAULT_QUEUE` unless the scenario sets
//! it), and a service-time distribution. With unlimited servers nothing
//! ever waits.

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

/// Waiting-room places of a DC with limited servers whose scenario sets no
/// `queue`: an overloaded DC refuses what does not fit instead of holding an
/// ever-growing queue, so an overload is simulated in bounded memory (about
/// 100 bytes a waiting request: 10 MB per DC). Far above what a DC that
/// keeps up ever holds: 100,000 waiting requests are 3 s of work for 64
/// servers at 2 ms each.
pub const DEFAULT_QUEUE: u32 = 100_000;

pub struct Servers {
    servers: Option<u32>,
    /// Waiting-room places.
    queue: u32,
    busy: u32,
    waiting: VecDeque<ReqHandle>,
    service: Dist,
    rng: ComponentRng,
}

impl Servers {
    pub fn new(cfg: &DcConfig, seed: u64, component: u64) -> Servers {
        Servers {
            servers: cfg.servers,
            queue: cfg.queue.unwrap_or(DEFAULT_QUEUE),
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
                if self.waiting.len() >= self.queue as usize {
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
