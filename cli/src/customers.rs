//! `fieldcrm customer`, `search` and `nearby`: customers in the local store.

use crate::output::out;
use std::path::Path;

use clap::{Args, Subcommand};
use fieldcrm_core::{
    Customer, CustomerFilter, CustomerSummary, GeoLocation, Grade, LocationSource, Query,
    QueryResult, Store, check_coordinates, now_ms,
};

use crate::error::{CliError, validation_as_usage};
use crate::paging::Page;
use crate::session::Session;

#[derive(Debug, Subcommand)]
pub enum CustomerCommand {
    /// Create a customer.
    Add {
        /// The customer's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        fields: CustomerFields,
    },
    /// Change a customer's fields (only those given).
    Edit {
        /// The customer's id.
        id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: CustomerFields,
        /// Remove a phone number (repeatable).
        #[arg(long = "phone-remove")]
        phone_remove: Vec<String>,
    },
    /// List customers by name.
    List {
        #[command(flatten)]
        page: Page,
        /// Only the customers of this territory.
        #[arg(long)]
        territory: Option<String>,
    },
    /// Show one customer in full.
    Show {
        /// The customer's id.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct CustomerFields {
    /// The city of the customer's address.
    #[arg(long)]
    city: Option<String>,
    /// Add a phone number (repeatable).
    #[arg(long = "phone", visible_alias = "phone-add")]
    phones: Vec<String>,
    /// Territory name, as the server knows it (required for the server to accept a new
    /// customer from a rep).
    #[arg(long)]
    territory: Option<String>,
    /// Latitude of the customer's location, in degrees (with --lon).
    #[arg(long, requires = "lon", allow_negative_numbers = true)]
    lat: Option<f64>,
    /// Longitude of the customer's location, in degrees (with --lat).
    #[arg(long, requires = "lat", allow_negative_numbers = true)]
    lon: Option<f64>,
    /// A, B or C.
    #[arg(long, value_parser = parse_grade)]
    grade: Option<Grade>,
    /// Add a segment (repeatable).
    #[arg(long = "segment")]
    segments: Vec<String>,
}

fn parse_grade(text: &str) -> Result<Grade, String> {
    Grade::parse_known(&text.to_ascii_uppercase()).ok_or_else(|| "expected A, B or C".to_owned())
}

/// A grade as shown: one a newer app wrote and this one does not know is shown as unknown.
fn grade_label(grade: &Grade) -> String {
    match grade {
        Grade::Unknown(value) => format!("unknown ({value})"),
        known => known.to_string(),
    }
}

/// Runs a `customer` subcommand.
pub fn run(store: &Store, session_path: &Path, command: CustomerCommand) -> Result<(), CliError> {
    match command {
        CustomerCommand::Add { name, fields } => {
            let mut customer = Customer::new(name);
            apply_fields(&mut customer, fields);
            if Session::load(session_path)?.is_some() {
                customer.owner = Some(store.user());
            }
            let customer = store.create(customer).map_err(validation_as_usage)?;
            out!("customer {} created: {}", customer.meta.id, customer.name);
            Ok(())
        }
        CustomerCommand::Edit {
            id,
            name,
            fields,
            phone_remove,
        } => {
            let mut customer: Customer = store
                .get(&id)
                .map_err(validation_as_usage)?
                .ok_or_else(|| CliError::NotFound(id.clone()))?;
            if let Some(name) = name {
                customer.name = name;
            }
            apply_fields(&mut customer, fields);
            for phone in &phone_remove {
                customer.phones.remove(phone);
            }
            let customer = store.update(customer).map_err(validation_as_usage)?;
            out!("customer {} saved: {}", customer.meta.id, customer.name);
            Ok(())
        }
        CustomerCommand::List { page, territory } => {
            let query = Query::Customers(CustomerFilter {
                territory,
                limit: page.limit,
                offset: page.offset,
                ..Default::default()
            });
            let rows = customers(store, &query)?;
            print_customers(&rows);
            page.print_note(store, &query, rows.len())
        }
        CustomerCommand::Show { id } => {
            let customer: Customer = store
                .get(&id)
                .map_err(validation_as_usage)?
                .ok_or_else(|| CliError::NotFound(id.clone()))?;
            print_customer(&customer);
            Ok(())
        }
    }
}

/// `fieldcrm search`: full-text search over customers.
pub fn search(store: &Store, text: String, page: Page) -> Result<(), CliError> {
    let query = Query::SearchCustomers {
        text,
        limit: page.reach().map_err(CliError::Usage)?,
    };
    let rows = page.cut(customers(store, &query)?);
    print_customers(&rows);
    page.print_note(store, &query, rows.len())
}

/// `fieldcrm nearby`: the customers nearest to a point.
pub fn nearby(
    store: &Store,
    lat: f64,
    lon: f64,
    page: Page,
    within: Option<f64>,
) -> Result<(), CliError> {
    check_coordinates("position", lat, lon).map_err(|e| CliError::Usage(e.to_string()))?;
    let query = Query::NearbyCustomers {
        lat,
        lon,
        max_distance_m: within,
        limit: page.reach().map_err(CliError::Usage)?,
    };
    let rows = page.cut(customers(store, &query)?);
    print_customers(&rows);
    page.print_note(store, &query, rows.len())
}

fn apply_fields(customer: &mut Customer, fields: CustomerFields) {
    if let Some(city) = fields.city {
        customer.address.city = Some(city);
    }
    customer.phones.extend(fields.phones);
    customer.segments.extend(fields.segments);
    if let Some(territory) = fields.territory {
        customer.territory = Some(territory);
    }
    if let (Some(lat), Some(lon)) = (fields.lat, fields.lon) {
        customer.location = Some(GeoLocation {
            lat,
            lon,
            source: LocationSource::Manual,
            at: now_ms(),
        });
    }
    if let Some(grade) = fields.grade {
        customer.grade = Some(grade);
    }
}

fn customers(store: &Store, query: &Query) -> Result<Vec<CustomerSummary>, CliError> {
    match store.query(query)? {
        QueryResult::Customers(rows) => Ok(rows),
        _ => Ok(Vec::new()),
    }
}

fn print_customers(rows: &[CustomerSummary]) {
    if rows.is_empty() {
        out!("no customers");
        return;
    }
    for row in rows {
        let distance = row
            .distance_m
            .map(|d| format!("{d:>7.0} m  "))
            .unwrap_or_default();
        out!(
            "{}  {distance}{:<40} {:<12} {:<2} {}",
            row.id,
            row.name,
            row.city.as_deref().unwrap_or("-"),
            row.grade.as_ref().map_or("-".into(), grade_label),
            row.territory.as_deref().unwrap_or("-"),
        );
    }
}

fn print_customer(c: &Customer) {
    out!("{}  {}", c.meta.id, c.name);
    let line = |label: &str, value: String| out!("  {label:<10} {value}");
    let join = |set: &std::collections::BTreeSet<String>| {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    };
    line("grade", c.grade.as_ref().map_or("-".into(), grade_label));
    line("territory", c.territory.clone().unwrap_or_default());
    line(
        "address",
        [&c.address.line, &c.address.postal_code, &c.address.city]
            .into_iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(" "),
    );
    if let Some(l) = &c.location {
        line(
            "location",
            format!("{:.5}, {:.5} ({})", l.lat, l.lon, l.source),
        );
    }
    for (label, set) in [
        ("phones", &c.phones),
        ("emails", &c.emails),
        ("segments", &c.segments),
    ] {
        if !set.is_empty() {
            line(label, join(set));
        }
    }
    if let Some(days) = c.visit_cadence_days {
        line("cadence", format!("every {days} days"));
    }
    if !c.notes.is_empty() {
        line("notes", c.notes.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_parse_in_either_case() {
        assert_eq!(parse_grade("a"), Ok(Grade::A));
        assert!(
            parse_grade("d").is_err(),
            "input takes only the grades this app knows"
        );
        assert_eq!(grade_label(&Grade::parse("D")), "unknown (D)");
        assert!(parse_grade("Z").is_err());
    }
}
