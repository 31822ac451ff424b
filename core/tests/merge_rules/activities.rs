//! The merge rules of activities: every scalar field (channel, direction, time, duration,
//! subject, outcome, next step and its due time, contact) last writer wins per field, the
//! loser kept readable; the notes merged character by character; the customer written once.
//! And what `Store::log_activity` refuses: a contact of another customer.

use std::collections::BTreeSet;

use fieldcrm_core::*;

use super::{Replica, both, exchange, replica, shared};

const T: Millis = 1_790_000_000_000;

fn activity(a: &Replica, b: &Replica) -> Activity {
    shared(
        a,
        b,
        Activity::new(
            "customer-1",
            ActivityChannel::Call,
            T,
            "Asked about rye flour",
        ),
    )
}

fn get(r: &Replica, id: &str) -> Activity {
    r.store.get(id).unwrap().unwrap()
}

#[test]
fn activity_outcome_last_writer_wins_and_the_loser_stays_readable() {
    let (a, b) = (replica("anna"), replica("ben"));
    let act = activity(&a, &b);
    let mut on_a = get(&a, &act.meta.id);
    on_a.outcome = Some("Will order next week".into());
    a.store.update(on_a).unwrap();
    let mut on_b = get(&b, &act.meta.id);
    on_b.outcome = Some("Not interested".into());
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Activity = both(&a, &b, &act.meta.id);
    let conflicts = a.store.conflicts(&act.meta.id).unwrap();
    let outcome = conflicts
        .iter()
        .find(|f| f.field == "outcome")
        .expect("outcome conflict listed");
    assert_eq!(Some(&outcome.values[0]), merged.outcome.as_ref());
    let values: BTreeSet<&str> = outcome.values.iter().map(String::as_str).collect();
    assert_eq!(
        values,
        BTreeSet::from(["Will order next week", "Not interested"])
    );
}

#[test]
fn activity_next_step_and_its_due_time_last_writer_wins_per_field() {
    let (a, b) = (replica("anna"), replica("ben"));
    let act = activity(&a, &b);
    let mut on_a = get(&a, &act.meta.id);
    on_a.next_step = Some("Send the price list".into());
    a.store.update(on_a).unwrap();
    let mut on_b = get(&b, &act.meta.id);
    on_b.next_step_due_at = Some(T + 86_400_000);
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Activity = both(&a, &b, &act.meta.id);
    assert_eq!(merged.next_step.as_deref(), Some("Send the price list"));
    assert_eq!(merged.next_step_due_at, Some(T + 86_400_000));
}

#[test]
fn activity_channel_direction_time_and_duration_merge_per_field() {
    let (a, b) = (replica("anna"), replica("ben"));
    let act = activity(&a, &b);
    let mut on_a = get(&a, &act.meta.id);
    on_a.channel = ActivityChannel::Meeting;
    on_a.duration_s = Some(1_800);
    a.store.update(on_a).unwrap();
    let mut on_b = get(&b, &act.meta.id);
    on_b.direction = Some(ActivityDirection::Inbound);
    on_b.occurred_at = T - 3_600_000;
    on_b.duration_s = Some(600);
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Activity = both(&a, &b, &act.meta.id);
    assert_eq!(merged.channel, ActivityChannel::Meeting);
    assert_eq!(merged.direction, Some(ActivityDirection::Inbound));
    assert_eq!(merged.occurred_at, T - 3_600_000);
    // Both set the duration: one value wins on both replicas, the other is listed.
    assert!(matches!(merged.duration_s, Some(1_800) | Some(600)));
    let conflicts = a.store.conflicts(&act.meta.id).unwrap();
    assert!(conflicts.iter().any(|f| f.field == "duration_s"));
}

#[test]
fn activity_subject_and_contact_last_writer_wins() {
    let (a, b) = (replica("anna"), replica("ben"));
    let act = activity(&a, &b);
    let mut on_a = get(&a, &act.meta.id);
    on_a.subject = "Rye flour prices".into();
    a.store.update(on_a).unwrap();
    let mut on_b = get(&b, &act.meta.id);
    on_b.subject = "Flour delivery".into();
    on_b.contact_id = Some("contact-1".into());
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Activity = both(&a, &b, &act.meta.id);
    assert!(["Rye flour prices", "Flour delivery"].contains(&merged.subject.as_str()));
    assert_eq!(merged.contact_id.as_deref(), Some("contact-1"));
}

#[test]
fn activity_notes_merge_character_by_character() {
    let (a, b) = (replica("anna"), replica("ben"));
    let mut first = Activity::new("customer-1", ActivityChannel::Meeting, T, "Tasting");
    first.notes = "Liked the rye.".into();
    let act = shared(&a, &b, first);
    let mut on_a = get(&a, &act.meta.id);
    on_a.notes = "Liked the rye. Wants samples.".into();
    a.store.update(on_a).unwrap();
    let mut on_b = get(&b, &act.meta.id);
    on_b.notes = "Owner: Liked the rye.".into();
    b.store.update(on_b).unwrap();
    exchange(&a.store, &b.store);
    let merged: Activity = both(&a, &b, &act.meta.id);
    assert_eq!(merged.notes, "Owner: Liked the rye. Wants samples.");
}

#[test]
fn activity_customer_is_written_once() {
    let (a, b) = (replica("anna"), replica("ben"));
    let act = activity(&a, &b);
    let mut moved = get(&a, &act.meta.id);
    moved.customer_id = "customer-2".into();
    let err = a.store.update(moved).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Validation(ValidationError::Immutable { field }) if field == "customer_id"
        ),
        "{err:?}"
    );
}

#[test]
fn logging_an_activity_takes_the_clock_and_refuses_a_contact_of_another_customer() {
    let a = replica("anna");
    a.store.set_clock(|| T);
    let customer = a.store.create(Customer::new("Bäckerei Schmidt")).unwrap();
    let other = a.store.create(Customer::new("Café Müller")).unwrap();
    let contact = a
        .store
        .create(Contact::new(&customer.meta.id, "Eva Schmidt"))
        .unwrap();
    let strangers = a
        .store
        .create(Contact::new(&other.meta.id, "Max Müller"))
        .unwrap();
    let mut call = Activity::new(&customer.meta.id, ActivityChannel::Call, 0, "Order call");
    call.contact_id = Some(contact.meta.id.clone());
    let logged = a.store.log_activity(call.clone()).unwrap();
    assert_eq!(
        logged.occurred_at, T,
        "no time given: now, by the store's clock"
    );
    assert_eq!(logged.meta.created_by, "anna");
    call.contact_id = Some(strangers.meta.id.clone());
    let err = a.store.log_activity(call.clone()).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Validation(ValidationError::ContactOfAnotherCustomer { contact_id })
                if *contact_id == strangers.meta.id
        ),
        "{err:?}"
    );
    call.contact_id = Some("no-such-contact".into());
    assert!(matches!(
        a.store.log_activity(call).unwrap_err(),
        StoreError::NotFound { .. }
    ));
}
