#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use fieldcrm_core as fc;

use super::*;

fn open(dir: &tempfile::TempDir) -> Arc<FieldStore> {
    FieldStore::open(dir.path().join("t.sqlite").display().to_string()).unwrap()
}

#[test]
fn previewing_a_check_in_writes_nothing_and_refuses_bad_fixes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut customer = new_customer("Kiosk".into());
    customer.location = Some(GeoLocation {
        lat: 53.55,
        lon: 9.93,
        source: LocationSource::Gps,
        at: fc::now_ms(),
    });
    customer.visit_radius_m = 100;
    let customer = store.create_customer(customer).unwrap();
    let pending = store.sync_status().unwrap().pending_changes;
    let fix = |lat: f64| GpsFix {
        lat,
        lon: 9.93,
        accuracy_m: 10.0,
        fix_at: fc::now_ms(),
        mock: false,
    };
    let preview = |f| store.preview_verification(customer.meta.id.clone(), f);
    assert_eq!(preview(fix(53.5502)), Ok(Verification::Verified));
    assert_eq!(preview(fix(53.57)), Ok(Verification::OutOfRange));
    assert!(matches!(
        preview(fix(91.0)),
        Err(FieldCrmError::InvalidValue { .. })
    ));
    assert_eq!(store.sync_status().unwrap().pending_changes, pending);
}

#[test]
fn a_panic_becomes_a_typed_error() {
    let result: Result<()> = guarded("probe", || panic!("boom"));
    assert_eq!(
        result,
        Err(FieldCrmError::Internal {
            operation: "probe".into()
        })
    );
}

#[test]
fn typed_delete_checks_the_kind_and_restore_undoes_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let customer = store.create_customer(new_customer("Kiosk".into())).unwrap();
    let id = customer.meta.id.clone();
    assert!(matches!(
        store.delete_task(id.clone()),
        Err(FieldCrmError::WrongKind { .. })
    ));
    store.delete_customer(id.clone()).unwrap();
    assert!(
        store
            .get_customer(id.clone())
            .unwrap()
            .unwrap()
            .meta
            .deleted
    );
    assert!(
        store
            .search_customers("kiosk".into(), 0)
            .unwrap()
            .is_empty()
    );
    store.restore_customer(id.clone()).unwrap();
    assert!(!store.get_customer(id).unwrap().unwrap().meta.deleted);
    assert!(matches!(
        store.delete_customer("missing".into()),
        Err(FieldCrmError::NotFound { .. })
    ));
}

#[test]
fn sync_status_counts_pending_changes_and_is_idle() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.create_task(new_task("Call back".into())).unwrap();
    let status = store.sync_status().unwrap();
    assert_eq!((status.pending_changes, status.syncing), (1, false));
    assert!(store.rejected_changes().unwrap().is_empty());
}

#[test]
fn a_throwing_transport_is_recorded_as_the_sync_error() {
    struct Down;
    impl SyncTransport for Down {
        fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Err(FieldCrmError::ServerRefused {
                status: 401,
                code: "unauthorized".into(),
                retry_after_secs: None,
            })
        }
        fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Err(FieldCrmError::ServerRefused {
                status: 401,
                code: "unauthorized".into(),
                retry_after_secs: None,
            })
        }
        fn upload_pings(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Err(FieldCrmError::ServerRefused {
                status: 401,
                code: "unauthorized".into(),
                retry_after_secs: None,
            })
        }
        fn refetch(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Err(FieldCrmError::ServerRefused {
                status: 401,
                code: "unauthorized".into(),
                retry_after_secs: None,
            })
        }
        fn analytics(&self, _query: String) -> Result<Vec<u8>> {
            Err(FieldCrmError::ServerRefused {
                status: 401,
                code: "unauthorized".into(),
                retry_after_secs: None,
            })
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.create_task(new_task("Call back".into())).unwrap();
    let err = store.sync(Arc::new(Down)).unwrap_err();
    assert_eq!(
        err,
        FieldCrmError::ServerRefused {
            status: 401,
            code: "unauthorized".into(),
            retry_after_secs: None,
        }
    );
    let status = store.sync_status().unwrap();
    assert_eq!(status.pending_changes, 1, "nothing lost");
    assert!(status.last_error.is_some());
    assert_eq!(status.last_error_code.as_deref(), Some("unauthorized"));
}

