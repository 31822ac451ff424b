//! When a customer is overdue for a visit: the one rule behind the device's list
//! ([`crate::Query::OverdueCustomers`]) and the server's coverage list (`/v1/coverage/overdue`).
//!
//! A customer with a visit cadence falls due `cadence_days` after the check-in of its last done
//! visit, and is overdue once that moment has passed. A customer never visited is due from the
//! start: never-visited customers are the most overdue of all and come first, the one known
//! longest first (the server orders them by when it first stored them; a device, which keeps no
//! creation time beside its records, by id: record ids are UUID v7, which begin with their
//! creation time, so every device orders them alike); the visited ones follow by due date, the
//! longest overdue first. Ties go by name.

use crate::model::{DAY_MS, Millis};

/// When a customer last visited at `last_visit_at` falls due again; `None` for a customer never
/// visited, who is due already.
pub fn due_at(last_visit_at: Option<Millis>, cadence_days: u32) -> Option<Millis> {
    last_visit_at.map(|at| at.saturating_add(i64::from(cadence_days).saturating_mul(DAY_MS)))
}

/// Whether the customer is overdue at `now`.
pub fn is_overdue(last_visit_at: Option<Millis>, cadence_days: u32, now: Millis) -> bool {
    due_at(last_visit_at, cadence_days).is_none_or(|due| due < now)
}

/// The rule in SQL, over the columns (or expressions) of a query's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverdueSql<'a> {
    /// The check-in of the customer's last done visit, NULL when never visited.
    pub last_visit: &'a str,
    pub cadence_days: &'a str,
    /// Orders never-visited customers, the one known longest first: when the customer was first
    /// stored, or anything that grows in that order (a UUID v7 id).
    pub known_order: &'a str,
    pub name: &'a str,
}

impl OverdueSql<'_> {
    /// True for a row overdue at `now` (an SQL expression, typically a parameter).
    pub fn condition(&self, now: &str) -> String {
        let OverdueSql {
            last_visit: last,
            cadence_days: cadence,
            ..
        } = self;
        format!("({last} IS NULL OR {last} + {cadence} * {DAY_MS} < {now})")
    }

    /// The `ORDER BY` terms, most overdue first: never visited (longest known first), then by
    /// due date, then by name.
    pub fn order(&self) -> String {
        let OverdueSql {
            last_visit: last,
            cadence_days: cadence,
            known_order,
            name,
        } = self;
        format!(
            "{last} IS NOT NULL, CASE WHEN {last} IS NULL THEN {known_order} END, \
             {last} + {cadence} * {DAY_MS}, {name}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Customer, GpsStamp, Query, QueryResult, Store, Visit, VisitStatus};

    #[test]
    fn due_dates_and_never_visited_customers() {
        assert_eq!(due_at(Some(1_000), 2), Some(1_000 + 2 * DAY_MS));
        assert_eq!(due_at(None, 2), None);
        assert!(is_overdue(None, 30, 0));
        assert!(!is_overdue(Some(0), 1, DAY_MS), "due at, not yet past");
        assert!(is_overdue(Some(0), 1, DAY_MS + 1));
        assert!(
            !is_overdue(Some(i64::MAX - 1), 3660, i64::MAX),
            "no overflow"
        );
    }

    /// The SQL agrees with the functions above, and orders never-visited customers first (the
    /// one known longest first), then the visited ones by due date.
    #[test]
    fn the_sql_filters_and_orders_as_documented() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE c (name TEXT, cadence INTEGER, last INTEGER, known INTEGER)",
        )
        .unwrap();
        let now = 100 * DAY_MS;
        let rows: [(&str, u32, Option<Millis>, Millis); 6] = [
            ("visited, due 5 days ago", 7, Some(now - 12 * DAY_MS), 1),
            ("never, known second", 30, None, 20),
            ("visited, due 40 days ago", 7, Some(now - 47 * DAY_MS), 2),
            ("visited, not due", 14, Some(now - DAY_MS), 3),
            ("never, known first", 30, None, 10),
            ("a never, known second too", 30, None, 20),
        ];
        for (name, cadence, last, known) in rows {
            conn.execute(
                "INSERT INTO c VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![name, cadence, last, known],
            )
            .unwrap();
        }
        let rule = OverdueSql {
            last_visit: "last",
            cadence_days: "cadence",
            known_order: "known",
            name: "name",
        };
        let sql = format!(
            "SELECT name FROM c WHERE {} ORDER BY {}",
            rule.condition("?1"),
            rule.order()
        );
        let listed: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map([now], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            listed,
            [
                "never, known first",
                "a never, known second too",
                "never, known second",
                "visited, due 40 days ago",
                "visited, due 5 days ago",
            ]
        );
        let overdue = rows
            .iter()
            .filter(|(_, cadence, last, _)| is_overdue(*last, *cadence, now));
        assert_eq!(overdue.count(), listed.len());
    }

    /// The device's list follows the rule: never-visited customers first, in the order they were
    /// created (not by name), then the visited ones by due date.
    #[test]
    fn the_devices_overdue_list_puts_never_visited_customers_first() {
        let store = Store::open(":memory:").unwrap();
        let now = 1_790_000_000_000;
        let customer = |name: &str, cadence: u32| {
            let mut customer = Customer::new(name);
            customer.visit_cadence_days = Some(cadence);
            store.create(customer).unwrap()
        };
        let long_overdue = customer("Long overdue", 7);
        customer("Zeta, never visited", 30);
        customer("Alpha, never visited", 30);
        let mut visit = Visit::new(&long_overdue.meta.id, "anna");
        visit.status = VisitStatus::Done;
        let at = now - 60 * DAY_MS;
        visit.check_in = Some(GpsStamp {
            at,
            lat: 52.5,
            lon: 13.4,
            accuracy_m: 5.0,
            fix_at: at,
            mock: false,
        });
        store.create(visit).unwrap();
        let QueryResult::Customers(overdue) = store
            .query(&Query::OverdueCustomers {
                now,
                owner: None,
                limit: 10,
            })
            .unwrap()
        else {
            panic!("customers expected")
        };
        assert_eq!(
            overdue.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            [
                "Zeta, never visited",
                "Alpha, never visited",
                "Long overdue"
            ]
        );
    }
}
