//! Each check of the checker, made to fire on a deliberately broken input.
//! (`world::tests` makes each fire inside a real world.)

use super::*;

fn lenient(n_dcs: usize) -> Checker {
    let mut c = Checker::new(n_dcs);
    c.set_lenient();
    c
}

#[test]
fn a_table_handing_a_shard_to_a_down_dc_is_a_violation() {
    let mut c = lenient(3);
    let old = RoutingTable::new(vec![DcId(0), DcId(2)], vec![DcId(0), DcId(0)]);
    let mut new = old.clone();
    new.owners[0] = DcId(1);
    let up = |d: DcId| d != DcId(1) && d != DcId(2);
    c.table_published(&old, &new, up);
    // Shard 1 stays with down DC 2: nobody moved it, no new hand-over.
    assert_eq!(c.violations_of(Check::TableToDownDc), 1);
    new.global_owners[0] = DcId(2);
    c.table_published(&old, &new, up);
    assert_eq!(c.violations_of(Check::TableToDownDc), 3);
    // A global dataset of its own, handed to a down writer, too.
    new.global_owners[1] = DcId(1);
    c.table_published(&old, &new, up);
    assert_eq!(c.violations_of(Check::TableToDownDc), 6);
    c.table_published(&old, &old, up);
    assert_eq!(c.violations(), 6);
}

#[test]
fn requests_that_do_not_add_up_are_a_violation() {
    let mut c = lenient(1);
    let mut t = Totals {
        requests: 10,
        ok: 5,
        failed: 2,
        rejected: 1,
        ..Totals::default()
    };
    c.request_left(&t, 2);
    assert_eq!(c.violations(), 0);
    t.ok += 1;
    c.request_left(&t, 2);
    assert_eq!(c.violations_of(Check::RequestBooks), 1);
}

#[test]
fn a_stream_applying_out_of_order_is_a_violation() {
    let mut c = lenient(2);
    let s = StreamId(1);
    c.applied(s, 0);
    c.applied(s, 1);
    assert_eq!(c.violations(), 0);
    c.applied(s, 3); // skipped 2
    c.applied(s, 4);
    c.applied(s, 4); // again
    assert_eq!(c.violations_of(Check::ApplyOrder), 2);
    // Another stream has its own order.
    c.applied(StreamId(2), 0);
    assert_eq!(c.violations(), 2);
}

#[test]
fn a_stream_skips_only_from_where_it_stands() {
    let mut c = lenient(2);
    let s = StreamId(1);
    c.applied(s, 0);
    // Compaction superseded entries 1 and 2: the stream goes on at 3.
    c.superseded(s, 1, 3);
    c.applied(s, 3);
    assert_eq!(c.violations(), 0);
    // A skip from anywhere but where the stream stands (4) is caught, as
    // is one backwards.
    c.superseded(s, 5, 7);
    c.applied(s, 7);
    c.superseded(s, 8, 6);
    assert_eq!(c.violations_of(Check::ApplyOrder), 2);
}

#[test]
fn an_ack_from_a_down_dc_is_a_violation() {
    let mut c = lenient(2);
    c.ack_sent(DcId(0), true);
    assert_eq!(c.violations(), 0);
    c.ack_sent(DcId(1), false);
    assert_eq!(c.violations_of(Check::AckFromDownDc), 1);
}

#[test]
fn each_event_the_kernel_scheduled_in_the_past_is_a_violation_once() {
    let mut c = lenient(1);
    c.kernel_past_schedules(0);
    c.kernel_past_schedules(2);
    c.kernel_past_schedules(2);
    assert_eq!(c.violations_of(Check::PastEvent), 2);
}

#[test]
fn a_narrowing_conversion_that_would_wrap_is_a_violation() {
    let mut c = lenient(1);
    assert_eq!(c.narrow_u32(7usize), 7);
    assert_eq!(c.narrow_u32(u64::from(u32::MAX)), u32::MAX);
    assert_eq!(c.violations(), 0);
    assert_eq!(c.narrow_u32(1u64 << 32), u32::MAX);
    assert_eq!(c.violations_of(Check::NarrowingCast), 1);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "invariant violated: an ack sent by DC 1 while it is down")]
fn a_strict_checker_panics_at_the_first_violation_in_debug_builds() {
    Checker::new(2).ack_sent(DcId(1), false);
}
