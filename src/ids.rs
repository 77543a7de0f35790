//! Small copyable ids into the model's tables. They order and hash like the
//! integers they wrap, so collections keyed by them iterate deterministically.

macro_rules! id {
    ($(#[$doc:meta])* $name:ident($int:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $int);

        impl $name {
            #[inline]
            pub fn idx(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id!(
    /// A datacenter: its index in the scenario's `[[datacenter]]` list.
    DcId(u16)
);
id!(
    /// A user region: its index in the scenario's `[[region]]` list.
    RegionId(u16)
);
id!(
    /// A shard of the sharded dataset.
    ShardId(u32)
);
id!(
    /// A fault: its index in the scenario's `[[fault]]` list.
    FaultId(u16)
);
id!(
    /// A shard move the failover controller started: its index in the
    /// controller's list of moves.
    MoveId(u32)
);
id!(
    /// A failure record (a row of `failures.csv`): one per fault, then one
    /// per failback the controller starts.
    FailureId(u32)
);
id!(
    /// A replication stream from one DC to another (`source × DCs + destination`).
    StreamId(u32)
);
