//! The customer timeline: a customer's visits, activities, orders and cases in one list,
//! newest first, deleted records left out, and live: a new activity is delivered to a
//! subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use fieldcrm_core::*;

const T: Millis = 1_790_000_000_000;
const HOUR: Millis = 3_600_000;

fn store(dir: &tempfile::TempDir) -> Store {
    let s = Store::open(dir.path().join("device.sqlite")).unwrap();
    s.set_user("anna").unwrap();
    s
}

fn timeline(s: &Store, customer_id: &str, limit: u32) -> Vec<TimelineEntry> {
    match s
        .query(&Query::CustomerTimeline {
            customer_id: customer_id.to_owned(),
            limit,
        })
        .unwrap()
    {
        QueryResult::Timeline(entries) => entries,
        other => panic!("timeline expected, got {other:?}"),
    }
}

fn summary(entries: &[TimelineEntry]) -> Vec<(Kind, Millis, Option<&str>, &str)> {
    entries
        .iter()
        .map(|e| (e.kind, e.at, e.title.as_deref(), e.status.as_str()))
        .collect()
}

#[test]
fn the_timeline_merges_every_kind_newest_first_without_deleted_records() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    let customer = s.create(Customer::new("Bäckerei Schmidt")).unwrap();
    let other = s.create(Customer::new("Café Müller")).unwrap();
    let id = customer.meta.id.as_str();

    // A planned visit stands at its planned start; a checked-in one at its check-in.
    let mut planned = Visit::new(id, "anna");
    planned.planned_start = Some(T + 5 * HOUR);
    s.create(planned).unwrap();
    s.set_clock(|| T + HOUR);
    let mut done = Visit::new(id, "anna");
    done.planned_start = Some(T - 10 * HOUR);
    done.check_in = Some(GpsStamp {
        at: T + HOUR,
        lat: 52.52,
        lon: 13.405,
        accuracy_m: 10.0,
        fix_at: T + HOUR,
        mock: false,
    });
    done.status = VisitStatus::InProgress;
    s.create(done).unwrap();
    s.create(Activity::new(
        id,
        ActivityChannel::Call,
        T + 3 * HOUR,
        "Price call",
    ))
    .unwrap();
    s.set_clock(|| T + 2 * HOUR);
    s.create(Case::new(id, "Crushed crate")).unwrap();
    s.set_clock(|| T + 4 * HOUR);
    s.create_order(id, None, "EUR").unwrap();
    // Left out: another customer's activity and a deleted one.
    s.create(Activity::new(
        &other.meta.id,
        ActivityChannel::Email,
        T,
        "Offer",
    ))
    .unwrap();
    let gone = s
        .create(Activity::new(
            id,
            ActivityChannel::Email,
            T + 6 * HOUR,
            "Sent by mistake",
        ))
        .unwrap();
    s.delete(&gone.meta.id).unwrap();

    let entries = timeline(&s, id, 0);
    assert_eq!(
        summary(&entries),
        vec![
            (Kind::Visit, T + 5 * HOUR, None, "planned"),
            (Kind::Order, T + 4 * HOUR, None, "draft"),
            (Kind::Activity, T + 3 * HOUR, Some("Price call"), "call"),
            (Kind::Case, T + 2 * HOUR, Some("Crushed crate"), "open"),
            (Kind::Visit, T + HOUR, None, "in_progress"),
        ]
    );
    assert_eq!(timeline(&s, id, 2).len(), 2, "the limit cuts the oldest");
    assert!(timeline(&s, "no-such-customer", 0).is_empty());
}

#[derive(Default)]
struct Seen(Mutex<Vec<QueryResult>>);

impl QueryListener for Seen {
    fn on_result(&self, result: QueryResult) {
        self.0.lock().unwrap().push(result);
    }
}

#[test]
fn a_live_timeline_is_delivered_again_when_an_activity_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir);
    s.set_clock(|| T);
    let customer = s.create(Customer::new("Bäckerei Schmidt")).unwrap();
    let seen = Arc::new(Seen::default());
    let _sub = s
        .subscribe(
            Query::CustomerTimeline {
                customer_id: customer.meta.id.clone(),
                limit: 10,
            },
            seen.clone(),
        )
        .unwrap();
    let before = seen.0.lock().unwrap().len();
    let logged = s
        .log_activity(Activity::new(
            &customer.meta.id,
            ActivityChannel::Meeting,
            0,
            "Tasting",
        ))
        .unwrap();
    let results = seen.0.lock().unwrap();
    assert_eq!(results.len(), before + 1, "delivered once more");
    match results.last().unwrap() {
        QueryResult::Timeline(entries) => {
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].id, logged.meta.id);
            assert_eq!(entries[0].at, T);
            assert_eq!(entries[0].kind, Kind::Activity);
        }
        other => panic!("{other:?}"),
    }
}
