//! Staged switchovers: a `switchover` with `batch` and `every` moves its
//! shards a batch at a time, each batch a move of its own.

use super::super::readers::{Ctx, int, positive_duration, show_duration};
use super::{Fault, FaultKind, Key, KeyDefault, Type};
use crate::ids::{DcId, ShardId};
use crate::time::Nanos;

pub(super) const BATCH: Key = Key::new(
    "batch",
    Type::Int {
        min: 1,
        max: super::super::sharding::MAX_SHARDS,
    },
    KeyDefault::Absent("all the shards at once"),
    "a staged move: the shards move this many at a time, in the order listed, each batch its own move (and its own `failures.csv` row)",
);
pub(super) const EVERY: Key = Key::new(
    "every",
    Type::PositiveDuration,
    KeyDefault::Absent("required with `batch`"),
    "the time between the starts of two batches of a staged move",
);

/// A staged switchover's `batch` and `every`: the batch size and the time
/// between batches; `None` when the move is not staged (or has a problem,
/// reported).
pub(super) fn staging(cx: &mut Ctx, f: &Fault) -> Option<(usize, Nanos)> {
    let batch = f.t.get(BATCH.name);
    let every = f.t.get(EVERY.name);
    let (batch, every) = match (batch, every) {
        (None, None) => return None,
        (Some(b), Some(e)) => (b, e),
        (Some(b), None) => {
            int(cx, b, &f.key(&BATCH), 1, super::super::sharding::MAX_SHARDS);
            cx.err(
                f.at,
                &f.key(&EVERY),
                "required with `batch`: the time between batches, such as \"10s\"",
            );
            return None;
        }
        (None, Some(e)) => {
            positive_duration(cx, e, &f.key(&EVERY));
            cx.err(
                e.at,
                &f.key(&BATCH),
                "`every` needs `batch`: how many shards move at a time",
            );
            return None;
        }
    };
    let size = int(
        cx,
        batch,
        &f.key(&BATCH),
        1,
        super::super::sharding::MAX_SHARDS,
    );
    let gap = positive_duration(cx, every, &f.key(&EVERY));
    Some((size? as usize, gap?))
}

/// A staged switchover's batches (`size` shards every `gap` from `at`) and
/// their start times; `None` when one would start after the run's end
/// (reported) or the run has no end.
pub(super) fn batches(
    cx: &mut Ctx,
    f: &Fault,
    shards: &[ShardId],
    to: DcId,
    at: Nanos,
    end: Option<Nanos>,
    (size, gap): (usize, Nanos),
) -> Option<Vec<(FaultKind, Nanos)>> {
    let every = f.t.get(EVERY.name)?;
    let n = shards.len().div_ceil(size);
    let last = (n as u64 - 1)
        .checked_mul(gap)
        .and_then(|d| at.checked_add(d));
    match (last, end) {
        (Some(l), Some(e)) if l <= e => {}
        (_, None) => return None,
        _ => {
            cx.err(
                every.at,
                &f.key(&EVERY),
                format!(
                    "{n} batches of {size} every {}: the last would start after the run's end ({})",
                    show_duration(gap),
                    show_duration(end.unwrap_or(0))
                ),
            );
            return None;
        }
    }
    Some(
        shards
            .chunks(size)
            .enumerate()
            .map(|(i, c)| {
                (
                    FaultKind::Switchover {
                        shards: c.to_vec(),
                        to,
                    },
                    at + i as u64 * gap,
                )
            })
            .collect(),
    )
}
