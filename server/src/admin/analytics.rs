//! The analytics admin commands beyond a run: the order history import, the holdout report.

use std::path::Path;

use super::AdminError;
use crate::csv_import::{self, ImportLimits};
use crate::insights::holdout::{group_label, holdout_json, holdout_report};
use crate::order_history;
use crate::storage::Storage;

/// `analytics import FILE`: the order history, with a progress bar on a terminal; the report.
pub(super) fn import_history(storage: &dyn Storage, path: &Path) -> Result<String, AdminError> {
    let file_error = |source| AdminError::File {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(file_error)?;
    let len = file.metadata().map_err(file_error)?.len();
    let bar = csv_import::progress_bar(len);
    let report = order_history::import(
        storage,
        file,
        ImportLimits { max_rows: None },
        &mut |bytes, rows| csv_import::advance(&bar, bytes, rows),
    );
    bar.finish_and_clear();
    Ok(report?.to_string())
}

/// `analytics holdout`: the report, as JSON or as a table.
pub(super) fn holdout(
    storage: &dyn Storage,
    currency: &str,
    as_of: fieldcrm_core::Millis,
    days: u32,
    json: bool,
) -> Result<String, AdminError> {
    let report = holdout_report(storage, currency, as_of, days)?;
    if json {
        return Ok(holdout_json(&report, currency).to_string());
    }
    let c = &report.comparison;
    let p = &report.fit.params;
    let mut lines = vec![
        format!(
            "holdout: BG/NBD calibrated on the orders up to {} ({currency}; r {:.4}, alpha {:.4}, a {:.4}, b {:.4}), the next {days} days compared",
            crate::dates::format_date(report.calibration_end_day),
            p.r,
            p.alpha,
            p.a,
            p.b,
        ),
        format!(
            "{} customers: {:.1} purchases predicted, {} made; mean absolute error {:.3} per customer{}",
            c.customers,
            c.predicted_total,
            c.actual_total,
            c.mean_absolute_error,
            if report.prediction_failures > 0 {
                format!(" ({} without a prediction)", report.prediction_failures)
            } else {
                String::new()
            }
        ),
        "repeat purchases in calibration\tcustomers\tmean predicted\tmean actual".to_owned(),
    ];
    for g in &c.by_frequency {
        lines.push(format!(
            "{}\t{}\t{:.3}\t{:.3}",
            group_label(g.repeat_purchases),
            g.customers,
            g.mean_predicted,
            g.mean_actual
        ));
    }
    Ok(lines.join("\n"))
}
