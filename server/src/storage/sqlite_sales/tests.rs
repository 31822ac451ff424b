//! The sales tables through the real push path: what is projected, who sees which deals, the
//! migration's backfill and a customer moved between territories.

use fieldcrm_core::{Customer, Money, Opportunity, Stage, Store};

use super::super::sales::{PipelineFilter, Sales, TargetWrite};
use super::super::{SqliteStorage, Storage};
use crate::model::{Role, User, now_ms};
use crate::sales::targets::Target;
use crate::scope::Principal;

struct Org {
    storage: SqliteStorage,
    ana: User,
    cy: User,
    mia: User,
    root: User,
    quay: String,
}

fn org() -> Org {
    org_at(SqliteStorage::open_in_memory().unwrap())
}

/// Two teams, a rep in each, the north's manager and an admin, in `storage`.
fn org_at(storage: SqliteStorage) -> Org {
    let north = storage.create_team("north").unwrap();
    let south = storage.create_team("south").unwrap();
    let harbour = storage.create_territory("harbour", &north.id).unwrap();
    let quay = storage.create_territory("quay", &south.id).unwrap();
    let user = |name: &str, role: Role, team: Option<&str>| {
        crate::storage::test_users::passwordless_user(&storage, name, role, team)
    };
    let ana = user("ana", Role::Rep, Some(&north.id));
    let cy = user("cy", Role::Rep, Some(&south.id));
    let mia = user("mia", Role::Manager, Some(&north.id));
    let root = user("root", Role::Admin, None);
    storage.assign_user_territory(&ana.id, &harbour.id).unwrap();
    storage.assign_user_territory(&cy.id, &quay.id).unwrap();
    Org {
        storage,
        ana,
        cy,
        mia,
        root,
        quay: quay.id,
    }
}

fn device(org: &Org, user: &User) -> Store {
    let store = Store::open(":memory:").unwrap();
    store.set_user(&user.id).unwrap();
    org.storage
        .register_device(&user.id, &store.actor_id())
        .unwrap();
    store
}

fn principal(org: &Org, user: &User) -> Principal {
    org.storage.principal(user).unwrap()
}

fn push(org: &Org, user: &User, device: &Store) {
    while let Some((request, hashes)) = device.push_request(1_000).unwrap() {
        let (response, _) = org
            .storage
            .push_changes(&principal(org, user), request)
            .unwrap();
        assert!(response.rejected.is_empty(), "{:?}", response.rejected);
        device.acknowledge(&hashes).unwrap();
    }
}

fn eur(minor: i64) -> Money {
    Money {
        minor,
        currency: "EUR".into(),
    }
}

/// Ana (north, harbour): a customer with a proposal of 10,000.00 and a deal she won. Cy
/// (south, quay): a customer with a lead.
fn seed(org: &Org) -> (Store, Customer, Opportunity) {
    let ana = device(org, &org.ana);
    let mut customer = Customer::new("Kiosk");
    customer.territory = Some("harbour".into());
    let customer = ana.create(customer).unwrap();
    let harbour_customer = customer.clone();
    let mut proposal = Opportunity::new(&customer.meta.id, "Coffee machines", eur(1_000_000));
    proposal.stage = Stage::Proposal;
    proposal.probability = Some(40);
    proposal.expected_close_at = Some(now_ms() + 86_400_000);
    let proposal = ana.create(proposal).unwrap();
    let won = ana
        .create(Opportunity::new(&customer.meta.id, "Cups", eur(20_000)))
        .unwrap();
    let mut won = won;
    won.stage = Stage::Won;
    ana.update(won).unwrap();
    push(org, &org.ana, &ana);

    let cy = device(org, &org.cy);
    let mut customer = Customer::new("Fish stall");
    customer.territory = Some("quay".into());
    let customer_quay = cy.create(customer).unwrap();
    cy.create(Opportunity::new(&customer_quay.meta.id, "Ice", eur(300)))
        .unwrap();
    push(org, &org.cy, &cy);
    (ana, harbour_customer, proposal)
}

