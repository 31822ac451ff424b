//! Plain tests of the import contract, and minimal reproductions of bugs the property test found.

use super::*;

// ---------------------------------------------------------------------------------------------
// Plain tests of the import contract.

/// A customer created on `a` and edited twice: three pending changes, oldest first.
pub(crate) fn three_changes(a: &Store) -> (String, Vec<PendingChange>) {
    let mut c = Customer::new("Acme");
    c.phones = BTreeSet::from(["030 1234".to_owned()]);
    let c = a.create(c).unwrap();
    let id = c.meta.id.clone();
    let mut renamed = c.clone();
    renamed.name = "Acme Holding".to_owned();
    let renamed = a.update(renamed).unwrap();
    let mut moved = renamed;
    moved.address.city = Some("Potsdam".to_owned());
    a.update(moved).unwrap();
    let pending = a.pending_changes(u32::MAX).unwrap();
    assert_eq!(pending.len(), 3);
    (id, pending)
}

pub(crate) fn changes(id: &str, pending: &[&PendingChange]) -> Vec<IncomingDoc> {
    vec![IncomingDoc {
        doc_id: id.to_owned(),
        payload: IncomingPayload::Changes(pending.iter().map(|c| c.bytes.clone()).collect()),
    }]
}

pub(crate) fn all_customers(store: &Store) -> Vec<CustomerSummary> {
    customer_rows(
        store,
        &Query::Customers(CustomerFilter {
            limit: 10_000,
            ..CustomerFilter::default()
        }),
    )
}

#[test]
pub(crate) fn duplicate_delivery_is_idempotent() {
    let (_da, a) = open_store("rep-a");
    let (_db, b) = open_store("rep-b");
    let (id, pending) = three_changes(&a);
    let batch = changes(&id, &pending.iter().collect::<Vec<_>>());

    let first = b.import(batch.clone()).unwrap();
    assert_eq!(
        first,
        ImportReport {
            applied: 1,
            ..ImportReport::default()
        }
    );
    let record = b.get_any(&id).unwrap();
    assert_eq!(record, a.get_any(&id).unwrap());
    let bytes = b.document_bytes(&id).unwrap();
    let rows = all_customers(&b);

    let second = b.import(batch.clone()).unwrap();
    assert_eq!(
        second,
        ImportReport {
            unchanged: 1,
            ..ImportReport::default()
        }
    );
    assert_eq!(b.get_any(&id).unwrap(), record);
    assert_eq!(b.document_bytes(&id).unwrap(), bytes);
    assert_eq!(all_customers(&b), rows);

    // The same changes twice within one payload, and a snapshot of what is already there.
    let mut doubled = pending.iter().map(|c| c.bytes.clone()).collect::<Vec<_>>();
    doubled.extend(doubled.clone());
    let third = b
        .import(vec![
            IncomingDoc {
                doc_id: id.clone(),
                payload: IncomingPayload::Changes(doubled),
            },
            IncomingDoc {
                doc_id: id.clone(),
                payload: IncomingPayload::Snapshot(a.document_bytes(&id).unwrap().unwrap()),
            },
        ])
        .unwrap();
    assert_eq!(
        third,
        ImportReport {
            unchanged: 2,
            ..ImportReport::default()
        }
    );
    assert_eq!(b.get_any(&id).unwrap(), record);
    assert_eq!(all_customers(&b), rows);
    assert!(b.pending_changes(u32::MAX).unwrap().is_empty());
}

#[test]
pub(crate) fn out_of_order_changes_are_held_until_their_dependencies_arrive() {
    let (_da, a) = open_store("rep-a");
    let (db, b) = open_store("rep-b");
    let (id, pending) = three_changes(&a);
    let [create, rename, relocate] = [&pending[0], &pending[1], &pending[2]];

    // Change 3 alone: held; nothing is visible.
    let report = b.import(changes(&id, &[relocate])).unwrap();
    assert_eq!(report.held_changes, 1, "{report:?}");
    assert!(report.refused.is_empty(), "{report:?}");
    assert_eq!(b.get_any(&id).unwrap(), None);
    assert!(b.document_ids(Kind::Customer).unwrap().is_empty());
    assert!(all_customers(&b).is_empty());

    // Change 1: the customer appears as created; change 3 is still waiting for change 2.
    let report = b.import(changes(&id, &[create])).unwrap();
    assert_eq!(report.held_changes, 0, "{report:?}");
    assert_eq!(report.applied, 1, "{report:?}");
    let c: Customer = b.get(&id).unwrap().unwrap();
    assert_eq!((c.name.as_str(), c.address.city.as_deref()), ("Acme", None));
    let rows = all_customers(&b);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].name.as_str(), rows[0].city.as_deref()),
        ("Acme", None)
    );

    // The held change survives closing and reopening the store.
    drop(b);
    let b = Store::open(db.path().join("store.sqlite")).unwrap();

    // Change 2: both apply.
    let report = b.import(changes(&id, &[rename])).unwrap();
    assert_eq!(report.held_changes, 0, "{report:?}");
    assert_eq!(report.applied, 1, "{report:?}");
    assert_eq!(b.get_any(&id).unwrap(), a.get_any(&id).unwrap());
    let rows = all_customers(&b);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].name.as_str(), rows[0].city.as_deref()),
        ("Acme Holding", Some("Potsdam"))
    );
    assert_eq!(rows, all_customers(&a));
}

