//! Activities through the real server binary: a rep's call logged against a customer of their
//! territory reaches the other rep of the territory and the manager, and its customer's
//! timeline on their devices; an activity for a customer outside the writer's territory, or
//! naming a contact of another customer, is refused with its reason and stays on the writer's
//! device; apps speaking protocol version 3 get no activities, and their cursor moves past
//! them. (The HTTP JSON API exposes nothing of activities: there is no route to test by role.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use fieldcrm_core::protocol::{self, RejectCode};
use fieldcrm_core::*;

mod support;
use support::{BIN, Device, Launch, OrgServer, device};

const PASSWORD: &str = "secret pass";
const NOW: Millis = 1_790_000_000_000;

/// Team north with territories harbour (reps ana and ben) and hills (rep cat), manager maya.
fn organisation() -> OrgServer {
    OrgServer::start(
        BIN,
        &[
            ("ana", "rep", Some("harbour")),
            ("ben", "rep", Some("harbour")),
            ("cat", "rep", Some("hills")),
            ("maya", "manager", None),
        ],
        PASSWORD,
        Launch::default(),
    )
}

fn synced(device: &Device) -> SyncReport {
    device.sync().unwrap()
}

fn customer_in(device: &Device, name: &str, territory: &str) -> Customer {
    let mut customer = Customer::new(name);
    customer.territory = Some(territory.into());
    device.store.create(customer).unwrap()
}

fn timeline(device: &Device, customer_id: &str) -> Vec<TimelineEntry> {
    match device
        .store
        .query(&Query::CustomerTimeline {
            customer_id: customer_id.into(),
            limit: 0,
        })
        .unwrap()
    {
        QueryResult::Timeline(entries) => entries,
        other => panic!("timeline expected, got {other:?}"),
    }
}

/// The one rejection `device` holds for `doc_id`.
fn rejection(device: &Device, doc_id: &str) -> RejectedChange {
    device
        .store
        .rejected_changes()
        .unwrap()
        .into_iter()
        .find(|r| r.doc_id == doc_id)
        .unwrap_or_else(|| panic!("no rejection for {doc_id}"))
}

#[test]
fn a_call_logged_in_the_territory_reaches_the_other_rep_and_the_manager() {
    let server = organisation();
    let (ana, ben, maya) = (
        device(&server.base, "ana", PASSWORD),
        device(&server.base, "ben", PASSWORD),
        device(&server.base, "maya", PASSWORD),
    );
    let customer = customer_in(&ana, "Hafenkiosk", "harbour");
    let contact = ana
        .store
        .create(Contact::new(&customer.meta.id, "Eva Hansen"))
        .unwrap();
    let mut call = Activity::new(
        &customer.meta.id,
        ActivityChannel::Call,
        NOW,
        "Autumn order",
    );
    call.contact_id = Some(contact.meta.id.clone());
    call.direction = Some(ActivityDirection::Outbound);
    call.duration_s = Some(300);
    call.outcome = Some("Orders on Monday".into());
    let call = ana.store.log_activity(call).unwrap();
    let report = synced(&ana);
    assert_eq!(report.rejected, 0, "{report:?}");

    for other in [&ben, &maya] {
        synced(other);
        let received = other.store.get::<Activity>(&call.meta.id).unwrap().unwrap();
        assert_eq!(received, call);
        let entries = timeline(other, &customer.meta.id);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].kind, Kind::Activity);
        assert_eq!(entries[0].id, call.meta.id);
    }

    // An edit on ben's phone comes back to ana.
    let mut followed_up = ben.store.get::<Activity>(&call.meta.id).unwrap().unwrap();
    followed_up.next_step = Some("Deliver the samples".into());
    ben.store.update(followed_up).unwrap();
    assert_eq!(synced(&ben).rejected, 0);
    synced(&ana);
    assert_eq!(
        ana.store
            .get::<Activity>(&call.meta.id)
            .unwrap()
            .unwrap()
            .next_step
            .as_deref(),
        Some("Deliver the samples")
    );
}

