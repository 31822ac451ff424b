//! The pipeline by stage, the weighted rule and the stage change with a loss's reason.

use std::sync::{Arc, Mutex};

use super::*;
use crate::model::*;
use crate::{Query, QueryListener, QueryResult};

fn store_as(user: &str) -> Store {
    let store = Store::open(":memory:").unwrap();
    store.set_user(user).unwrap();
    store
}

fn deal(store: &Store, customer: &str, title: &str, minor: i64, currency: &str) -> Opportunity {
    let mut o = Opportunity::new(
        customer,
        title,
        Money {
            minor,
            currency: currency.into(),
        },
    );
    o.owner = Some(store.user());
    store.create(o).unwrap()
}

fn pipeline(store: &Store, query: Query) -> Vec<StageDeals> {
    match store.query(&query).unwrap() {
        QueryResult::DealsByStage(stages) => stages,
        other => panic!("pipeline expected, got {other:?}"),
    }
}

fn required_lost_reason(e: StoreError) -> bool {
    matches!(e, StoreError::Validation(ValidationError::Required { field }) if field == "lost_reason")
}

#[test]
fn deals_are_weighted_by_their_probability_or_their_stages_and_never_overflow() {
    assert_eq!(weight_percent(&Stage::Proposal, None), 50);
    assert_eq!(weight_percent(&Stage::Proposal, Some(80)), 80);
    assert_eq!(weight_percent(&Stage::Lead, Some(250)), 100);
    assert_eq!(weight_percent(&Stage::Won, Some(10)), 100);
    assert_eq!(weight_percent(&Stage::Lost, Some(90)), 0);
    assert_eq!(weighted_minor(1_001, &Stage::Proposal, Some(50)), 501);
    assert_eq!(weighted_minor(999, &Stage::Lead, None), 100);
    assert_eq!(weighted_minor(10_000, &Stage::Qualified, None), 2_500);
    assert_eq!(weighted_minor(i64::MAX, &Stage::Won, None), i64::MAX);
    assert_eq!(weighted_minor(0, &Stage::Negotiation, None), 0);
    assert_eq!(
        weighted_minor(i64::MAX, &Stage::Unknown("on_hold".into()), Some(50)),
        i64::MAX / 2 + 1
    );
}

