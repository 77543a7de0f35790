//! Per-component random streams.
//!
//! Every component (a link direction, a datacenter's servers, the arrival
//! process, ...) draws from its own ChaCha8 stream, keyed by the master seed
//! and a stable component id. Adding a component or a fault therefore never
//! shifts another component's draws.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator every component owns.
pub type ComponentRng = ChaCha8Rng;

/// The stream of component `component` under master seed `seed`.
pub fn stream(seed: u64, component: u64) -> ComponentRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(component);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn first(seed: u64, component: u64) -> [u64; 4] {
        let mut r = stream(seed, component);
        [r.next_u64(), r.next_u64(), r.next_u64(), r.next_u64()]
    }

    #[test]
    fn same_seed_and_component_give_the_same_stream() {
        assert_eq!(first(42, 7), first(42, 7));
    }

    #[test]
    fn components_and_seeds_get_different_streams() {
        assert_ne!(first(42, 7), first(42, 8));
        assert_ne!(first(42, 7), first(43, 7));
    }
}
