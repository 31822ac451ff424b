//! The queries every replica must answer alike, and each projection checked against its documents.

use super::*;

// ---------------------------------------------------------------------------------------------
// Queries, and the same answers computed from the documents.

pub(crate) fn queries(replicas: usize) -> Vec<Query> {
    let mut queries = vec![
        Query::Customers(CustomerFilter {
            limit: 10_000,
            ..CustomerFilter::default()
        }),
        Query::Customers(CustomerFilter {
            grade: Some(Grade::A),
            limit: 10_000,
            ..CustomerFilter::default()
        }),
        Query::Customers(CustomerFilter {
            segment: Some("retail".to_owned()),
            territory: Some("north".to_owned()),
            limit: 10_000,
            ..CustomerFilter::default()
        }),
        Query::Pipeline { owner: None },
        Query::Pipeline {
            owner: Some(user(0)),
        },
        Query::OpenTasks { assignee: None },
        Query::OpenCases {
            customer_id: None,
            assignee: None,
        },
        Query::NearbyCustomers {
            lat: CENTER.0,
            lon: CENTER.1,
            max_distance_m: Some(50_000.0),
            limit: 5,
        },
        Query::NearbyCustomers {
            lat: CENTER.0,
            lon: CENTER.1,
            max_distance_m: None,
            limit: 100,
        },
        Query::OverdueCustomers {
            now: T0 + 30 * 24 * HOUR,
            owner: None,
            limit: 1_000,
        },
    ];
    for term in SEARCH_TERMS {
        queries.push(Query::SearchCustomers {
            text: (*term).to_owned(),
            limit: 1_000,
        });
    }
    for term in PRODUCT_TERMS {
        queries.push(Query::SearchProducts {
            text: (*term).to_owned(),
            limit: 1_000,
        });
    }
    queries.push(Query::ProductCategories {
        limit: 1_000,
        offset: 0,
    });
    for category in ["bakery", "dairy"] {
        queries.push(Query::ProductsInCategory {
            category: category.to_owned(),
            limit: 1_000,
            offset: 0,
        });
    }
    for r in 0..replicas {
        queries.push(Query::VisitsForRep {
            rep: user(r),
            from: EARLIEST_TIMESTAMP,
            to: LATEST_TIMESTAMP,
        });
    }
    queries
}

pub(crate) fn all<R: fieldcrm_core::Record>(store: &Store) -> Vec<R> {
    store
        .document_ids(R::KIND)
        .unwrap()
        .iter()
        .map(|id| store.get::<R>(id).unwrap().unwrap())
        .collect()
}

pub(crate) fn customer_rows(store: &Store, query: &Query) -> Vec<CustomerSummary> {
    match store.query(query).unwrap() {
        QueryResult::Customers(rows) => rows,
        other => panic!("{query:?} answered {other:?}"),
    }
}

pub(crate) fn summary(c: &Customer, visits: &[Visit]) -> CustomerSummary {
    CustomerSummary {
        id: c.meta.id.clone(),
        name: c.name.clone(),
        city: c.address.city.clone(),
        grade: c.grade.clone(),
        owner: c.owner.clone(),
        territory: c.territory.clone(),
        lat: c.location.as_ref().map(|l| l.lat),
        lon: c.location.as_ref().map(|l| l.lon),
        visit_cadence_days: c.visit_cadence_days,
        last_visit_at: visits
            .iter()
            .filter(|v| {
                v.customer_id == c.meta.id && !v.meta.deleted && v.status == VisitStatus::Done
            })
            .filter_map(|v| v.check_in.as_ref().map(|s| s.at))
            .max(),
        distance_m: None,
    }
}

