//! Opportunities as CSV: amounts in minor units with their currency, the expected close as a
//! UTC time, the customer by id and by the external id it was imported with.

use fieldcrm_core::{AnyRecord, Kind};

use super::{ExportRows, opt, time};
use crate::storage::ExportRow;

pub struct Opportunities;

impl ExportRows for Opportunities {
    const KIND: Kind = Kind::Opportunity;
    const HEADER: &'static [&'static str] = &[
        "id",
        "customer_id",
        "customer_external_id",
        "territory",
        "title",
        "stage",
        "amount_minor",
        "currency",
        "probability",
        "expected_close_at",
        "owner",
        "lost_reason",
        "created_at",
        "updated_at",
    ];

    fn cells(row: &ExportRow) -> Option<Vec<String>> {
        let AnyRecord::Opportunity(o) = &row.record else {
            return None;
        };
        Some(vec![
            o.meta.id.clone(),
            o.customer_id.clone(),
            opt(row.customer_external_id.as_deref()),
            opt(row.territory.as_deref()),
            o.title.clone(),
            o.stage.as_str().to_owned(),
            o.amount.minor.to_string(),
            o.amount.currency.clone(),
            opt(o.probability),
            opt(o.expected_close_at.map(time)),
            opt(row.owner.as_deref()),
            opt(o.lost_reason.as_deref()),
            time(o.meta.created_at),
            time(o.meta.updated_at),
        ])
    }
}
