//! Prefetch hints: before the kernel hands the world an event it shows
//! the world the next one, and the world asks the CPU to start loading the
//! memory that event will read (`kernel::prefetch`), chiefly a key's
//! storage record, which is a cache miss otherwise (records are spread
//! over the whole keyspace). Earlier events start the loads of later ones.
//! Hints change nothing: a run is the same with or without them.

use super::{Event, World};

impl World {
    /// Starts loading the key's storage record a service end or a
    /// replicated apply is about to read (a cache miss otherwise: records
    /// are spread over the whole keyspace), and a request's slot.
    #[inline]
    pub(super) fn prefetch_for(&self, next: &Event) {
        match *next {
            // A service end, or a request reaching its DC (its service ends
            // a while after; its index slot was asked for at admission).
            Event::Served { req, dc } | Event::Reach { req, dc } => {
                if let Some(key) = self
                    .requests
                    .get(req)
                    .and_then(|r| self.key_of_spec(&r.spec))
                {
                    self.storage.prefetch(dc, key);
                }
            }
            Event::ReplApply { stream, .. } => {
                // A pipeline over the stream's applies, which are a while
                // apart: the record of the entry after the head (its log
                // entry names it: no index read). The head's own was asked
                // for the same way before the stream's last apply; asking
                // again cost more than it saved (full suite, 3 x 3 rounds:
                // 9-DC/3-DC 1.216-1.231 asking for both, 1.193-1.199 not).
                let (_, dst) = self.repl.ends(stream);
                if let Some(r) = self.repl.next_record(stream) {
                    self.storage.prefetch_record(dst, r as usize);
                }
            }
            Event::Ack { req, .. } => self.requests.prefetch(req),
            _ => {}
        }
    }
}
