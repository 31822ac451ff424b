//! The SLA in storage and escalation runs through the real push path: a rep's case escalates
//! once when overdue, as the admin's change the rep's device receives; a rep cannot push an
//! escalation; the organisation's SLA sets the due time.

use fieldcrm_core::{
    Case, CaseSla, CaseStatus, Customer, IncomingDoc, IncomingPayload, Severity, Store,
};

use super::escalation::{ESCALATION_NOTE, escalate_overdue};
use crate::model::{Role, User};
use crate::storage::{CaseStorage, CsvStorage, SqliteStorage, Storage};

const HOUR: i64 = 3_600_000;

struct Org {
    storage: SqliteStorage,
    ana: User,
    root: User,
}

fn org() -> Org {
    let storage = SqliteStorage::open_in_memory().unwrap();
    let north = storage.create_team("north").unwrap();
    let harbour = storage.create_territory("harbour", &north.id).unwrap();
    let user = |name: &str, role: Role, team: Option<&str>| {
        crate::storage::test_users::passwordless_user(&storage, name, role, team)
    };
    let ana = user("ana", Role::Rep, Some(&north.id));
    let root = user("root", Role::Admin, None);
    storage.assign_user_territory(&ana.id, &harbour.id).unwrap();
    Org { storage, ana, root }
}

fn device(org: &Org, user: &User) -> Store {
    let device = Store::open(":memory:").unwrap();
    device.set_user(&user.id).unwrap();
    org.storage
        .register_device(&user.id, &device.actor_id())
        .unwrap();
    device
}

/// Pushes everything `device` holds; the rejections.
fn push(org: &Org, user: &User, device: &Store) -> Vec<fieldcrm_core::protocol::Rejection> {
    let principal = org.storage.principal(user).unwrap();
    let mut rejected = Vec::new();
    while let Some((request, hashes)) = device.push_request(1_000).unwrap() {
        let (response, _) = org.storage.push_changes(&principal, request).unwrap();
        device.acknowledge(&response.acknowledged).unwrap();
        if response.rejected.is_empty() {
            device.acknowledge(&hashes).unwrap();
        }
        let ids: Vec<String> = response.rejected.iter().map(|r| r.doc_id.clone()).collect();
        device.forget(&ids).unwrap();
        rejected.extend(response.rejected);
    }
    rejected
}

fn stored_case(org: &Org, id: &str) -> Case {
    let root = org.storage.principal(&org.root).unwrap();
    org.storage
        .cases_in_sight(&root, None, 100)
        .unwrap()
        .into_iter()
        .find(|c| c.meta.id == id)
        .expect("the case is stored")
}

/// Ana's device, with a customer in her territory and a case of `severity` opened at
/// `opened_at`, pushed.
fn ana_opens_a_case(org: &Org, severity: Severity, opened_at: i64) -> (Store, Case) {
    let ana = device(org, &org.ana);
    ana.set_clock(move || opened_at);
    let mut customer = Customer::new("Bäckerei Sonnenschein");
    customer.territory = Some("harbour".into());
    let customer = ana.create(customer).unwrap();
    let mut case = Case::new(&customer.meta.id, "Crate of rolls arrived crushed");
    case.severity = severity;
    let case = ana.create(case).unwrap();
    assert!(push(org, &org.ana, &ana).is_empty());
    (ana, case)
}

#[test]
fn the_sla_defaults_until_an_admin_sets_a_severity() {
    let org = org();
    assert_eq!(org.storage.case_sla().unwrap(), CaseSla::default());
    org.storage.set_case_sla(&Severity::High, 8, 1).unwrap();
    org.storage.set_case_sla(&Severity::High, 6, 2).unwrap();
    assert_eq!(
        org.storage.case_sla().unwrap(),
        CaseSla {
            high_hours: 6,
            ..CaseSla::default()
        }
    );
    assert!(
        org.storage
            .set_case_sla(&Severity::parse("urgent"), 1, 3)
            .is_err()
    );
}

#[test]
fn an_overdue_case_escalates_once_and_the_rep_receives_it() {
    let org = org();
    let opened = 1_790_000_000_000;
    let (ana, case) = ana_opens_a_case(&org, Severity::Critical, opened);
    let before_due = escalate_overdue(&org.storage, "root", opened + 4 * HOUR).unwrap();
    assert_eq!((before_due.cases, before_due.escalated), (1, 0));
    let run = escalate_overdue(&org.storage, "root", opened + 5 * HOUR).unwrap();
    assert_eq!((run.escalated, run.refused), (1, 0), "{run}");
    let stored = stored_case(&org, &case.meta.id);
    assert!(stored.escalated_at.is_some());
    let entry = stored.status_history.last().unwrap();
    assert!(entry.escalation);
    assert_eq!(entry.by, org.root.id);
    assert_eq!(entry.note.as_deref(), Some(ESCALATION_NOTE));
    let again = escalate_overdue(&org.storage, "root", opened + 50 * HOUR).unwrap();
    assert_eq!(again.escalated, 0, "at most once");
    // Ana's device receives the escalation and keeps working on the case.
    let bytes = org
        .storage
        .document_bytes(fieldcrm_core::Kind::Case, &case.meta.id)
        .unwrap()
        .unwrap();
    ana.import(vec![IncomingDoc {
        doc_id: case.meta.id.clone(),
        payload: IncomingPayload::Snapshot(bytes),
    }])
    .unwrap();
    let mut on_ana: Case = ana.get(&case.meta.id).unwrap().unwrap();
    assert_eq!(on_ana.escalated_at, stored.escalated_at);
    on_ana.change_status(CaseStatus::InProgress, Some("On my way".into()));
    ana.update(on_ana).unwrap();
    assert!(push(&org, &org.ana, &ana).is_empty());
    assert_eq!(
        stored_case(&org, &case.meta.id).status,
        CaseStatus::InProgress
    );
}

#[test]
fn the_organisations_sla_sets_the_due_time_devices_receive() {
    let org = org();
    let opened = 1_790_000_000_000;
    let (_ana, case) = ana_opens_a_case(&org, Severity::High, opened);
    assert_eq!(
        case.due_at,
        Some(opened + 24 * HOUR),
        "the device's default"
    );
    org.storage
        .set_case_sla(&Severity::High, 2, opened)
        .unwrap();
    let run = escalate_overdue(&org.storage, "root", opened + HOUR).unwrap();
    assert_eq!((run.restamped, run.escalated), (1, 0), "{run}");
    assert_eq!(
        stored_case(&org, &case.meta.id).due_at,
        Some(opened + 2 * HOUR)
    );
    let later = escalate_overdue(&org.storage, "root", opened + 3 * HOUR).unwrap();
    assert_eq!((later.restamped, later.escalated), (0, 1), "{later}");
}

#[test]
fn a_rep_cannot_push_an_escalation_and_only_an_admin_runs_one() {
    let org = org();
    let (ana, case) = ana_opens_a_case(&org, Severity::Low, 1_790_000_000_000);
    // A rep's device escalating (the store's own call, as a crafted app might).
    assert!(ana.escalate_case(&case.meta.id, None).unwrap().is_some());
    let rejected = push(&org, &org.ana, &ana);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(
        rejected[0].code,
        fieldcrm_core::protocol::RejectCode::Forbidden
    );
    assert!(stored_case(&org, &case.meta.id).escalated_at.is_none());
    assert!(escalate_overdue(&org.storage, "ana", i64::MAX / 2).is_err());
    assert!(escalate_overdue(&org.storage, "nobody", i64::MAX / 2).is_err());
}
