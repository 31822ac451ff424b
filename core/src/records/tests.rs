//! Reading every kind leniently and strictly: each optional field of the wrong type reads as
//! absent (and is listed) on the device, and fails the server's strict read.

use std::collections::{BTreeMap, BTreeSet};

use automerge::transaction::Transactable;
use automerge::{Automerge, ROOT, ReadDoc, ScalarValue};

use super::test_support::meta;
use super::*;

/// `record`'s document, then a peer's change putting each `(path, value)` (`a` or `a.b`).
fn corrupted(record: &AnyRecord, edits: &[(&str, ScalarValue)]) -> Automerge {
    let mut doc = Automerge::new();
    doc.transact(|tx| record.write(tx, None))
        .map_err(|failure| failure.error)
        .unwrap();
    doc.transact(|tx| {
        for (path, value) in edits {
            match path.split_once('.') {
                None => Transactable::put(tx, ROOT, *path, value.clone())?,
                Some((object, key)) => {
                    let (_, id) = tx.get(ROOT, object)?.expect("the object exists");
                    Transactable::put(tx, &id, key, value.clone())?;
                }
            }
        }
        Ok::<_, automerge::AutomergeError>(())
    })
    .map_err(|failure| failure.error)
    .unwrap();
    doc
}

/// The lenient read gives `expected` and lists the edited paths (a map entry as its map); the
/// strict read fails.
fn assert_reads_without(record: AnyRecord, edits: &[(&str, ScalarValue)], expected: AnyRecord) {
    super::doc_write::assert_batch_writes_the_same(&record);
    let doc = corrupted(&record, edits);
    let read = AnyRecord::read_leniently(&doc).unwrap();
    assert_eq!(read.record, expected);
    let mut unread = read.unread_fields;
    unread.sort();
    let mut paths: Vec<String> = edits
        .iter()
        .map(|(p, _)| {
            let listed = if p.starts_with("custom_fields.") {
                "custom_fields"
            } else {
                p
            };
            listed.to_owned()
        })
        .collect();
    paths.sort();
    assert_eq!(unread, paths);
    assert!(AnyRecord::read(&doc).is_err());
    // Untouched, the document reads whole both ways.
    let whole = corrupted(&record, &[]);
    assert_eq!(AnyRecord::read(&whole), Ok(record.clone()));
    assert_eq!(
        AnyRecord::read_leniently(&whole),
        Ok(LenientRead {
            record,
            unread_fields: Vec::new()
        })
    );
}

fn text(value: &str) -> ScalarValue {
    ScalarValue::from(value)
}

fn stamp() -> GpsStamp {
    GpsStamp {
        at: 1_790_000_000_000,
        lat: 52.5,
        lon: 13.4,
        accuracy_m: 5.0,
        fix_at: 1_790_000_000_000,
        mock: false,
    }
}

#[test]
fn customer_optional_fields_of_the_wrong_type() {
    let full = Customer {
        meta: meta(),
        segments: BTreeSet::from(["bakery".to_owned()]),
        phones: BTreeSet::from(["030 1234".to_owned()]),
        emails: BTreeSet::from(["info@example.org".to_owned()]),
        address: Address {
            city: Some("Berlin".into()),
            line: Some("Torstraße 1".into()),
            ..Address::default()
        },
        location: Some(GeoLocation {
            lat: 52.5,
            lon: 13.4,
            source: LocationSource::Gps,
            at: 1_790_000_000_000,
        }),
        visit_radius_m: 300,
        visit_cadence_days: Some(14),
        grade: Some(Grade::A),
        owner: Some("anna".into()),
        territory: Some("mitte".into()),
        notes: "Espresso".into(),
        custom_fields: BTreeMap::from([
            ("colour".to_owned(), "blue".to_owned()),
            ("size".to_owned(), "L".to_owned()),
        ]),
        ..Customer::new("Café Mitte")
    };
    let expected = Customer {
        segments: BTreeSet::new(),
        phones: BTreeSet::new(),
        emails: BTreeSet::new(),
        address: Address {
            line: Some("Torstraße 1".into()),
            ..Address::default()
        },
        location: None,
        visit_radius_m: DEFAULT_VISIT_RADIUS_M,
        visit_cadence_days: None,
        grade: None,
        owner: None,
        territory: None,
        notes: String::new(),
        custom_fields: BTreeMap::from([("colour".to_owned(), "blue".to_owned())]),
        ..full.clone()
    };
    assert_reads_without(
        AnyRecord::Customer(full),
        &[
            ("segments", ScalarValue::Int(1)),
            ("phones", text("030 1234")),
            ("emails", ScalarValue::Boolean(true)),
            ("address.city", ScalarValue::Int(10115)),
            ("location.lat", text("52.5")),
            ("visit_radius_m", text("300 m")),
            ("visit_cadence_days", text("fourteen")),
            // An enum of the wrong type (not text this code does not know: that reads as
            // `Unknown`) reads as absent.
            ("grade", ScalarValue::Int(1)),
            ("owner", ScalarValue::Int(7)),
            ("territory", ScalarValue::F64(1.0)),
            ("notes", ScalarValue::Int(0)),
            // A map entry of the wrong type is left out and listed as its map.
            ("custom_fields.size", ScalarValue::Int(42)),
        ],
        AnyRecord::Customer(expected),
    );
}

