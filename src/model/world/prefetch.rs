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
                // A pipeline over the stream's next applies, which are a
                // while off: the head's record and the next one's (their
                // log entries name them: no index read).
                let (_, dst) = self.repl.ends(stream);
                for r in self.repl.head_records(stream).into_iter().flatten() {
                    self.storage.prefetch_record(dst, r as usize);
                }
            }
            Event::Ack { req, .. } => self.requests.prefetch(req),
            _ => {}
        }
    }
}