#[test]
fn an_activity_out_of_scope_or_with_another_customers_contact_is_refused_and_stays() {
    let server = organisation();
    let (ana, cat, maya) = (
        device(&server.base, "ana", PASSWORD),
        device(&server.base, "cat", PASSWORD),
        device(&server.base, "maya", PASSWORD),
    );
    // A customer of the hills (cat's), which ana may not see.
    let hills = customer_in(&cat, "Bergbäcker", "hills");
    let hills_contact = cat
        .store
        .create(Contact::new(&hills.meta.id, "Jo Berg"))
        .unwrap();
    synced(&cat);
    let harbour = customer_in(&ana, "Hafenkiosk", "harbour");
    let other_harbour = customer_in(&ana, "Fischhalle", "harbour");
    let other_contact = ana
        .store
        .create(Contact::new(&other_harbour.meta.id, "Lu Fisch"))
        .unwrap();
    assert_eq!(synced(&ana).rejected, 0);

    // Logged against a customer outside ana's territory (known on her phone only by id).
    let outside = ana
        .store
        .create(Activity::new(
            &hills.meta.id,
            ActivityChannel::Email,
            NOW,
            "Offer",
        ))
        .unwrap();
    // Naming a contact ana may not see.
    let mut hidden_contact = Activity::new(&harbour.meta.id, ActivityChannel::Call, NOW, "Call");
    hidden_contact.contact_id = Some(hills_contact.meta.id.clone());
    let hidden_contact = ana.store.create(hidden_contact).unwrap();
    // Naming a contact of another customer of her territory (past the store's own check).
    let mut wrong_contact = Activity::new(&harbour.meta.id, ActivityChannel::Meeting, NOW, "Visit");
    wrong_contact.contact_id = Some(other_contact.meta.id.clone());
    let wrong_contact = ana.store.create(wrong_contact).unwrap();

    let report = synced(&ana);
    assert_eq!((report.pushed, report.rejected), (0, 3), "{report:?}");
    for refused in [&outside, &hidden_contact] {
        let r = rejection(&ana, &refused.meta.id);
        assert_eq!(r.code, RejectCode::Forbidden, "{r:?}");
        assert!(r.reason.contains("outside what you may see"), "{r:?}");
    }
    let r = rejection(&ana, &wrong_contact.meta.id);
    assert_eq!(r.code, RejectCode::InvalidRecord, "{r:?}");
    assert!(r.reason.contains("another customer"), "{r:?}");

    // Each stays on ana's device, in its customer's timeline, and reaches nobody.
    for refused in [&outside, &hidden_contact, &wrong_contact] {
        assert_eq!(
            ana.store
                .get::<Activity>(&refused.meta.id)
                .unwrap()
                .as_ref(),
            Some(refused)
        );
    }
    assert_eq!(timeline(&ana, &harbour.meta.id).len(), 2);
    synced(&cat);
    synced(&maya);
    for refused in [&outside, &hidden_contact, &wrong_contact] {
        assert!(cat.store.get_any(&refused.meta.id).unwrap().is_none());
        assert!(maya.store.get_any(&refused.meta.id).unwrap().is_none());
    }

    // Fixed (the right contact) and retried: accepted.
    let right_contact = ana
        .store
        .create(Contact::new(&harbour.meta.id, "Eva Hansen"))
        .unwrap();
    ana.store.discard_rejected(&wrong_contact.meta.id).unwrap();
    let fixed = ana
        .store
        .log_activity({
            let mut a = Activity::new(&harbour.meta.id, ActivityChannel::Meeting, NOW, "Visit");
            a.contact_id = Some(right_contact.meta.id.clone());
            a
        })
        .unwrap();
    let report = synced(&ana);
    assert_eq!(report.rejected, 0, "{report:?}");
    synced(&maya);
    assert!(
        maya.store
            .get::<Activity>(&fixed.meta.id)
            .unwrap()
            .is_some()
    );
}

#[test]
fn apps_before_protocol_4_get_no_activities_and_move_past_them() {
    let server = organisation();
    let ana = device(&server.base, "ana", PASSWORD);
    let customer = customer_in(&ana, "Café Mitte", "harbour");
    let call = ana
        .store
        .log_activity(Activity::new(
            &customer.meta.id,
            ActivityChannel::Call,
            NOW,
            "Opening hours",
        ))
        .unwrap();
    synced(&ana);
    // The newest document is an activity: an old app's cursor must still reach it.
    let mut later = ana.store.get::<Activity>(&call.meta.id).unwrap().unwrap();
    later.outcome = Some("Opens at seven".into());
    ana.store.update(later).unwrap();
    assert_eq!(synced(&ana).rejected, 0);

    let current = device(&server.base, "ana", PASSWORD);
    current.pull_all_in(protocol::PROTOCOL_VERSION);
    assert!(
        current
            .store
            .get::<Activity>(&call.meta.id)
            .unwrap()
            .is_some()
    );
    let head = current.store.sync_status().unwrap().cursor;

    let old = device(&server.base, "ana", PASSWORD);
    old.pull_all_in(protocol::PROTOCOL_VERSION - 1);
    assert!(
        old.store
            .get::<Customer>(&customer.meta.id)
            .unwrap()
            .is_some()
    );
    assert!(old.store.document_ids(Kind::Activity).unwrap().is_empty());
    let status = old.store.sync_status().unwrap();
    assert_eq!(status.refused_documents, 0);
    assert_eq!(status.cursor, head, "the cursor moved past it");
    // Asked for by id, it is answered like an unknown id.
    let request = protocol::RefetchRequest {
        doc_ids: vec![call.meta.id.clone(), customer.meta.id.clone()],
    };
    let body = old
        .transport
        .refetch(protocol::encode_as(&request, protocol::PROTOCOL_VERSION - 1).unwrap())
        .unwrap();
    let answer = protocol::decode_refetch_response(&body, MAX_RESPONSE_BYTES).unwrap();
    assert_eq!(answer.missing, vec![call.meta.id.clone()]);
    assert_eq!(answer.docs.len(), 1);
}
