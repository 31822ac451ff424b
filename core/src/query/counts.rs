//! How many rows a query has before its limit cuts it, so that a list can say "50 of 185
//! shown" ([`crate::Store::total`]).

use rusqlite::{Connection, params};

use super::{Query, fts_query, in_box, nearest, visits};
use crate::error::Result;
use crate::model::{Grade, check_coordinates};

/// The total of a cut query; `None` for a query this does not count: one whose result is whole
/// (contacts of a customer, the pipeline, open tasks and cases, a rep's day, an order, the
/// sync status), one that counts its own rows (`DealsByStage`, per stage), or one not counted
/// yet (overdue customers, orders of a customer, products and categories, insights, a customer's
/// timeline).
pub(crate) fn total(conn: &Connection, query: &Query) -> Result<Option<u64>> {
    let count = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Result<Option<u64>> {
        let n: i64 = conn
            .prepare_cached(sql)?
            .query_row(params, |row| row.get(0))?;
        Ok(Some(n.max(0) as u64))
    };
    match query {
        Query::Customers(filter) => count(
            "SELECT count(*) FROM customers c
             WHERE c.deleted = 0
               AND (?1 IS NULL OR c.owner = ?1) AND (?2 IS NULL OR c.territory = ?2)
               AND (?3 IS NULL OR c.grade = ?3)
               AND (?4 IS NULL OR c.rid IN (SELECT customer_rid FROM customer_segments WHERE segment = ?4))",
            params![
                filter.owner,
                filter.territory,
                filter.grade.as_ref().map(Grade::as_str),
                filter.segment
            ],
        ),
        Query::SearchCustomers { text, .. } => match fts_query(text) {
            None => Ok(Some(0)),
            Some(fts) => count(
                "SELECT count(*) FROM customers_fts m JOIN customers k ON k.rid = m.rowid
                 WHERE customers_fts MATCH ?1",
                params![fts],
            ),
        },
        Query::NearbyCustomers {
            lat,
            lon,
            max_distance_m,
            ..
        } => {
            check_coordinates("position", *lat, *lon)?;
            match max_distance_m.filter(|d| d.is_finite() && *d > 0.0) {
                // The nearby query's own rule: without a distance, every located customer.
                None => count(
                    "SELECT count(*) FROM customers_geo g JOIN customers c ON c.rid = g.rid",
                    params![],
                ),
                Some(max) => {
                    let candidates = in_box(conn, *lat, *lon, max)?;
                    Ok(Some(
                        nearest(candidates, *lat, *lon, max, usize::MAX).len() as u64,
                    ))
                }
            }
        }
        Query::Visits(filter) => visits::count(conn, filter).map(Some),
        Query::VisitsForCustomer { customer_id, .. } => count(
            "SELECT count(*) FROM visits v WHERE v.customer_id = ?1 AND v.deleted = 0",
            params![customer_id],
        ),
        Query::ContactsOfCustomer { .. }
        | Query::Pipeline { .. }
        | Query::OpenTasks { .. }
        | Query::OpenCases { .. }
        | Query::VisitsForRep { .. }
        | Query::ProductBySku { .. }
        | Query::OrdersOfVisit { .. }
        | Query::OrderWithLines { .. }
        | Query::SyncStatus
        | Query::DealsByStage { .. }
        | Query::OverdueCustomers { .. }
        | Query::OrdersOfCustomer { .. }
        | Query::SearchProducts { .. }
        | Query::ProductCategories { .. }
        | Query::ProductsInCategory { .. }
        | Query::CustomerInsight { .. }
        | Query::CustomerTimeline { .. } => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::VisitFilter;
    use crate::model::{Customer, DAY_MS, GeoLocation, LocationSource, Visit, VisitStatus};
    use crate::{Fix, Query, QueryResult, Store, now_ms};

    fn visit_ids(store: &Store, filter: &VisitFilter) -> Vec<String> {
        match store.query(&Query::Visits(filter.clone())).unwrap() {
            QueryResult::Visits(rows) => rows.into_iter().map(|v| v.id).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn visits_filter_page_and_count_alike() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.sqlite")).unwrap();
        store.set_user("rep-1").unwrap();
        let mut bakery = Customer::new("Bakery");
        bakery.location = Some(GeoLocation {
            lat: 52.52,
            lon: 13.405,
            source: LocationSource::Gps,
            at: now_ms(),
        });
        let bakery = store.create(bakery).unwrap();
        let kiosk = store.create(Customer::new("Kiosk")).unwrap();
        let today = now_ms().div_euclid(DAY_MS) * DAY_MS;
        let mut ids = Vec::new();
        for (customer, rep, day) in [
            (&bakery, "rep-1", Some(today + 1_000)),
            (&kiosk, "rep-1", Some(today + 2_000)),
            (&bakery, "rep-1", Some(today - DAY_MS)),
            (&bakery, "rep-2", Some(today + 3_000)),
            (&kiosk, "rep-1", None),
        ] {
            let mut visit = Visit::new(&customer.meta.id, rep);
            visit.planned_start = day;
            ids.push(store.create(visit).unwrap().meta.id);
        }
        let fix = Fix {
            at: now_ms() - 1_000,
            lat: 52.52,
            lon: 13.405,
            accuracy_m: 5.0,
            mock: false,
        };
        // Checked in now: its day becomes the check-in's.
        store.check_in(&ids[0], fix).unwrap();

        let mine_today = VisitFilter {
            rep: Some("rep-1".into()),
            from: Some(today),
            to: Some(today + DAY_MS),
            ..Default::default()
        };
        let found = visit_ids(&store, &mine_today);
        assert_eq!(found.len(), 2);
        assert!(found.contains(&ids[0]) && found.contains(&ids[1]));
        let total = |filter: &VisitFilter| store.total(&Query::Visits(filter.clone())).unwrap();
        assert_eq!(total(&mine_today), Some(2));

        let first_page = VisitFilter {
            limit: 1,
            ..mine_today.clone()
        };
        let second_page = VisitFilter {
            offset: 1,
            ..first_page.clone()
        };
        let pages = [
            visit_ids(&store, &first_page),
            visit_ids(&store, &second_page),
        ];
        assert_eq!(pages.concat(), found, "pages follow the same order");
        assert_eq!(total(&first_page), Some(2), "the total ignores the page");

        let in_progress = VisitFilter {
            status: Some(VisitStatus::InProgress),
            ..Default::default()
        };
        assert_eq!(visit_ids(&store, &in_progress), vec![ids[0].clone()]);
        let at_kiosk = VisitFilter {
            customer_id: Some(kiosk.meta.id.clone()),
            ..Default::default()
        };
        // Any day; a visit without a day comes last.
        assert_eq!(
            visit_ids(&store, &at_kiosk),
            vec![ids[1].clone(), ids[4].clone()]
        );
        assert_eq!(total(&at_kiosk), Some(2));
        assert_eq!(total(&VisitFilter::default()), Some(5));
    }

    #[test]
    fn customer_lists_count_what_their_limit_cuts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("d.sqlite")).unwrap();
        for i in 0..7 {
            let mut customer = Customer::new(format!("Bakery {i}"));
            customer.territory = Some(if i < 5 { "north" } else { "south" }.into());
            customer.location = (i < 4).then(|| GeoLocation {
                lat: 52.52 + f64::from(i) * 0.01,
                lon: 13.405,
                source: LocationSource::Gps,
                at: now_ms(),
            });
            store.create(customer).unwrap();
        }
        store.create(Customer::new("Kiosk")).unwrap();
        let total = |query: Query| store.total(&query).unwrap();
        assert_eq!(
            total(Query::Customers(crate::CustomerFilter {
                territory: Some("north".into()),
                limit: 2,
                ..Default::default()
            })),
            Some(5)
        );
        assert_eq!(
            total(Query::SearchCustomers {
                text: "bake".into(),
                limit: 1
            }),
            Some(7)
        );
        assert_eq!(
            total(Query::SearchCustomers {
                text: " ".into(),
                limit: 1
            }),
            Some(0)
        );
        let nearby = |max_distance_m| Query::NearbyCustomers {
            lat: 52.52,
            lon: 13.405,
            max_distance_m,
            limit: 1,
        };
        assert_eq!(total(nearby(None)), Some(4));
        // 0, ~1.1 and ~2.2 km away; the fourth is ~3.3 km.
        assert_eq!(total(nearby(Some(2_500.0))), Some(3));
        assert_eq!(total(Query::Pipeline { owner: None }), None);
    }
}
