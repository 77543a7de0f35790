//! Each check of the checker, made to fire on a deliberately broken state.