#[test]
fn a_cancelled_sync_starts_no_further_request_and_loses_nothing() {
    /// The network is down; while the first push fails, the app cancels the round.
    struct CancelledWhileDown {
        cancellation: Arc<SyncCancellation>,
        requests: AtomicUsize,
    }
    impl SyncTransport for CancelledWhileDown {
        fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            self.cancellation.cancel();
            Err(FieldCrmError::Offline {
                reason: "no route to host".into(),
            })
        }
        fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            Ok(Vec::new())
        }
        fn upload_pings(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            Ok(Vec::new())
        }
        fn refetch(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            Ok(Vec::new())
        }
        fn analytics(&self, _query: String) -> Result<Vec<u8>> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            Ok(Vec::new())
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.create_task(new_task("Call back".into())).unwrap();
    let cancellation = SyncCancellation::new();
    let transport = Arc::new(CancelledWhileDown {
        cancellation: cancellation.clone(),
        requests: AtomicUsize::new(0),
    });
    let err = store
        .sync_cancellable(transport.clone(), cancellation.clone())
        .unwrap_err();
    assert_eq!(
        err,
        FieldCrmError::Offline {
            reason: "sync cancelled".into()
        }
    );
    assert_eq!(
        transport.requests.load(Ordering::SeqCst),
        1,
        "no retry after cancel"
    );
    let status = store.sync_status().unwrap();
    assert_eq!(
        (status.pending_changes, status.last_error_code.as_deref()),
        (1, Some("offline"))
    );
    assert!(cancellation.is_cancelled() && !status.syncing);
}

#[test]
fn a_second_sync_while_one_runs_is_refused_at_once() {
    /// While its push is under way, the app starts another sync and a wipe on the same
    /// store (the sync button during the background worker's round); then the server
    /// refuses the push.
    struct Reentrant {
        store: Arc<FieldStore>,
        during: Mutex<Vec<Result<()>>>,
    }
    impl Reentrant {
        fn refused() -> Result<Vec<u8>> {
            Err(FieldCrmError::ServerRefused {
                status: 401,
                code: "unauthorized".into(),
                retry_after_secs: None,
            })
        }
    }
    struct Refusing;
    impl SyncTransport for Refusing {
        fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Reentrant::refused()
        }
        fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Reentrant::refused()
        }
        fn upload_pings(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Reentrant::refused()
        }
        fn refetch(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Reentrant::refused()
        }
        fn analytics(&self, _query: String) -> Result<Vec<u8>> {
            Reentrant::refused()
        }
    }
    impl SyncTransport for Reentrant {
        fn push(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            let second = self.store.sync(Arc::new(Refusing)).map(|_| ());
            let wipe = self.store.wipe();
            let syncing = self.store.sync_status().map(|s| s.syncing);
            lock(&self.during).extend([second, wipe, syncing.map(|s| assert!(s))]);
            Reentrant::refused()
        }
        fn pull(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Reentrant::refused()
        }
        fn upload_pings(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Reentrant::refused()
        }
        fn refetch(&self, _body: Vec<u8>) -> Result<Vec<u8>> {
            Reentrant::refused()
        }
        fn analytics(&self, _query: String) -> Result<Vec<u8>> {
            Reentrant::refused()
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let task = store.create_task(new_task("Call back".into())).unwrap();
    let transport = Arc::new(Reentrant {
        store: store.clone(),
        during: Mutex::new(Vec::new()),
    });
    let err = store.sync(transport.clone()).unwrap_err();
    assert!(
        matches!(err, FieldCrmError::ServerRefused { .. }),
        "{err:?}"
    );
    assert_eq!(
        *lock(&transport.during),
        [
            Err(FieldCrmError::AlreadySyncing),
            Err(FieldCrmError::AlreadySyncing),
            Ok(())
        ]
    );
    assert!(store.get_task(task.meta.id).unwrap().is_some(), "not wiped");
    let status = store.sync_status().unwrap();
    assert_eq!(
        (status.syncing, status.last_error_code.as_deref()),
        (false, Some("unauthorized")),
        "the running round's outcome, not the refused one's"
    );
    // Once it has ended, the next one runs.
    let err = store.sync(Arc::new(Refusing)).unwrap_err();
    assert!(
        matches!(err, FieldCrmError::ServerRefused { .. }),
        "{err:?}"
    );
}

#[test]
fn catalog_search_and_order_entry_with_totals() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut product = new_product("AB-1001".into(), "Roggenbrot".into());
    product.category = Some("bread".into());
    product.prices.insert("EUR".into(), 349);
    product.tax_rate_bp = 700;
    let product = store.create_product(product).unwrap();
    let found = store.search_products("ab1001".into(), 0).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].prices[0].minor, 349);
    assert_eq!(
        store.products_in_category("bread".into(), 0, 0).unwrap(),
        found
    );
    assert_eq!(
        store.product_by_sku("AB-1001".into()).unwrap(),
        Some(found[0].clone())
    );
    let customer = store.create_customer(new_customer("Kiosk".into())).unwrap();
    let order = store
        .create_order(customer.meta.id.clone(), None, "EUR".into())
        .unwrap();
    // A discount over 100 % is refused before anything is written.
    let pending = store.sync_status().unwrap().pending_changes;
    let over = store.add_order_line(order.meta.id.clone(), product.meta.id.clone(), 3, 10_001);
    assert!(
        matches!(&over, Err(FieldCrmError::InvalidValue { field, rule: ValidationRule::OutOfRange, .. }) if field == "lines.discount_bp"),
        "{over:?}"
    );
    assert_eq!(store.sync_status().unwrap().pending_changes, pending);
    // The line and its discount in one write.
    let order = store
        .add_order_line(order.meta.id.clone(), product.meta.id.clone(), 3, 1_000)
        .unwrap();
    assert_eq!(store.sync_status().unwrap().pending_changes, pending + 1);
    let line = order.lines[0].id.clone();
    assert_eq!(order.lines[0].discount_bp, 1_000);
    let detail = store
        .order_with_lines(order.meta.id.clone())
        .unwrap()
        .unwrap();
    // 3 × 3.49 = 10.47, 10 % off = 1.047 -> 1.05, net 9.42, 7 % tax = 0.6594 -> 0.66.
    assert_eq!(
        detail.order.totals,
        OrderTotals {
            subtotal_minor: 1047,
            discount_minor: 105,
            net_minor: 942,
            tax_minor: 66,
            gross_minor: 1008,
        }
    );
    assert_eq!(
        store
            .orders_of_customer(customer.meta.id.clone(), 0)
            .unwrap()[0]
            .totals,
        detail.order.totals
    );
    let too_much = store.edit_order_line(
        order.meta.id.clone(),
        line.clone(),
        LineEdit {
            discount_bp: Some(10_001),
            quantity: None,
        },
    );
    assert!(
        matches!(&too_much, Err(FieldCrmError::InvalidValue { field, rule: ValidationRule::OutOfRange, .. }) if field == "lines.discount_bp"),
        "{too_much:?}"
    );
    store
        .set_order_status(order.meta.id.clone(), OrderStatus::Submitted)
        .unwrap();
    let frozen = store.remove_order_line(order.meta.id.clone(), line);
    assert!(
        matches!(
            &frozen,
            Err(FieldCrmError::InvalidValue {
                rule: ValidationRule::Immutable,
                ..
            })
        ),
        "{frozen:?}"
    );
    let usd = store
        .create_order(customer.meta.id, None, "USD".into())
        .unwrap();
    let no_price = store.add_order_line(usd.meta.id, product.meta.id, 1, 0);
    assert!(
        matches!(&no_price, Err(FieldCrmError::InvalidValue { field, .. }) if field == "currency"),
        "{no_price:?}"
    );
}

