#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::sync::{Arc, Mutex};

use super::*;

fn open(dir: &tempfile::TempDir) -> Arc<FieldStore> {
    let store = FieldStore::open(dir.path().join("t.sqlite").display().to_string()).unwrap();
    store.set_user("anna".into()).unwrap();
    store
}

fn deal(store: &FieldStore, title: &str, amount: &str, probability: Option<u8>) -> Opportunity {
    let mut deal = new_opportunity(
        "customer-1".into(),
        title.into(),
        parse_amount(amount.into(), "EUR".into()).unwrap(),
    );
    deal.owner = Some("anna".into());
    deal.probability = probability;
    store.create_opportunity(deal).unwrap()
}

#[test]
fn the_pipeline_by_stage_has_totals_and_weighted_amounts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    deal(&store, "Ovens", "1000", Some(40));
    deal(&store, "Mixers", "250.50", None);
    let stages = store.deals_by_stage(Some("anna".into()), None, 0).unwrap();
    assert_eq!(stages.len(), 6, "every known stage");
    assert_eq!(stages[0].stage, Stage::Lead);
    assert_eq!(
        stages[0].totals,
        vec![CurrencyTotal {
            currency: "EUR".into(),
            count: 2,
            amount_minor: 125_050,
            // Mixers has no probability of its own: a lead's default, 10 %.
            weighted_minor: 40_000 + 2_505,
        }]
    );
    assert_eq!(stages[0].deals.len(), 2);
    assert!(
        store
            .deals_by_stage(Some("ben".into()), Some(Stage::Lead), 0)
            .unwrap()[0]
            .deals
            .is_empty()
    );
}

#[test]
fn a_loss_without_a_reason_is_a_typed_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let ovens = deal(&store, "Ovens", "1000", Some(40));
    let pending = store.sync_status().unwrap().pending_changes;
    for reason in [None, Some("   ".to_owned())] {
        assert_eq!(
            store.change_stage(ovens.meta.id.clone(), Stage::Lost, reason),
            Err(FieldCrmError::InvalidValue {
                field: "lost_reason".into(),
                rule: ValidationRule::Required,
                detail: "a value is required".into(),
            })
        );
    }
    assert_eq!(store.sync_status().unwrap().pending_changes, pending);
    assert!(matches!(
        store.change_stage(
            ovens.meta.id.clone(),
            Stage::Unknown {
                value: "on_hold".into()
            },
            None
        ),
        Err(FieldCrmError::InvalidValue {
            rule: ValidationRule::UnknownValue,
            ..
        })
    ));
    assert!(matches!(
        store.change_stage("missing".into(), Stage::Won, None),
        Err(FieldCrmError::NotFound { .. })
    ));

    let lost = store
        .change_stage(ovens.meta.id.clone(), Stage::Lost, Some("Too dear".into()))
        .unwrap();
    assert_eq!(lost.stage, Stage::Lost);
    assert_eq!(lost.lost_reason.as_deref(), Some("Too dear"));
    assert_eq!(lost.stage_history.len(), 2);
    assert_eq!(lost.stage_history[1].by, "anna");
    let won = store
        .change_stage(ovens.meta.id.clone(), Stage::Won, None)
        .unwrap();
    assert_eq!(won.lost_reason, None);
}

#[test]
fn the_pipeline_is_live_through_subscribe() {
    struct Collect(Mutex<Vec<Vec<StageDeals>>>);
    impl QueryListener for Collect {
        fn on_result(&self, result: QueryResult) -> Result<()> {
            if let QueryResult::DealsByStage { stages } = result {
                self.0.lock().unwrap().push(stages);
            }
            Ok(())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let listener = Arc::new(Collect(Mutex::new(Vec::new())));
    let subscription = store
        .subscribe(
            Query::DealsByStage {
                owner: Some("anna".into()),
                stage: None,
                limit: 0,
            },
            listener.clone(),
        )
        .unwrap();
    let ovens = deal(&store, "Ovens", "1000", Some(40));
    store.change_stage(ovens.meta.id, Stage::Won, None).unwrap();
    subscription.close();
    deal(&store, "After closing", "1", None);
    let seen = listener.0.lock().unwrap();
    let won_counts: Vec<usize> = seen.iter().map(|s| s[4].deals.len()).collect();
    assert_eq!(
        won_counts,
        [0, 0, 1],
        "initial, created, won; none after close"
    );
    assert_eq!(
        seen[2][4].totals[0].weighted_minor, 100_000,
        "a won deal counts whole"
    );
}

#[test]
fn amounts_cross_as_typed_and_read() {
    assert_eq!(
        parse_amount("1250,5".into(), "EUR".into()),
        Ok(Money {
            minor: 125_050,
            currency: "EUR".into()
        })
    );
    assert!(matches!(
        parse_amount("-1".into(), "EUR".into()),
        Err(FieldCrmError::InvalidValue { .. })
    ));
    assert_eq!(format_amount(125_050, "EUR".into()), "1250.50 EUR");
    assert_eq!(format_amount(1_250, "JPY".into()), "1250 JPY");
    assert_eq!(weighted_minor(1_001, Stage::Proposal, Some(50)), 501);
    assert_eq!(weighted_minor(1_000, Stage::Qualified, None), 250);
    assert_eq!(weighted_minor(1_000, Stage::Lost, Some(60)), 0);
}