/// Lower-cased words as the full-text index splits them (ASCII vocabularies only).
pub(crate) fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Every projection-backed query answered from the documents themselves.
pub(crate) fn check_projections(store: &Store, replicas: usize) {
    let customers: Vec<Customer> = all(store);
    let visits: Vec<Visit> = all(store);
    let live: Vec<&Customer> = customers.iter().filter(|c| !c.meta.deleted).collect();

    // Customers, by name (case-insensitively) then id.
    let mut expected: Vec<CustomerSummary> = live.iter().map(|c| summary(c, &visits)).collect();
    expected.sort_by(|a, b| {
        (a.name.to_ascii_lowercase(), &a.id).cmp(&(b.name.to_ascii_lowercase(), &b.id))
    });
    let filter = CustomerFilter {
        limit: 10_000,
        ..CustomerFilter::default()
    };
    assert_eq!(
        customer_rows(store, &Query::Customers(filter.clone())),
        expected,
        "customer projection"
    );
    let segment_filter = CustomerFilter {
        segment: Some("retail".to_owned()),
        territory: Some("north".to_owned()),
        ..filter
    };
    let in_segment: Vec<CustomerSummary> = expected
        .iter()
        .filter(|s| {
            s.territory.as_deref() == Some("north")
                && live
                    .iter()
                    .any(|c| c.meta.id == s.id && c.segments.contains("retail"))
        })
        .cloned()
        .collect();
    assert_eq!(
        customer_rows(store, &Query::Customers(segment_filter)),
        in_segment,
        "segment projection"
    );

    // Nearby: exact distances, closest first, ties by id.
    let mut nearby: Vec<CustomerSummary> = live
        .iter()
        .filter_map(|c| {
            let l = c.location.as_ref()?;
            let mut s = summary(c, &visits);
            s.distance_m = Some(distance_m(CENTER.0, CENTER.1, l.lat, l.lon));
            Some(s)
        })
        .collect();
    nearby.sort_by(|a, b| {
        a.distance_m
            .unwrap_or(f64::MAX)
            .total_cmp(&b.distance_m.unwrap_or(f64::MAX))
            .then_with(|| a.id.cmp(&b.id))
    });
    let within: Vec<CustomerSummary> = nearby
        .iter()
        .filter(|s| s.distance_m.is_some_and(|d| d <= 50_000.0))
        .take(5)
        .cloned()
        .collect();
    let query = Query::NearbyCustomers {
        lat: CENTER.0,
        lon: CENTER.1,
        max_distance_m: Some(50_000.0),
        limit: 5,
    };
    assert_eq!(customer_rows(store, &query), within, "nearby projection");

    // Search: the same customers (ranking is the index's business).
    for term in SEARCH_TERMS {
        let terms = words(term);
        let mut expected: Vec<String> = live
            .iter()
            .filter(|c| {
                let mut indexed = words(&c.name);
                indexed.extend(words(c.address.city.as_deref().unwrap_or("")));
                for phone in &c.phones {
                    indexed.extend(words(phone));
                    indexed.push(phone.chars().filter(char::is_ascii_digit).collect());
                }
                terms
                    .iter()
                    .all(|t| indexed.iter().any(|w| w.starts_with(t.as_str())))
            })
            .map(|c| c.meta.id.clone())
            .collect();
        expected.sort();
        let query = Query::SearchCustomers {
            text: (*term).to_owned(),
            limit: 1_000,
        };
        let mut found: Vec<String> = customer_rows(store, &query)
            .into_iter()
            .map(|s| s.id)
            .collect();
        found.sort();
        assert_eq!(found, expected, "search for {term:?}");
    }

    // Visits per rep, by day then id.
    let names: BTreeMap<&str, &str> = customers
        .iter()
        .map(|c| (c.meta.id.as_str(), c.name.as_str()))
        .collect();
    for r in 0..replicas {
        let rep = user(r);
        let mut expected: Vec<(i64, VisitSummary)> = visits
            .iter()
            .filter(|v| v.rep == rep && !v.meta.deleted)
            .filter_map(|v| {
                let day = v.check_in.as_ref().map(|s| s.at).or(v.planned_start)?;
                Some((
                    day,
                    VisitSummary {
                        id: v.meta.id.clone(),
                        customer_id: v.customer_id.clone(),
                        customer_name: names.get(v.customer_id.as_str()).map(|n| (*n).to_owned()),
                        rep: v.rep.clone(),
                        planned_start: v.planned_start,
                        planned_end: v.planned_end,
                        status: v.status.clone(),
                        check_in_at: v.check_in.as_ref().map(|s| s.at),
                        check_out_at: v.check_out.as_ref().map(|s| s.at),
                        verification: v.verification.clone(),
                    },
                ))
            })
            .collect();
        expected.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
        let expected: Vec<VisitSummary> = expected.into_iter().map(|(_, v)| v).collect();
        let query = Query::VisitsForRep {
            rep: rep.clone(),
            from: EARLIEST_TIMESTAMP,
            to: LATEST_TIMESTAMP,
        };
        assert_eq!(
            store.query(&query).unwrap(),
            QueryResult::Visits(expected),
            "visits of {rep}"
        );
    }

    // Pipeline totals per stage and currency.
    let opportunities: Vec<Opportunity> = all(store);
    let mut totals: BTreeMap<(Stage, String), (u32, i64)> = BTreeMap::new();
    for o in opportunities.iter().filter(|o| !o.meta.deleted) {
        let total = totals
            .entry((o.stage.clone(), o.amount.currency.clone()))
            .or_default();
        total.0 += 1;
        total.1 += o.amount.minor;
    }
    let expected: Vec<StageTotal> = totals
        .into_iter()
        .map(|((stage, currency), (count, amount_minor))| StageTotal {
            stage,
            currency,
            count,
            amount_minor,
        })
        .collect();
    assert_eq!(
        store.query(&Query::Pipeline { owner: None }).unwrap(),
        QueryResult::Pipeline(expected),
        "pipeline"
    );

    // Open tasks: dated first by due date, then undated, ties by id.
    let tasks: Vec<Task> = all(store);
    let mut expected: Vec<TaskSummary> = tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Open && !t.meta.deleted)
        .map(|t| TaskSummary {
            id: t.meta.id.clone(),
            title: t.title.clone(),
            due_at: t.due_at,
            assignee: t.assignee.clone(),
            linked_id: t.linked_id.clone(),
        })
        .collect();
    expected.sort_by(|a, b| {
        (a.due_at.is_none(), a.due_at, &a.id).cmp(&(b.due_at.is_none(), b.due_at, &b.id))
    });
    assert_eq!(
        store.query(&Query::OpenTasks { assignee: None }).unwrap(),
        QueryResult::Tasks(expected),
        "open tasks"
    );

    // Open cases: soonest due first (none last), then most severe, ties by id.
    let cases: Vec<Case> = all(store);
    let mut expected: Vec<CaseSummary> = cases
        .iter()
        .filter(|c| {
            matches!(c.status, CaseStatus::Open | CaseStatus::InProgress) && !c.meta.deleted
        })
        .map(|c| CaseSummary {
            id: c.meta.id.clone(),
            customer_id: c.customer_id.clone(),
            subject: c.subject.clone(),
            severity: c.severity.clone(),
            status: c.status.clone(),
            assignee: c.assignee.clone(),
            due_at: c.due_at,
            escalated_at: c.escalated_at,
            opened_at: c.meta.created_at,
        })
        .collect();
    let severity_rank = |s: &Severity| match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low | Severity::Unknown(_) => 3,
    };
    let order = |c: &CaseSummary| {
        (
            c.due_at.is_none(),
            c.due_at,
            severity_rank(&c.severity),
            c.id.clone(),
        )
    };
    expected.sort_by_key(order);
    assert_eq!(
        store
            .query(&Query::OpenCases {
                customer_id: None,
                assignee: None,
            })
            .unwrap(),
        QueryResult::Cases(expected),
        "open cases"
    );

    // The category list: per category of a live product, its active and all products.
    let mut counts: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for p in all::<Product>(store).iter().filter(|p| !p.meta.deleted) {
        if let Some(category) = p.category.clone().filter(|c| !c.is_empty()) {
            let count = counts.entry(category).or_default();
            count.0 += u32::from(p.active);
            count.1 += 1;
        }
    }
    let mut expected: Vec<CategorySummary> = counts
        .into_iter()
        .map(|(name, (active_products, products))| CategorySummary {
            name,
            active_products,
            products,
        })
        .collect();
    expected.sort_by_key(|c| (c.name.to_lowercase(), c.name.clone()));
    assert_eq!(
        store
            .query(&Query::ProductCategories {
                limit: 1_000,
                offset: 0
            })
            .unwrap(),
        QueryResult::Categories(expected),
        "product categories"
    );
}