#[test]
fn contact_optional_fields_of_the_wrong_type() {
    let full = Contact {
        meta: meta(),
        title: Some("Owner".into()),
        phones: BTreeSet::from(["030 1234".to_owned()]),
        emails: BTreeSet::from(["lea@example.org".to_owned()]),
        notes: "Prefers mornings".into(),
        ..Contact::new("c1", "Lea")
    };
    let expected = Contact {
        title: None,
        phones: BTreeSet::new(),
        emails: BTreeSet::new(),
        notes: String::new(),
        ..full.clone()
    };
    assert_reads_without(
        AnyRecord::Contact(full),
        &[
            ("title", ScalarValue::Int(1)),
            ("phones", ScalarValue::Int(2)),
            ("emails", text("lea@example.org")),
            ("notes", ScalarValue::Boolean(false)),
        ],
        AnyRecord::Contact(expected),
    );
}

#[test]
fn opportunity_optional_fields_of_the_wrong_type() {
    let full = Opportunity {
        meta: meta(),
        probability: Some(40),
        expected_close_at: Some(1_790_000_000_000),
        owner: Some("anna".into()),
        lost_reason: Some("price".into()),
        stage_history: vec![StageChange {
            stage: Stage::Lead,
            at: 1_790_000_000_000,
            by: "anna".into(),
        }],
        ..Opportunity::new(
            "c1",
            "Espresso machines",
            Money {
                minor: 250_000,
                currency: "EUR".into(),
            },
        )
    };
    let expected = Opportunity {
        probability: None,
        expected_close_at: None,
        owner: None,
        stage_history: Vec::new(),
        ..full.clone()
    };
    assert_reads_without(
        AnyRecord::Opportunity(full),
        &[
            // Out of its type's range (a percent is a u8).
            ("probability", ScalarValue::Int(300)),
            ("expected_close_at", text("next week")),
            ("owner", ScalarValue::Int(3)),
            ("stage_history", text("lead")),
        ],
        AnyRecord::Opportunity(expected),
    );
}

#[test]
fn visit_optional_fields_of_the_wrong_type() {
    let full = Visit {
        meta: meta(),
        planned_start: Some(1_790_000_000_000),
        planned_end: Some(1_790_000_600_000),
        status: VisitStatus::Done,
        check_in: Some(stamp()),
        check_out: Some(stamp()),
        outcome: Some("Ordered".into()),
        notes: "Met the owner".into(),
        next_step: Some("Call back".into()),
        verification: Some(Verification::Verified),
        order_lines: vec![VisitOrderLine {
            product: "Beans".into(),
            quantity: 2,
            unit_price_minor: 1_500,
        }],
        ..Visit::new("c1", "anna")
    };
    let expected = Visit {
        planned_start: None,
        planned_end: None,
        check_in: None,
        check_out: None,
        outcome: None,
        notes: String::new(),
        next_step: None,
        verification: None,
        order_lines: Vec::new(),
        ..full.clone()
    };
    assert_reads_without(
        AnyRecord::Visit(full),
        &[
            ("planned_start", text("9:00")),
            ("planned_end", ScalarValue::F64(1.5)),
            ("check_in.accuracy_m", text("5 m")),
            ("check_out", ScalarValue::Int(1)),
            ("outcome", ScalarValue::Int(1)),
            ("notes", ScalarValue::Int(1)),
            ("next_step", ScalarValue::Boolean(true)),
            ("verification", ScalarValue::Boolean(true)),
            ("order_lines", text("2 x Beans")),
        ],
        AnyRecord::Visit(expected),
    );
}

#[test]
fn task_and_case_optional_fields_of_the_wrong_type() {
    let task = Task {
        meta: meta(),
        due_at: Some(1_790_000_000_000),
        assignee: Some("anna".into()),
        linked_id: Some("c1".into()),
        ..Task::new("Call back")
    };
    assert_reads_without(
        AnyRecord::Task(task.clone()),
        &[
            ("due_at", text("tomorrow")),
            ("assignee", ScalarValue::Int(1)),
            ("linked_id", ScalarValue::Int(2)),
        ],
        AnyRecord::Task(Task {
            due_at: None,
            assignee: None,
            linked_id: None,
            ..task
        }),
    );
    let case = Case {
        meta: meta(),
        resolution: Some("Replaced".into()),
        satisfaction: Some(4),
        ..Case::new("c1", "Grinder broken")
    };
    assert_reads_without(
        AnyRecord::Case(case.clone()),
        &[
            ("resolution", ScalarValue::Int(1)),
            ("satisfaction", text("happy")),
        ],
        AnyRecord::Case(Case {
            resolution: None,
            satisfaction: None,
            ..case
        }),
    );
}

#[test]
fn required_fields_the_tombstone_and_list_items_of_the_wrong_type_fail_both_reads() {
    let visit = AnyRecord::Visit(Visit {
        meta: meta(),
        order_lines: vec![VisitOrderLine {
            product: "Beans".into(),
            quantity: 2,
            unit_price_minor: 1_500,
        }],
        ..Visit::new("c1", "anna")
    });
    let customer = AnyRecord::Customer(Customer {
        meta: meta(),
        ..Customer::new("Café Mitte")
    });
    for (record, path, value) in [
        (&customer, "name", ScalarValue::Int(42)),
        (&customer, "created_at", text("yesterday")),
        (&customer, "deleted", text("no")),
        (&visit, "rep", ScalarValue::Int(1)),
    ] {
        let doc = corrupted(record, &[(path, value)]);
        assert!(AnyRecord::read_leniently(&doc).is_err(), "{path}");
        assert!(AnyRecord::read(&doc).is_err(), "{path}");
    }
    // An order line of the wrong shape: edits are diffed by position, so no line is skipped.
    let mut doc = corrupted(&visit, &[]);
    doc.transact(|tx| {
        let (_, lines) = tx.get(ROOT, "order_lines")?.expect("the order lines");
        tx.insert(&lines, 1, "3 x Milk")
    })
    .map_err(|failure| failure.error)
    .unwrap();
    assert!(AnyRecord::read_leniently(&doc).is_err());
}