/// Keeps every result of a live query.
#[derive(Default)]
struct Seen(Mutex<Vec<QueryResult>>);

impl Seen {
    fn last(&self) -> Option<QueryResult> {
        self.0.lock().unwrap().last().cloned()
    }
}

impl QueryListener for Seen {
    fn on_result(&self, result: QueryResult) -> Result<()> {
        self.0.lock().unwrap().push(result);
        Ok(())
    }
}

#[test]
fn the_category_list_counts_products_and_is_live() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let product = |sku: &str, category: Option<&str>, active: bool| {
        let mut p = new_product(sku.into(), format!("Product {sku}"));
        p.category = category.map(Into::into);
        p.active = active;
        store.create_product(p).unwrap()
    };
    product("AB-1", Some("bread"), true);
    product("AB-2", Some("bread"), false);
    product("BU-1", Some("Dairy"), true);
    product("LO-1", None, true);
    let gone = product("ZZ-1", Some("zebra"), true);
    store.delete_product(gone.meta.id).unwrap();
    let category = |name: &str, active_products, products| CategorySummary {
        name: name.into(),
        active_products,
        products,
    };
    let expected = vec![category("bread", 1, 2), category("Dairy", 1, 1)];
    assert_eq!(store.product_categories(0, 0).unwrap(), expected);
    assert_eq!(store.product_categories(1, 1).unwrap(), expected[1..]);
    let seen = Arc::new(Seen::default());
    let _subscription = store
        .subscribe(
            Query::ProductCategories {
                limit: 10,
                offset: 0,
            },
            seen.clone(),
        )
        .unwrap();
    product("CA-1", Some("cake"), true);
    assert_eq!(
        seen.last(),
        Some(QueryResult::Categories {
            rows: vec![
                category("bread", 1, 2),
                category("cake", 1, 1),
                category("Dairy", 1, 1)
            ]
        })
    );
}

