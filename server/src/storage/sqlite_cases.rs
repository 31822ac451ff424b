//! Service cases on SQLite (migration 0019): the SLA in its own table; the cases from the
//! `documents` table's stored records, filtered by the viewer's sight.

use fieldcrm_core::{AnyRecord, Case, CaseSla, Millis, Severity};
use rusqlite::{named_params, params};

use super::cases::{CaseStorage, MAX_CASES_PAGE};
use super::sqlite_sight::{ScopeColumns, SightSql};
use super::{Result, SqliteStorage, corrupt, stored_record};
use crate::scope::Principal;

/// The hours of `severity` in `sla`, for a severity this code knows.
fn hours_of<'a>(sla: &'a mut CaseSla, severity: &Severity) -> Option<&'a mut u32> {
    match severity {
        Severity::Critical => Some(&mut sla.critical_hours),
        Severity::High => Some(&mut sla.high_hours),
        Severity::Medium => Some(&mut sla.medium_hours),
        Severity::Low => Some(&mut sla.low_hours),
        Severity::Unknown(_) => None,
    }
}

impl CaseStorage for SqliteStorage {
    fn case_sla(&self) -> Result<CaseSla> {
        let conn = self.read();
        let mut statement = conn.prepare_cached("SELECT severity, hours FROM case_sla")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        let mut sla = CaseSla::default();
        for row in rows {
            let (severity, hours) = row?;
            let slot = hours_of(&mut sla, &Severity::parse(&severity))
                .ok_or_else(|| corrupt(format!("case SLA severity {severity:?}")))?;
            *slot = u32::try_from(hours).map_err(|_| corrupt("case SLA hours"))?;
        }
        Ok(sla)
    }

    fn set_case_sla(&self, severity: &Severity, hours: u32, now: Millis) -> Result<()> {
        if severity.is_unknown() {
            return Err(corrupt(format!("unknown severity {severity}")));
        }
        self.write().execute(
            "INSERT INTO case_sla (severity, hours, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (severity) DO UPDATE SET hours = excluded.hours,
               updated_at = excluded.updated_at",
            params![severity.as_str(), hours, now],
        )?;
        Ok(())
    }

    fn cases_in_sight(
        &self,
        viewer: &Principal,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Case>> {
        let conn = self.read();
        let sight = SightSql::new(viewer.sight(), ScopeColumns::DOCUMENTS);
        let sql = format!(
            "SELECT id, record_format, record, bytes FROM documents
             WHERE kind = 'case' AND id > :after AND {}
             ORDER BY id LIMIT :limit",
            sight.condition()
        );
        let mut statement = conn.prepare(&sql)?;
        let limit = limit.min(MAX_CASES_PAGE);
        let after = after.unwrap_or("");
        let mut rows = statement.query(
            sight
                .params(named_params! {":after": after, ":limit": limit})
                .as_slice(),
        )?;
        let mut cases = Vec::new();
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let record = stored_record::read(row.get(1)?, row.get(2)?, &row.get::<_, Vec<u8>>(3)?)?;
            let AnyRecord::Case(case) = record else {
                return Err(corrupt(format!("{id} is not a case")));
            };
            cases.push(case);
        }
        Ok(cases)
    }
}
