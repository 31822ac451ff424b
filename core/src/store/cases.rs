//! Service cases on the device beyond a typed update: the escalation the server writes (through
//! the store of a device it runs as an admin), once per case.

use crate::error::{Result, StoreError};
use crate::model::{Case, CaseStatusChange};

use super::Store;

impl Store {
    /// Escalates the open case `id`: its escalation time and an `escalation` history entry,
    /// by this store's user, now. `None` (nothing written) when the case is resolved or was
    /// escalated already: a case escalates at most once.
    pub fn escalate_case(&self, id: &str, note: Option<String>) -> Result<Option<Case>> {
        let mut case: Case = self
            .get(id)?
            .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })?;
        if case.escalated_at.is_some() || case.is_resolved() || case.status.is_unknown() {
            return Ok(None);
        }
        let now = self.now();
        case.escalated_at = Some(now);
        case.status_history.push(CaseStatusChange {
            from: Some(case.status.clone()),
            to: case.status.clone(),
            at: now,
            by: self.user(),
            note,
            escalation: true,
        });
        self.update_with(case, false).map(Some)
    }
}