#[test]
fn a_customer_insight_crosses_with_its_offers_and_is_none_before_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    assert_eq!(store.customer_insight("c1".into(), 5), Ok(None));
    assert_eq!(
        store.query(Query::CustomerInsight {
            customer_id: "c1".into(),
            limit: 0,
        }),
        Ok(QueryResult::CustomerInsight { insight: None })
    );
    let product = |id: &str, name: Option<&str>| fc::OfferProduct {
        product_id: id.into(),
        name: name.map(str::to_owned),
    };
    let insight = CustomerInsight::from(fc::CustomerInsight {
        customer_id: "c1".into(),
        run_id: 4,
        as_of: 1_790_000_000_000,
        currency: "EUR".into(),
        segment: "at_risk".into(),
        abc_class: "A".into(),
        revenue_minor: 120_000,
        recency_days: Some(90),
        frequency: Some(7),
        monetary_minor: Some(17_000),
        clv_12m_minor: Some(250_000.0),
        expected_purchases_90d: Some(0.5),
        p_alive: Some(0.4),
        churn_level: Some("high".into()),
        churn_score: Some(0.6),
        offers: vec![fc::InsightOffer {
            product: product("filters", Some("Coffee filters")),
            because: vec![product("coffee", None)],
            confidence: 0.7,
            lift: 2.0,
            support: 0.01,
        }],
        run_offers: vec![],
        bought_since_run: vec!["coffee".into()],
    });
    assert_eq!(
        insight.offers[0].product.name.as_deref(),
        Some("Coffee filters")
    );
    assert_eq!(insight.offers[0].because[0].product_id, "coffee");
    assert_eq!(insight.offers[0].because[0].name, None);
    assert_eq!(
        (insight.abc_class.as_str(), insight.p_alive),
        ("A", Some(0.4))
    );
    assert_eq!(insight.bought_since_run, ["coffee"]);
}

#[test]
fn a_case_is_listed_moved_on_and_surveyed_with_typed_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.set_user("user-ana".into()).unwrap();
    let customer = store.create_customer(new_customer("Kiosk".into())).unwrap();
    let mut case = new_case(customer.meta.id.clone(), "Broken fridge".into());
    case.assignee = Some("user-ana".into());
    let id = store.create_case(case).unwrap().meta.id;

    let mine = store.open_cases(None, Some("user-ana".into())).unwrap();
    assert_eq!(mine.len(), 1);
    let due = mine[0].due_at.expect("a due time from the default SLA");
    assert!(!case_is_overdue(mine[0].clone(), due) && case_is_overdue(mine[0].clone(), due + 1));
    assert!(
        store
            .open_cases(None, Some("user-ben".into()))
            .unwrap()
            .is_empty()
    );

    let early = store.record_case_survey(id.clone(), 5, None, SurveyEntrant::Customer);
    assert!(matches!(
        early,
        Err(FieldCrmError::InvalidValue { ref field, .. }) if field == "survey"
    ));
    store
        .set_case_status(id.clone(), CaseStatus::Resolved, Some("swapped".into()))
        .unwrap();
    let out_of_scale = store.record_case_survey(id.clone(), 0, None, SurveyEntrant::Rep);
    assert!(matches!(
        out_of_scale,
        Err(FieldCrmError::InvalidValue { ref field, .. }) if field == "survey.score"
    ));
    store
        .record_case_survey(id.clone(), 4, Some("ok".into()), SurveyEntrant::Customer)
        .unwrap();

    let detail = store.case_detail(id.clone()).unwrap().unwrap();
    assert!(detail.survey_allowed && !detail.overdue);
    assert!(detail.resolution_ms.is_some());
    assert_eq!(detail.record.survey.map(|s| s.score), Some(4));
    assert_eq!(
        detail
            .record
            .status_history
            .last()
            .and_then(|c| c.note.clone()),
        Some("swapped".into())
    );
    assert!(store.open_cases(None, None).unwrap().is_empty(), "resolved");
    assert_eq!(store.case_detail("no such case".into()).unwrap(), None);
}