#[test]
fn the_pipeline_groups_a_reps_deals_by_stage_with_totals_per_currency() {
    let store = store_as("anna");
    let customer = store.create(Customer::new("Bäckerei Schmidt")).unwrap();
    let id = customer.meta.id.as_str();
    let mut big = deal(&store, id, "Ovens", 100_000, "EUR");
    big.probability = Some(40);
    big.expected_close_at = Some(1_800_000_000_000);
    store.update(big).unwrap();
    let mut soon = deal(&store, id, "Mixers", 20_000, "EUR");
    soon.probability = Some(75);
    soon.expected_close_at = Some(1_790_000_000_000);
    store.update(soon).unwrap();
    deal(&store, id, "Scales", 5_000, "CHF");
    let won = deal(&store, "elsewhere", "Fridges", 7_000, "EUR");
    store.change_stage(&won.meta.id, Stage::Won, None).unwrap();
    let mut bens = Opportunity::new(
        id,
        "Ben's",
        Money {
            minor: 1,
            currency: "EUR".into(),
        },
    );
    bens.owner = Some("ben".into());
    store.create(bens).unwrap();
    let gone = deal(&store, id, "Deleted", 9_999, "EUR");
    store.delete(&gone.meta.id).unwrap();

    let stages = pipeline(
        &store,
        Query::DealsByStage {
            owner: Some("anna".into()),
            stage: None,
            limit: 0,
        },
    );
    assert_eq!(
        stages.iter().map(|s| s.stage.clone()).collect::<Vec<_>>(),
        Stage::ALL,
        "every known stage, in order, empty ones included"
    );
    let lead = &stages[0];
    assert_eq!(
        lead.totals,
        vec![
            CurrencyTotal {
                currency: "CHF".into(),
                count: 1,
                amount_minor: 5_000,
                // No probability of its own: a lead's default, 10 %.
                weighted_minor: 500,
            },
            CurrencyTotal {
                currency: "EUR".into(),
                count: 2,
                amount_minor: 120_000,
                weighted_minor: 40_000 + 15_000,
            },
        ]
    );
    assert_eq!(
        lead.deals
            .iter()
            .map(|d| d.title.as_str())
            .collect::<Vec<_>>(),
        ["Mixers", "Ovens", "Scales"],
        "soonest expected close first, undated last"
    );
    assert_eq!(
        lead.deals[0].customer_name.as_deref(),
        Some("Bäckerei Schmidt")
    );
    assert_eq!(lead.deals[0].weighted_minor, 15_000);
    let won_stage = &stages[4];
    assert_eq!(won_stage.deals.len(), 1);
    assert_eq!(won_stage.deals[0].customer_name, None, "customer not here");
    assert!(stages[1].totals.is_empty() && stages[1].deals.is_empty());

    let only_lead = pipeline(
        &store,
        Query::DealsByStage {
            owner: Some("anna".into()),
            stage: Some(Stage::Lead),
            limit: 1,
        },
    );
    assert_eq!(only_lead.len(), 1);
    assert_eq!(only_lead[0].deals.len(), 1, "listed up to the limit");
    assert_eq!(
        only_lead[0].totals.iter().map(|t| t.count).sum::<u32>(),
        3,
        "totals count every deal"
    );

    let everyone = pipeline(
        &store,
        Query::DealsByStage {
            owner: None,
            stage: Some(Stage::Lead),
            limit: 0,
        },
    );
    assert_eq!(everyone[0].deals.len(), 4);
}

#[test]
fn a_stage_this_code_does_not_know_is_listed_after_the_known_ones() {
    let store = store_as("anna");
    let mut newer = Opportunity::new(
        "c",
        "From a newer app",
        Money {
            minor: 10,
            currency: "EUR".into(),
        },
    );
    newer.owner = Some("anna".into());
    let newer = store.create(newer).unwrap();
    // As a newer app's stage reads from a document: the projection holds its text.
    store
        .with_conn(|conn| {
            conn.execute(
                "UPDATE opportunities SET stage = 'on_hold' WHERE id = ?1",
                [&newer.meta.id],
            )?;
            Ok(())
        })
        .unwrap();
    let stages = pipeline(
        &store,
        Query::DealsByStage {
            owner: None,
            stage: None,
            limit: 0,
        },
    );
    assert_eq!(stages.len(), Stage::ALL.len() + 1);
    assert_eq!(
        stages[Stage::ALL.len()].stage,
        Stage::Unknown("on_hold".into())
    );
    assert_eq!(stages[Stage::ALL.len()].deals[0].title, "From a newer app");
}