#[test]
pub(crate) fn corrupt_bytes_refuse_only_their_document() {
    let (_da, a) = open_store("rep-a");
    let (_db, b) = open_store("rep-b");
    let (id, pending) = three_changes(&a);
    let other = a.create(Customer::new("Bolt Works")).unwrap().meta.id;
    let third = a.create(Customer::new("Cedar Trading")).unwrap().meta.id;

    // b knows the first version of `id`.
    b.import(changes(&id, &[&pending[0]])).unwrap();
    let stored = b.get_any(&id).unwrap();
    let stored_bytes = b.document_bytes(&id).unwrap();
    assert!(stored.is_some());

    let mut flipped = pending[1].bytes.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    for garbage in [
        IncomingPayload::Changes(vec![pending[1].bytes.clone(), flipped]),
        IncomingPayload::Changes(vec![pending[1].bytes[..10].to_vec()]),
        IncomingPayload::Snapshot(b"not an automerge document".to_vec()),
    ] {
        let batch = vec![
            IncomingDoc {
                doc_id: other.clone(),
                payload: IncomingPayload::Snapshot(a.document_bytes(&other).unwrap().unwrap()),
            },
            IncomingDoc {
                doc_id: id.clone(),
                payload: garbage.clone(),
            },
            IncomingDoc {
                doc_id: third.clone(),
                payload: IncomingPayload::Changes(a.document_changes(&third).unwrap()),
            },
        ];
        let report = b.import(batch).unwrap();
        assert_eq!(report.refused.len(), 1, "{garbage:?}: {report:?}");
        assert_eq!(report.refused[0].doc_id, id);
        assert!(
            matches!(report.refused[0].error, ImportError::MalformedData(_)),
            "{report:?}"
        );
        assert_eq!(b.get_any(&id).unwrap(), stored, "{garbage:?}");
        assert_eq!(b.document_bytes(&id).unwrap(), stored_bytes, "{garbage:?}");
        assert_eq!(b.get_any(&other).unwrap(), a.get_any(&other).unwrap());
        assert_eq!(b.get_any(&third).unwrap(), a.get_any(&third).unwrap());
    }
    let names: Vec<String> = all_customers(&b).into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Acme", "Bolt Works", "Cedar Trading"]);
}

// ---------------------------------------------------------------------------------------------
// Minimal reproductions of library bugs the property test found (see each test's comment).

pub(crate) fn search_ids(store: &Store, text: &str) -> Vec<String> {
    let query = Query::SearchCustomers {
        text: text.to_owned(),
        limit: 100,
    };
    customer_rows(store, &query)
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// A server page may hold several entries for one document (changes from two senders, or a
/// snapshot and some changes). Every entry must apply, also when the document is in the
/// receiver's document cache.
#[test]
pub(crate) fn two_entries_for_one_cached_document_in_one_batch_both_apply() {
    let (_da, a) = open_store("rep-a");
    let (_db, b) = open_store("rep-b");
    let (id, pending) = three_changes(&a);
    b.import(changes(&id, &[&pending[0]])).unwrap();
    assert!(b.get_any(&id).unwrap().is_some()); // now in b's document cache

    let mut batch = changes(&id, &[&pending[1]]);
    batch.extend(changes(&id, &[&pending[2]]));
    let report = b.import(batch).unwrap();
    assert_eq!(
        b.get_any(&id).unwrap(),
        a.get_any(&id).unwrap(),
        "{report:?}"
    );
}

/// Replicas holding the same records must answer a search identically, ties included.
#[test]
pub(crate) fn search_ties_are_ordered_the_same_on_every_replica() {
    let (_da, a) = open_store("rep-a");
    let (_db, b) = open_store("rep-b");
    let first = a.create(Customer::new("Acme")).unwrap().meta.id;
    let second = a.create(Customer::new("Acme")).unwrap().meta.id;
    for id in [&second, &first] {
        let snapshot = a.document_bytes(id).unwrap().unwrap();
        b.import(vec![IncomingDoc {
            doc_id: id.clone(),
            payload: IncomingPayload::Snapshot(snapshot),
        }])
        .unwrap();
    }
    assert_eq!(search_ids(&a, "acme"), search_ids(&b, "acme"));
}

/// "030 1234" must be found by "0301234" also when the customer has a second phone number.
#[test]
pub(crate) fn customer_with_two_phones_is_found_by_the_digits_of_each() {
    let (_d, store) = open_store("rep-a");
    let mut c = Customer::new("Acme");
    c.phones = BTreeSet::from(["030 1234".to_owned(), "+49 170 111".to_owned()]);
    let id = store.create(c).unwrap().meta.id;
    for text in ["030", "170", "0301234", "49170111"] {
        assert_eq!(
            search_ids(&store, text),
            std::slice::from_ref(&id),
            "search for {text:?}"
        );
    }
}

/// A document that so far holds only changes waiting for their dependencies has no visible
/// content: the report should say so as it does for a document that already exists.
#[test]
pub(crate) fn a_new_document_holding_only_held_changes_is_not_reported_applied() {
    let (_da, a) = open_store("rep-a");
    let (_db, b) = open_store("rep-b");
    let (_dc, c) = open_store("rep-c");
    let (id, pending) = three_changes(&a);

    c.import(changes(&id, &[&pending[0]])).unwrap();
    let existing = c.import(changes(&id, &[&pending[2]])).unwrap();
    assert_eq!(
        existing,
        ImportReport {
            unchanged: 1,
            held_changes: 1,
            ..ImportReport::default()
        }
    );
    let new = b.import(changes(&id, &[&pending[2]])).unwrap();
    assert_eq!(new, existing);
}
