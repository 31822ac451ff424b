//! Service cases in storage (migration 0019): the organisation's SLA per severity, and the case
//! records in a viewer's sight, read from the documents' stored records: the [`CaseStorage`]
//! supertrait of [`super::Storage`].

use fieldcrm_core::{Case, CaseSla, Millis, Severity};

use super::Result;
use crate::scope::Principal;

/// Cases one read returns at most.
pub const MAX_CASES_PAGE: u32 = 1_000;

pub trait CaseStorage {
    /// The organisation's SLA: the defaults, with the hours an admin set.
    fn case_sla(&self) -> Result<CaseSla>;
    /// Sets the hours of one (known) severity.
    fn set_case_sla(&self, severity: &Severity, hours: u32, now: Millis) -> Result<()>;
    /// The cases in `viewer`'s sight, by id after `after`, at most `limit` (held at
    /// [`MAX_CASES_PAGE`]). Deleted ones are included (`meta.deleted`), so that the last one
    /// pages on; callers leave them out.
    fn cases_in_sight(
        &self,
        viewer: &Principal,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Case>>;
}
