//! What the kinds' validation tests share.

use crate::error::ValidationError;
use crate::model::RecordMeta;

pub(super) fn meta() -> RecordMeta {
    RecordMeta {
        id: "0190a0b0-0000-7000-8000-000000000001".into(),
        created_at: 1_790_000_000_000,
        created_by: "anna".into(),
        updated_at: 1_790_000_000_000,
        deleted: false,
    }
}

/// The field an error names.
pub(super) fn field_of(err: ValidationError) -> String {
    match err {
        ValidationError::Required { field }
        | ValidationError::TooLong { field, .. }
        | ValidationError::OutOfRange { field, .. }
        | ValidationError::NotFinite { field }
        | ValidationError::UnknownValue { field, .. }
        | ValidationError::BadTimestamp { field }
        | ValidationError::Immutable { field }
        | ValidationError::Malformed { field, .. } => field,
        ValidationError::StatusRegression { .. }
        | ValidationError::UnknownStatus { .. }
        | ValidationError::OrderFrozen { .. } => "status".into(),
        ValidationError::NoPriceInCurrency { .. } => "currency".into(),
        ValidationError::SurveyBeforeResolution => "survey".into(),
        ValidationError::ContactOfAnotherCustomer { .. } => "contact_id".into(),
    }
}
