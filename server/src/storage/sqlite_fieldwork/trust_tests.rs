//! Check-in verification a push cannot launder, and reviews that show only what the reviewer
//! may see.

use fieldcrm_core::protocol::{DocChanges, PushRequest};
use fieldcrm_core::route::{FlagKind, review_route};
use fieldcrm_core::{
    Customer, GeoLocation, GpsStamp, LocationSource, Store, Verification, Visit, VisitStatus,
};
use rusqlite::params;

use super::*;
use crate::model::{Role, User, now_ms};
use crate::storage::{SqliteStorage, Storage};

/// Team north (territory harbour: rep ana, manager mia), team south (territory dock), an admin.
struct Org {
    storage: SqliteStorage,
    ana: User,
    mia: User,
    root: User,
    dock: String,
    south: String,
}

impl Org {
    fn new() -> Self {
        let storage = SqliteStorage::open_in_memory().unwrap();
        let north = storage.create_team("north").unwrap();
        let south = storage.create_team("south").unwrap();
        let harbour = storage.create_territory("harbour", &north.id).unwrap();
        let dock = storage.create_territory("dock", &south.id).unwrap();
        let user = |name: &str, role: Role, team: Option<&str>| {
            crate::storage::test_users::passwordless_user(&storage, name, role, team)
        };
        let ana = user("ana", Role::Rep, Some(&north.id));
        let mia = user("mia", Role::Manager, Some(&north.id));
        let root = user("root", Role::Admin, None);
        storage.assign_user_territory(&ana.id, &harbour.id).unwrap();
        Org {
            storage,
            ana,
            mia,
            root,
            dock: dock.id,
            south: south.id,
        }
    }

    fn device(&self) -> Store {
        let store = Store::open(":memory:").unwrap();
        store.set_user(&self.ana.id).unwrap();
        self.storage
            .register_device(&self.ana.id, &store.actor_id())
            .unwrap();
        store
    }

    /// Pushes ana's queue with one entry per change, in the order they were made (so one
    /// document can appear several times, as a crafted push may send it).
    fn push(&self, device: &Store) {
        let pending = device.pending_changes(1_000).unwrap();
        let hashes: Vec<String> = pending.iter().map(|c| c.hash.clone()).collect();
        let docs = pending
            .into_iter()
            .map(|c| DocChanges {
                doc_id: c.doc_id,
                kind: c.kind,
                changes: vec![c.bytes],
            })
            .collect();
        let principal = self.storage.principal(&self.ana).unwrap();
        let (response, _) = self
            .storage
            .push_changes(&principal, PushRequest { docs })
            .unwrap();
        assert!(response.rejected.is_empty(), "{:?}", response.rejected);
        device.acknowledge(&hashes).unwrap();
    }