#[test]
fn a_loss_needs_its_reason_and_other_stages_clear_it() {
    let store = store_as("anna");
    let o = deal(&store, "c", "Ovens", 100, "EUR");
    for blank in [None, Some(String::new()), Some("  ".to_owned())] {
        let refused = store
            .change_stage(&o.meta.id, Stage::Lost, blank)
            .unwrap_err();
        assert!(required_lost_reason(refused));
    }
    let unchanged: Opportunity = store.get(&o.meta.id).unwrap().unwrap();
    assert_eq!(unchanged.stage, Stage::Lead, "nothing written");
    assert_eq!(unchanged.stage_history.len(), 1);

    let lost = store
        .change_stage(&o.meta.id, Stage::Lost, Some(" Price too high ".into()))
        .unwrap();
    assert_eq!(lost.stage, Stage::Lost);
    assert_eq!(lost.lost_reason.as_deref(), Some("Price too high"));
    assert_eq!(
        lost.stage_history
            .iter()
            .map(|c| (c.stage.clone(), c.by.as_str()))
            .collect::<Vec<_>>(),
        [(Stage::Lead, "anna"), (Stage::Lost, "anna")]
    );

    // The typed update enforces the same rule: a lost deal keeps a reason.
    let mut cleared = lost.clone();
    cleared.lost_reason = None;
    assert!(required_lost_reason(store.update(cleared).unwrap_err()));

    let reopened = store
        .change_stage(&o.meta.id, Stage::Negotiation, Some("ignored".into()))
        .unwrap();
    assert_eq!(reopened.lost_reason, None, "only a lost deal has a reason");

    let mut direct = reopened.clone();
    direct.stage = Stage::Lost;
    assert!(required_lost_reason(store.update(direct).unwrap_err()));

    let mut created_lost = Opportunity::new(
        "c",
        "Lost at once",
        Money {
            minor: 1,
            currency: "EUR".into(),
        },
    );
    created_lost.stage = Stage::Lost;
    assert!(required_lost_reason(
        store.create(created_lost.clone()).unwrap_err()
    ));
    created_lost.lost_reason = Some("No budget".into());
    store.create(created_lost).unwrap();

    assert!(matches!(
        store.change_stage(&o.meta.id, Stage::Unknown("on_hold".into()), None),
        Err(StoreError::Validation(ValidationError::UnknownValue { .. }))
    ));
    assert!(matches!(
        store.change_stage("nope", Stage::Won, None),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn a_lost_deal_without_a_reason_from_elsewhere_stays_editable() {
    use crate::records::AnyRecord;
    // An older app wrote a loss without a reason (or concurrent edits merged to one): this
    // device edits its other fields, but never writes a new loss without one.
    let mut old_loss = Opportunity::new(
        "c",
        "Old loss",
        Money {
            minor: 1,
            currency: "EUR".into(),
        },
    );
    old_loss.stage = Stage::Lost;
    let stored = AnyRecord::Opportunity(old_loss.clone());
    let mut edited = old_loss.clone();
    edited.amount.minor = 2;
    assert_eq!(
        AnyRecord::Opportunity(edited).check_local_write(Some(&stored)),
        Ok(())
    );
    let mut open = old_loss.clone();
    open.stage = Stage::Negotiation;
    let reopened = AnyRecord::Opportunity(open);
    assert_eq!(
        AnyRecord::Opportunity(old_loss).check_local_write(Some(&reopened)),
        Err(ValidationError::Required {
            field: "lost_reason".into()
        })
    );
}

#[test]
fn the_pipeline_is_live() {
    struct Collect(Mutex<Vec<Vec<StageDeals>>>);
    impl QueryListener for Collect {
        fn on_result(&self, result: QueryResult) {
            if let QueryResult::DealsByStage(stages) = result {
                self.0.lock().unwrap().push(stages);
            }
        }
    }
    let store = store_as("anna");
    let listener = Arc::new(Collect(Mutex::new(Vec::new())));
    let query = Query::DealsByStage {
        owner: Some("anna".into()),
        stage: None,
        limit: 0,
    };
    assert_eq!(query.depends_on(), [Kind::Opportunity, Kind::Customer]);
    let _subscription = store.subscribe(query, listener.clone()).unwrap();
    let o = deal(&store, "c", "Ovens", 100, "EUR");
    store
        .change_stage(&o.meta.id, Stage::Lost, Some("Too slow".into()))
        .unwrap();
    let seen = listener.0.lock().unwrap();
    assert_eq!(seen.len(), 3, "initial, created, moved");
    let lead_count = |stages: &Vec<StageDeals>| stages[0].deals.len();
    assert_eq!(seen.iter().map(lead_count).collect::<Vec<_>>(), [0, 1, 0]);
    assert_eq!(seen[2][5].deals[0].title, "Ovens");
}
