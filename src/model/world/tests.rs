//! Each invariant check, made to fire inside a real world.