    /// The recorded pin moves of a customer: who, how far.
    fn moves(&self, customer_id: &str) -> Vec<(String, f64)> {
        self.storage
            .write()
            .prepare(
                "SELECT moved_by, distance_m FROM pin_moves WHERE customer_id = ?1 ORDER BY id",
            )
            .unwrap()
            .query_map([customer_id], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    fn facts(&self, visit_id: &str) -> (Option<String>, Option<f64>) {
        self.storage
            .write()
            .query_row(
                "SELECT verification, pin_moved_m FROM visit_facts WHERE visit_id = ?1",
                [visit_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap()
    }

    fn review(&self, viewer: &User) -> fieldcrm_core::RouteReview {
        let principal = self.storage.principal(viewer).unwrap();
        let day = self
            .storage
            .rep_day(&principal, &self.ana.id, 0, i64::MAX)
            .unwrap();
        review_route(day.fixes, &day.visits)
    }
}

fn pin(lat: f64) -> Option<GeoLocation> {
    Some(GeoLocation {
        lat,
        lon: 9.93,
        source: LocationSource::Manual,
        at: now_ms(),
    })
}

fn checked_in(customer_id: &str, rep: &str, lat: f64) -> Visit {
    let mut visit = Visit::new(customer_id, rep);
    let at = now_ms() - 60_000;
    visit.check_in = Some(GpsStamp {
        at,
        lat,
        lon: 9.93,
        accuracy_m: 10.0,
        fix_at: at - 2_000,
        mock: false,
    });
    visit.status = VisitStatus::InProgress;
    visit.verification = Some(Verification::Verified);
    visit
}

fn customer(name: &str, location: Option<GeoLocation>) -> Customer {
    let mut c = Customer::new(name);
    c.territory = Some("harbour".into());
    c.visit_radius_m = 100;
    c.location = location;
    c
}

/// Finding 5: move the pin to where you stand, check in, move it back, all in one push. The
/// push is merged per document, so the server sees the pin where it was: the check-in is out of
/// range, and no move is recorded (there is none in the merged result).
#[test]
fn a_pin_moved_to_the_rep_and_back_in_one_push_verifies_against_the_pin_before() {
    let org = Org::new();
    let device = org.device();
    let mut kiosk = device.create(customer("Kiosk", pin(53.55))).unwrap();
    org.push(&device);

    // About 11 km north, and back.
    kiosk.location = pin(53.65);
    kiosk = device.update(kiosk).unwrap();
    let visit = device
        .create(checked_in(&kiosk.meta.id, &org.ana.id, 53.65))
        .unwrap();
    kiosk.location = pin(53.55);
    kiosk.visit_radius_m = 20_000;
    device.update(kiosk.clone()).unwrap();
    org.push(&device);

    let (verification, moved) = org.facts(&visit.meta.id);
    assert_eq!(verification.as_deref(), Some("out_of_range"));
    assert_eq!(moved, None);
    assert_eq!(org.moves(&kiosk.meta.id).len(), 0);
}

/// The pin moved to where the rep stands, in the push of the check-in, and left there: the
/// check-in is verified against the pin before (out of range), the move is recorded with who
/// and how far, and the manager sees the check-in flagged.
#[test]
fn a_pin_moved_to_the_rep_in_the_push_of_the_check_in_is_flagged() {
    let org = Org::new();
    let device = org.device();
    let mut kiosk = device.create(customer("Kiosk", pin(53.55))).unwrap();
    org.push(&device);

    kiosk.location = pin(53.65);
    kiosk.visit_radius_m = 20_000;
    kiosk = device.update(kiosk).unwrap();
    let visit = device
        .create(checked_in(&kiosk.meta.id, &org.ana.id, 53.65))
        .unwrap();
    org.push(&device);

    let (verification, moved) = org.facts(&visit.meta.id);
    assert_eq!(verification.as_deref(), Some("out_of_range"));
    let moved = moved.expect("the check-in is flagged");
    assert!((moved - 11_120.0).abs() < 100.0, "{moved}");
    let moves = org.moves(&kiosk.meta.id);
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert!(
        moves
            .iter()
            .all(|(by, d)| *by == org.ana.id && *d > 11_000.0)
    );

    let review = org.review(&org.mia);
    let flags: Vec<(FlagKind, Option<&str>)> = review
        .flags
        .iter()
        .map(|f| (f.kind, f.visit_id.as_deref()))
        .collect();
    assert!(
        flags.contains(&(FlagKind::PinMovedAtCheckIn, Some(visit.meta.id.as_str()))),
        "{flags:?}"
    );
    assert!(flags.contains(&(FlagKind::OutOfRange, Some(visit.meta.id.as_str()))));
}

/// The same spread over three pushes: the pin moved to where the rep will stand, the check-in
/// in the next push (verified against the moved pin, which the server held by then), the pin
/// moved back after. The rep's own earlier move flags the check-in; a move older than the
/// lookback does not.
#[test]
fn a_pin_moved_in_an_earlier_push_flags_the_check_in() {
    let org = Org::new();
    let device = org.device();
    let mut kiosk = device.create(customer("Kiosk", pin(53.55))).unwrap();
    let mut bakery = device.create(customer("Bakery", pin(53.55))).unwrap();
    org.push(&device);

    kiosk.location = pin(53.65);
    kiosk = device.update(kiosk).unwrap();
    bakery.location = pin(53.65);
    bakery = device.update(bakery).unwrap();
    org.push(&device);
    // The bakery's move happened long ago.
    org.storage
        .write()
        .execute(
            "UPDATE pin_moves SET moved_at = moved_at - ?2 WHERE customer_id = ?1",
            params![bakery.meta.id, PIN_MOVE_LOOKBACK_MS + 60_000],
        )
        .unwrap();

    let kiosk_visit = device
        .create(checked_in(&kiosk.meta.id, &org.ana.id, 53.65))
        .unwrap();
    let bakery_visit = device
        .create(checked_in(&bakery.meta.id, &org.ana.id, 53.65))
        .unwrap();
    org.push(&device);
    kiosk.location = pin(53.55);
    device.update(kiosk).unwrap();
    org.push(&device);

    let (verification, moved) = org.facts(&kiosk_visit.meta.id);
    assert_eq!(verification.as_deref(), Some("verified"));
    assert!(
        moved.is_some_and(|m| (m - 11_120.0).abs() < 100.0),
        "the earlier move flags the check-in: {moved:?}"
    );
    assert_eq!(
        org.facts(&bakery_visit.meta.id),
        (Some("verified".to_owned()), None),
        "a move older than the lookback does not flag"
    );
    let review = org.review(&org.mia);
    assert!(
        review
            .flags
            .iter()
            .any(|f| f.kind == FlagKind::PinMovedAtCheckIn
                && f.visit_id.as_deref() == Some(kiosk_visit.meta.id.as_str())),
        "{:?}",
        review.flags
    );
}

/// The distance that flags is configurable (`--pin-move-flag-m`).
#[test]
fn the_flag_distance_is_configurable() {
    let mut org = Org::new();
    org.storage.fieldwork.pin_move_flag_m = 20_000.0;
    let device = org.device();
    let mut kiosk = device.create(customer("Kiosk", pin(53.55))).unwrap();
    org.push(&device);
    kiosk.location = pin(53.65);
    kiosk = device.update(kiosk).unwrap();
    let visit = device
        .create(checked_in(&kiosk.meta.id, &org.ana.id, 53.65))
        .unwrap();
    org.push(&device);
    assert_eq!(
        org.facts(&visit.meta.id),
        (Some("out_of_range".to_owned()), None),
        "an 11 km move is under the configured 20 km"
    );
}

/// The same with the check-in before the move in the push, and a small move that is recorded
/// but not flagged.
#[test]
fn moves_after_the_check_in_flag_it_and_small_moves_do_not() {
    let org = Org::new();
    let device = org.device();
    let mut far = device.create(customer("Far", pin(53.55))).unwrap();
    let mut near = device.create(customer("Near", pin(53.55))).unwrap();
    org.push(&device);

    let far_visit = device
        .create(checked_in(&far.meta.id, &org.ana.id, 53.60))
        .unwrap();
    far.location = pin(53.60);
    device.update(far).unwrap();
    // 50 m: within the default 200 m.
    near.location = pin(53.55045);
    near = device.update(near).unwrap();
    let near_visit = device
        .create(checked_in(&near.meta.id, &org.ana.id, 53.5504))
        .unwrap();
    org.push(&device);

    let (verification, moved) = org.facts(&far_visit.meta.id);
    assert_eq!(verification.as_deref(), Some("out_of_range"));
    assert!(moved.is_some_and(|m| m > 5_000.0), "{moved:?}");
    let (verification, moved) = org.facts(&near_visit.meta.id);
    assert_eq!(verification.as_deref(), Some("verified"));
    assert_eq!(moved, None);
    let recorded: i64 = org
        .storage
        .write()
        .query_row(
            "SELECT count(*) FROM pin_moves WHERE customer_id = ?1",
            [&near.meta.id],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(recorded, 1);
}

/// A customer without a pin gets one in the push of the check-in, before or after it: the
/// check-in keeps "no customer location" (the server held none), also through later edits
/// that leave the pin where it is; a later pin change verifies it.
#[test]
fn a_first_pin_set_with_the_check_in_does_not_verify_it() {
    let org = Org::new();
    let device = org.device();
    let mut before = device.create(customer("Pin first", None)).unwrap();
    let mut after = device.create(customer("Pin after", None)).unwrap();
    org.push(&device);

    before.location = pin(53.60);
    before = device.update(before).unwrap();
    let first = device
        .create(checked_in(&before.meta.id, &org.ana.id, 53.60))
        .unwrap();
    let second = device
        .create(checked_in(&after.meta.id, &org.ana.id, 53.60))
        .unwrap();
    after.location = pin(53.60);
    after = device.update(after).unwrap();
    org.push(&device);
    for visit in [&first, &second] {
        assert_eq!(
            org.facts(&visit.meta.id).0.as_deref(),
            Some("no_customer_location")
        );
    }

    // An edit that leaves the pin where it is re-verifies nothing.
    after.notes = "Ring twice".into();
    after = device.update(after).unwrap();
    org.push(&device);
    assert_eq!(
        org.facts(&second.meta.id).0.as_deref(),
        Some("no_customer_location")
    );
    // A pin change in a later push does.
    after.location = pin(53.6001);
    device.update(after).unwrap();
    org.push(&device);
    assert_eq!(org.facts(&second.meta.id).0.as_deref(), Some("verified"));
}

/// A visit stored before its customer reached the server is verified when the customer
/// arrives with a pin.
#[test]
fn a_customer_arriving_with_a_pin_verifies_visits_that_waited_for_it() {
    let org = Org::new();
    let device = org.device();
    let kiosk = device.create(customer("Kiosk", pin(53.55))).unwrap();
    org.storage
        .write()
        .execute(
            "INSERT INTO visit_facts (visit_id, rep_id, customer_id, status, in_at, in_lat, in_lon,
               in_accuracy_m, in_fix_at, in_mock, verification, deleted)
             VALUES ('v-early', ?1, ?2, 'done', ?3, 53.5501, 9.93, 10, ?3, 0, 'no_customer_location', 0)",
            params![org.ana.id, kiosk.meta.id, now_ms() - 60_000],
        )
        .unwrap();
    org.push(&device);
    assert_eq!(org.facts("v-early").0.as_deref(), Some("verified"));
}

/// Finding 4, read side: a visit whose customer the reviewer may not see shows without the
/// customer's name, location or the verification made against it, in the review, its
/// exports and the team overview; an admin sees them.
#[test]
fn reviews_show_only_customers_the_reviewer_may_see() {
    let org = Org::new();
    // A customer of the south team, and a visit of ana's to it, stored directly (the push path
    // refuses such a visit).
    {
        let conn = org.storage.write();
        conn.execute(
            "INSERT INTO customer_places (customer_id, name, lat, lon, radius_m, cadence_days,
               territory_id, team_id, deleted, known_since)
             VALUES ('secret', 'Secret Supplier', 53.7, 10.1, 100, 7, ?1, ?2, 0, 0)",
            params![org.dock, org.south],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO visit_facts (visit_id, rep_id, customer_id, status, in_at, in_lat, in_lon,
               in_accuracy_m, in_fix_at, in_mock, verification, deleted)
             VALUES ('v-secret', ?1, 'secret', 'done', ?2, 53.7, 10.1, 5, ?2, 0, 'verified', 0)",
            params![org.ana.id, now_ms() - 60_000],
        )
        .unwrap();
    }
    for viewer in [&org.mia, &org.ana] {
        let review = org.review(viewer);
        let visit = &review.visits[0];
        assert_eq!(visit.visit_id, "v-secret");
        assert_eq!(
            (
                visit.customer_name.as_deref(),
                visit.customer_lat,
                visit.customer_lon
            ),
            (None, None, None),
            "{}",
            viewer.username
        );
        assert_eq!(visit.distance_from_customer_m, None);
        assert_eq!(visit.verification, None);
        let label = crate::export::RepDayLabel {
            rep_id: org.ana.id.clone(),
            username: "ana".into(),
            date: "2026-09-21".into(),
        };
        for export in [
            crate::export::csv(&review),
            crate::export::gpx(&label, &review),
            crate::export::geojson(&label, &review).to_string(),
        ] {
            assert!(!export.contains("Secret"), "{export}");
        }
        let principal = org.storage.principal(viewer).unwrap();
        let reps = org.storage.reviewable_reps(&principal).unwrap();
        let overview = org
            .storage
            .team_overview(&principal, &reps, 0, i64::MAX)
            .unwrap();
        let row = overview.iter().find(|r| r.rep_id == org.ana.id).unwrap();
        assert_eq!((row.visits, row.verified), (1, 0));
        let overdue = org
            .storage
            .overdue_customers(&principal, now_ms() + 30 * DAY_MS, 10)
            .unwrap();
        assert!(overdue.iter().all(|c| c.customer_id != "secret"));
    }
    let review = org.review(&org.root);
    assert_eq!(
        review.visits[0].customer_name.as_deref(),
        Some("Secret Supplier")
    );
    assert_eq!(review.visits[0].verification, Some(Verification::Verified));
    let root = org.storage.principal(&org.root).unwrap();
    let overdue = org
        .storage
        .overdue_customers(&root, now_ms() + 30 * DAY_MS, 10)
        .unwrap();
    assert!(overdue.iter().any(|c| c.customer_id == "secret"));
}
