//! A tour of the core library: creates a store, writes records, queries them and prints the
//! results. Run with `cargo run -p fieldcrm-core --example demo [PATH]`.

use std::collections::BTreeSet;

use fieldcrm_core::amounts::format_amount;
use fieldcrm_core::dates::local_time;
use fieldcrm_core::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Times are printed as the CLI prints them (core's `dates::local_time`): in local time, or
    // named as UTC when the offset cannot be read. `time` reads it while there is one thread.
    let offset = time::UtcOffset::current_local_offset()
        .ok()
        .map(|offset| i32::from(offset.whole_minutes()));
    let when = |ms: Option<Millis>| ms.map_or("-".to_owned(), |ms| local_time(ms, offset));
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fieldcrm-demo.sqlite".to_owned());
    let store = Store::open(&path)?;
    store.set_user("rep-anna")?;
    println!("store: {path} (device actor {})", store.actor_id());

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let existing = store.query(&Query::Customers(CustomerFilter::default()))?;
    if matches!(&existing, QueryResult::Customers(rows) if rows.is_empty()) {
        let places = [
            (
                "Bäckerei Schmidt",
                "Berlin",
                52.5200,
                13.4050,
                "+49 30 1234567",
                Grade::A,
            ),
            (
                "Café Mitte",
                "Berlin",
                52.5237,
                13.4011,
                "+49 30 7654321",
                Grade::B,
            ),
            (
                "Kiosk am Ostkreuz",
                "Berlin",
                52.5030,
                13.4690,
                "+49 30 5550101",
                Grade::C,
            ),
            (
                "Hotel Spree",
                "Berlin",
                52.5170,
                13.3880,
                "+49 30 4440202",
                Grade::A,
            ),
        ];
        for (name, city, lat, lon, phone, grade) in places {
            let mut customer = Customer::new(name);
            customer.address.city = Some(city.to_owned());
            customer.location = Some(GeoLocation {
                lat,
                lon,
                source: LocationSource::Geocoded,
                at: now,
            });
            customer.phones = BTreeSet::from([phone.to_owned()]);
            customer.grade = Some(grade);
            customer.owner = Some("rep-anna".to_owned());
            customer.territory = Some("berlin-mitte".to_owned());
            customer.visit_cadence_days = Some(14);
            customer.segments = BTreeSet::from(["retail".to_owned()]);
            let customer = store.create(customer)?;
            let mut visit = Visit::new(&customer.meta.id, "rep-anna");
            visit.planned_start = Some(now + 3_600_000);
            store.create(visit)?;
        }
        let first = match store.query(&Query::SearchCustomers {
            text: "bäck".into(),
            limit: 1,
        })? {
            QueryResult::Customers(rows) => rows.into_iter().next(),
            _ => None,
        };
        if let Some(first) = first {
            let mut contact = Contact::new(&first.id, "Maria Schmidt");
            contact.title = Some("Owner".into());
            store.create(contact)?;
            let deal = Opportunity::new(
                &first.id,
                "Weekly bread delivery",
                Money {
                    minor: 250_000,
                    currency: "EUR".into(),
                },
            );
            let mut deal = store.create(deal)?;
            deal.stage = Stage::Proposal;
            store.update(deal)?;
        }
    }

    for (title, query) in [
        (
            "Search \"maria\" (matches a contact name)",
            Query::SearchCustomers {
                text: "maria".into(),
                limit: 10,
            },
        ),
        (
            "Nearest 3 to Alexanderplatz",
            Query::NearbyCustomers {
                lat: 52.5219,
                lon: 13.4132,
                max_distance_m: None,
                limit: 3,
            },
        ),
        (
            "Grade A customers",
            Query::Customers(CustomerFilter {
                grade: Some(Grade::A),
                ..Default::default()
            }),
        ),
        (
            "Overdue (14-day cadence, never visited)",
            Query::OverdueCustomers {
                now,
                owner: None,
                limit: 10,
            },
        ),
        (
            "Today's plan for rep-anna",
            Query::VisitsForRep {
                rep: "rep-anna".into(),
                from: now - 86_400_000,
                to: now + 86_400_000,
            },
        ),
        ("Pipeline", Query::Pipeline { owner: None }),
    ] {
        println!("\n== {title}");
        match store.query(&query)? {
            QueryResult::Customers(rows) => {
                for c in rows {
                    let distance = c
                        .distance_m
                        .map(|d| format!("  {d:.0} m"))
                        .unwrap_or_default();
                    println!(
                        "  {:<22} {:<8} grade {}{distance}",
                        c.name,
                        c.city.unwrap_or_default(),
                        c.grade.map_or("-".to_owned(), |g| g.to_string())
                    );
                }
            }
            QueryResult::Visits(rows) => {
                for v in rows {
                    println!(
                        "  {} at {}  {}",
                        v.customer_name.unwrap_or_default(),
                        when(v.planned_start),
                        v.status
                    );
                }
            }
            QueryResult::Pipeline(rows) => {
                for t in rows {
                    println!(
                        "  {:<12} {} deal(s)  {}",
                        t.stage.as_str(),
                        t.count,
                        format_amount(t.amount_minor, &t.currency)
                    );
                }
            }
            // The tour asks only the queries above.
            _ => println!("  (a result this tour does not print)"),
        }
    }
    let status = store.sync_status()?;
    println!(
        "\nsync status: {} change(s) waiting for upload, last sync {}",
        status.pending_changes,
        status
            .last_sync_at
            .map_or("never".to_owned(), |ms| local_time(ms, offset))
    );
    Ok(())
}