fn open_amounts(org: &Org, viewer: &User) -> Vec<(String, i64, i64)> {
    let mut rows: Vec<(String, i64, i64)> = org
        .storage
        .pipeline(&principal(org, viewer), &PipelineFilter::default())
        .unwrap()
        .into_iter()
        .map(|r| (r.stage, r.amount_minor, r.weighted_minor))
        .collect();
    rows.sort();
    rows
}

#[test]
fn deals_are_projected_in_the_push_and_read_through_the_viewers_sight() {
    let org = org();
    seed(&org);
    let north = vec![("proposal".to_owned(), 1_000_000, 400_000)];
    assert_eq!(open_amounts(&org, &org.ana), north);
    assert_eq!(open_amounts(&org, &org.mia), north);
    assert_eq!(open_amounts(&org, &org.cy), [("lead".to_owned(), 300, 30)]);
    assert_eq!(open_amounts(&org, &org.root).len(), 2);

    let conn = org.storage.read();
    let (rep, furthest, closed, stays): (String, i64, Option<i64>, i64) = conn
        .query_row(
            "SELECT o.rep_id, o.furthest_rank, o.closed_at,
               (SELECT count(*) FROM opportunity_stage_changes s WHERE s.opportunity_id = o.opportunity_id)
             FROM opportunity_facts o WHERE o.title = 'Cups'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .unwrap();
    assert_eq!((rep, furthest, stays), (org.ana.id.clone(), 4, 2));
    assert!(closed.is_some());
    let origins: i64 = conn
        .query_row(
            "SELECT count(*) FROM customer_origins WHERE created_by = ?1",
            [&org.ana.id],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(origins, 1);
}

#[test]
fn reports_keep_to_the_sight_and_count_won_and_lost() {
    let org = org();
    seed(&org);
    let (from, to) = (now_ms() - 86_400_000, now_ms() + 2 * 86_400_000);
    let wins = org
        .storage
        .win_rates(&principal(&org, &org.mia), from, to)
        .unwrap();
    assert_eq!(
        wins.iter()
            .map(|r| (r.rep_id.as_str(), r.username.as_deref(), r.won, r.lost))
            .collect::<Vec<_>>(),
        [(org.ana.id.as_str(), Some("ana"), 1, 0)]
    );
    assert!(
        org.storage
            .win_rates(&principal(&org, &org.cy), from, to)
            .unwrap()
            .is_empty()
    );
    let (open, won) = org
        .storage
        .forecast(&principal(&org, &org.ana), from, to, None)
        .unwrap();
    assert_eq!((open.len(), won.len()), (1, 1));
    assert_eq!(won[0].amount_minor, 20_000);
    let funnel = org
        .storage
        .funnel(&principal(&org, &org.root), from, to)
        .unwrap();
    assert_eq!(funnel.furthest.iter().map(|(_, n)| n).sum::<u64>(), 3);
    let big = org
        .storage
        .big_deals(&principal(&org, &org.cy), 0, None, 10)
        .unwrap();
    assert_eq!(big.len(), 1);
    assert_eq!(big[0].customer_name.as_deref(), Some("Fish stall"));
    let big = org
        .storage
        .big_deals(&principal(&org, &org.root), 500, Some("EUR"), 10)
        .unwrap();
    assert_eq!(big.len(), 1);
    assert_eq!(big[0].title, "Coffee machines");
}

/// The finished stays in the funnel a viewer sees (deals that entered it until tomorrow).
fn funnel_stays(storage: &SqliteStorage, viewer: &Principal) -> Vec<(String, i64)> {
    storage
        .funnel(viewer, 0, now_ms() + 86_400_000)
        .unwrap()
        .stays
}

#[test]
fn a_moved_customer_takes_its_deals_to_the_new_team() {
    let org = org();
    let (_, customer, _) = seed(&org);
    // Cups went from lead to won: one finished stay, in the north.
    assert_eq!(
        funnel_stays(&org.storage, &principal(&org, &org.mia)).len(),
        1
    );
    assert!(funnel_stays(&org.storage, &principal(&org, &org.cy)).is_empty());
    org.storage
        .assign_customer_territory(&customer.meta.id, &org.quay)
        .unwrap();
    assert!(open_amounts(&org, &org.mia).is_empty());
    assert_eq!(open_amounts(&org, &org.cy).len(), 2);
    assert!(funnel_stays(&org.storage, &principal(&org, &org.mia)).is_empty());
    let stays = funnel_stays(&org.storage, &principal(&org, &org.cy));
    assert_eq!(stays.len(), 1);
    assert_eq!(stays[0].0, "lead");
}

/// A database whose stage history has the older shape (no scope on it, as schema 11 made it)
/// is migrated when opened: the history is written again with each deal's scope, and the
/// funnel reads it through the viewer's sight.
#[test]
fn opening_a_database_with_the_older_stage_history_fills_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.sqlite");
    let (mia, root) = {
        let org = org_at(super::super::SqliteStorage::open(&path).unwrap());
        seed(&org);
        let conn = org.storage.write();
        let version = crate::storage::sqlite::version_before(super::creates_stage_changes);
        crate::storage::sqlite::roll_back(&conn, version);
        conn.execute_batch(&format!(
            "DROP TABLE opportunity_stage_changes;
             CREATE TABLE opportunity_stage_changes (
                 opportunity_id TEXT NOT NULL,
                 position       INTEGER NOT NULL,
                 stage          TEXT NOT NULL,
                 at             BIGINT NOT NULL,
                 by_user        TEXT NOT NULL,
                 duration_ms    BIGINT,
                 PRIMARY KEY (opportunity_id, position)
             ) WITHOUT ROWID;
             DELETE FROM opportunity_facts;
             PRAGMA user_version = {version};"
        ))
        .unwrap();
        drop(conn);
        (principal(&org, &org.mia), principal(&org, &org.root))
    };
    let storage = SqliteStorage::open(&path).unwrap();
    let stays = funnel_stays(&storage, &mia);
    assert_eq!(stays.len(), 1);
    assert_eq!(stays[0].0, "lead");
    assert_eq!(funnel_stays(&storage, &root).len(), 1);
    let total: i64 = storage
        .read()
        .query_row(
            "SELECT count(*) FROM opportunity_stage_changes",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(total, 4);
}

#[test]
fn the_backfill_projects_deals_stored_before_the_tables_existed() {
    let org = org();
    seed(&org);
    let count = |conn: &rusqlite::Connection| -> (i64, i64, i64) {
        conn.query_row(
            "SELECT (SELECT count(*) FROM opportunity_facts),
               (SELECT count(*) FROM opportunity_stage_changes),
               (SELECT count(*) FROM customer_origins WHERE first_stored_at > 0)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap()
    };
    let before = count(&org.storage.read());
    assert_eq!(before, (3, 4, 2));
    let mut conn = org.storage.write();
    let tx = conn.transaction().unwrap();
    tx.execute_batch(
        "DELETE FROM opportunity_facts; DELETE FROM opportunity_stage_changes;
         DELETE FROM customer_origins;",
    )
    .unwrap();
    super::backfill(&tx).unwrap();
    assert_eq!(count(&tx), before);
}

#[test]
fn targets_are_idempotent_per_rep_period_metric_and_bounded() {
    let org = org();
    let visits = Target::new("visits", None, 40).unwrap();
    for value in [40, 45] {
        let target = Target {
            value,
            ..visits.clone()
        };
        assert_eq!(
            org.storage
                .set_target(&org.ana.id, "2026-11", &target, &org.mia.id, 1)
                .unwrap(),
            TargetWrite::Stored
        );
    }
    let stored = org
        .storage
        .targets(&[org.ana.id.clone(), org.cy.id.clone()], "2026-11")
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1.value, 45);
    let currencies: Vec<String> = (0..40)
        .map(|i| format!("A{}{}", (b'A' + i / 26) as char, (b'A' + i % 26) as char))
        .collect();
    let mut outcomes = Vec::new();
    for currency in &currencies {
        let target = Target::new("revenue", Some(currency), 1).unwrap();
        outcomes.push(
            org.storage
                .set_target(&org.ana.id, "2026-11", &target, &org.root.id, 1)
                .unwrap(),
        );
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == TargetWrite::Stored)
            .count(),
        31
    );
    assert_eq!(outcomes.last(), Some(&TargetWrite::TooMany));
}
