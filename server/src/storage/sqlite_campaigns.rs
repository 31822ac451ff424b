//! Campaigns on SQLite (migration 0018): drafts and frozen targets in their own tables; the
//! facts a filter reads from the customer places, the customers' stored records (owner,
//! grade), the analytics results, the visit facts and the order line facts; the outcomes from
//! the order facts and the action documents' stored records.

use std::collections::HashSet;

use fieldcrm_core::{AnyRecord, Millis, TaskStatus, VisitStatus};
use rusqlite::{OptionalExtension, Row, named_params, params};

use super::campaigns::{
    ActionOutcome, CampaignStorage, CampaignTargetRow, CampaignTargetWrite, MAX_CAMPAIGNS_LISTED,
    MAX_TARGETS_PAGE,
};
use super::sqlite_sight::{ScopeColumns, SightSql};
use super::{Result, SqliteStorage, corrupt, stored_record};
use crate::campaigns::filter::{Candidate, SegmentFilter};
use crate::campaigns::results::TargetOutcome;
use crate::campaigns::{Campaign, CampaignAction, CampaignStatus};
use crate::scope::Principal;

const CAMPAIGN_COLUMNS: &str = "id, name, created_by, team_id, created_at, filter, starts_at,
    ends_at, cost_minor, currency, action, script, control_pct, seed, status, started_at,
    analytics_run_id";

fn campaign_row(row: &Row<'_>) -> rusqlite::Result<(Campaign, String, String, String)> {
    let seed: i64 = row.get(13)?;
    Ok((
        Campaign {
            id: row.get(0)?,
            name: row.get(1)?,
            created_by: row.get(2)?,
            team_id: row.get(3)?,
            created_at: row.get(4)?,
            filter: SegmentFilter::default(),
            starts_at: row.get(6)?,
            ends_at: row.get(7)?,
            cost_minor: row.get(8)?,
            currency: row.get(9)?,
            action: CampaignAction::Task,
            script: row.get(11)?,
            control_pct: row.get(12)?,
            seed: seed as u64,
            status: CampaignStatus::Draft,
            started_at: row.get(15)?,
            analytics_run_id: row.get(16)?,
        },
        row.get(5)?,
        row.get(10)?,
        row.get(14)?,
    ))
}

/// A campaign read back: its filter, action and status parsed (anything else is corrupt).
fn campaign_of(
    (mut campaign, filter, action, status): (Campaign, String, String, String),
) -> Result<Campaign> {
    campaign.filter = serde_json::from_str(&filter).map_err(corrupt)?;
    campaign.action = CampaignAction::parse(&action).ok_or_else(|| corrupt("campaign action"))?;
    campaign.status = CampaignStatus::parse(&status).ok_or_else(|| corrupt("campaign status"))?;
    Ok(campaign)
}

/// The customers who bought `product_id`: an order line that counts as revenue, or a line of
/// an imported order from before the CRM (credit notes aside).
fn buyers(conn: &rusqlite::Connection, product_id: Option<&str>) -> Result<HashSet<String>> {
    let Some(product_id) = product_id else {
        return Ok(HashSet::new());
    };
    let buyers = conn
        .prepare_cached(
            "SELECT o.customer_id FROM order_line_facts l
               JOIN order_facts o ON o.order_id = l.order_id
             WHERE l.product_id = ?1 AND l.revenue = 1 AND l.deleted = 0
             UNION
             SELECT h.customer_id FROM history_order_lines l
               JOIN history_orders h ON h.id = l.order_id
             WHERE l.product_id = ?1 AND h.amount_minor > 0",
        )?
        .query_map([product_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(buyers)
}

/// Whether an action document was completed: its task done, its visit done.
fn completed(record: &AnyRecord) -> bool {
    match record {
        AnyRecord::Task(t) => !t.meta.deleted && t.status == TaskStatus::Done,
        AnyRecord::Visit(v) => !v.meta.deleted && v.status == VisitStatus::Done,
        _ => false,
    }
}

impl CampaignStorage for SqliteStorage {
    fn create_campaign(&self, c: &Campaign) -> Result<()> {
        let filter = serde_json::to_string(&c.filter).map_err(corrupt)?;
        self.write().execute(
            &format!(
                "INSERT INTO campaigns ({CAMPAIGN_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
            ),
            params![
                c.id,
                c.name,
                c.created_by,
                c.team_id,
                c.created_at,
                filter,
                c.starts_at,
                c.ends_at,
                c.cost_minor,
                c.currency,
                c.action.as_str(),
                c.script,
                c.control_pct,
                c.seed as i64,
                c.status.as_str(),
                c.started_at,
                c.analytics_run_id
            ],
        )?;
        Ok(())
    }

    fn campaign(&self, id: &str) -> Result<Option<Campaign>> {
        let conn = self.read();
        let row = conn
            .prepare_cached(&format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?1"
            ))?
            .query_row([id], campaign_row)
            .optional()?;
        row.map(campaign_of).transpose()
    }

    fn campaigns(&self, team_id: Option<&str>, limit: u32) -> Result<Vec<Campaign>> {
        let conn = self.read();
        let rows = conn
            .prepare_cached(&format!(
                "SELECT {CAMPAIGN_COLUMNS} FROM campaigns
                 WHERE ?1 IS NULL OR team_id = ?1 ORDER BY created_at DESC, id LIMIT ?2"
            ))?
            .query_map(
                params![team_id, limit.min(MAX_CAMPAIGNS_LISTED)],
                campaign_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(campaign_of).collect()
    }

    fn campaign_candidates(
        &self,
        viewer: &Principal,
        filter: &SegmentFilter,
        run_id: Option<i64>,
    ) -> Result<Vec<(Candidate, Option<String>)>> {
        let conn = self.read();
        let bought = buyers(&conn, filter.bought_product.as_deref())?;
        let excluded = buyers(&conn, filter.not_bought_product.as_deref())?;
        let sight = SightSql::new(viewer.sight(), ScopeColumns::DOCUMENTS_AS_D);
        let sql = format!(
            "SELECT p.customer_id, p.territory_id, i.segment, i.abc_class, i.churn_level,
               (SELECT max(v.in_at) FROM visit_facts v
                 WHERE v.customer_id = p.customer_id AND v.status = 'done' AND v.deleted = 0),
               d.record_format, d.record, d.bytes
             FROM customer_places p
               JOIN documents d ON d.id = p.customer_id
               LEFT JOIN customer_insights i ON i.run_id = :run AND i.customer_id = p.customer_id
             WHERE p.deleted = 0 AND {}
             ORDER BY p.customer_id",
            sight.condition()
        );
        let mut statement = conn.prepare(&sql)?;
        let mut rows = statement.query(sight.params(named_params! {":run": run_id}).as_slice())?;
        let mut candidates = Vec::new();
        while let Some(row) = rows.next()? {
            let customer_id: String = row.get(0)?;
            // The owner and the grade are read from the customer's record as stored.
            let record = stored_record::read(row.get(6)?, row.get(7)?, &row.get::<_, Vec<u8>>(8)?)?;
            let AnyRecord::Customer(customer) = record else {
                return Err(corrupt(format!("{customer_id} is not a customer")));
            };
            candidates.push((
                Candidate {
                    bought_product: bought.contains(&customer_id),
                    bought_excluded_product: excluded.contains(&customer_id),
                    customer_id,
                    territory_id: row.get(1)?,
                    grade: customer.grade.map(|g| g.as_str().to_owned()),
                    segment: row.get(2)?,
                    abc_class: row.get(3)?,
                    churn_level: row.get(4)?,
                    last_visit_at: row.get(5)?,
                },
                customer.owner,
            ));
        }
        Ok(candidates)
    }

    fn freeze_campaign_targets(
        &self,
        campaign_id: &str,
        targets: &[CampaignTargetWrite],
        run_id: Option<i64>,
        now: Millis,
    ) -> Result<bool> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let started = tx.execute(
            "UPDATE campaigns SET status = 'started', started_at = ?2, analytics_run_id = ?3
             WHERE id = ?1 AND status = 'draft'",
            params![campaign_id, now, run_id],
        )?;
        if started == 0 {
            return Ok(false);
        }
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO campaign_targets (campaign_id, customer_id, owner_id, control)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for t in targets {
                insert.execute(params![campaign_id, t.customer_id, t.owner_id, t.control])?;
            }
        }
        tx.commit()?;
        Ok(true)
    }

    fn record_campaign_actions(&self, campaign_id: &str, actions: &[ActionOutcome]) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE campaign_targets SET action_doc_id = ?3, action_error = ?4
                 WHERE campaign_id = ?1 AND customer_id = ?2",
            )?;
            for (customer_id, outcome) in actions {
                let (doc, error) = match outcome {
                    Ok(doc) => (Some(doc), None),
                    Err(reason) => (None, Some(reason)),
                };
                update.execute(params![campaign_id, customer_id, doc, error])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn campaign_targets(
        &self,
        campaign: &Campaign,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CampaignTargetRow>> {
        let conn = self.read();
        let mut statement = conn.prepare_cached(
            "SELECT t.customer_id, p.name, t.owner_id, t.control, t.action_doc_id, t.action_error,
               (SELECT count(*) FROM order_facts o
                 WHERE o.customer_id = t.customer_id AND o.revenue = 1 AND o.deleted = 0
                   AND o.ordered_at >= :start AND o.ordered_at < :end),
               (SELECT coalesce(sum(o.net_minor), 0) FROM order_facts o
                 WHERE o.customer_id = t.customer_id AND o.revenue = 1 AND o.deleted = 0
                   AND o.currency = :currency AND o.ordered_at >= :start AND o.ordered_at < :end),
               d.record_format, d.record, d.bytes
             FROM campaign_targets t
               LEFT JOIN customer_places p ON p.customer_id = t.customer_id
               LEFT JOIN documents d ON d.id = t.action_doc_id
             WHERE t.campaign_id = :campaign AND t.customer_id > :after
             ORDER BY t.customer_id LIMIT :limit",
        )?;
        let mut rows = statement.query(named_params! {
            ":campaign": campaign.id,
            ":after": after.unwrap_or(""),
            ":limit": limit.min(MAX_TARGETS_PAGE),
            ":start": campaign.starts_at,
            ":end": campaign.ends_at,
            ":currency": campaign.currency,
        })?;
        let mut targets = Vec::new();
        while let Some(row) = rows.next()? {
            let format: Option<i64> = row.get(8)?;
            let reached = match format {
                Some(format) => completed(&stored_record::read(
                    format,
                    row.get(9)?,
                    &row.get::<_, Vec<u8>>(10)?,
                )?),
                None => false,
            };
            let orders: i64 = row.get(6)?;
            targets.push(CampaignTargetRow {
                customer_id: row.get(0)?,
                customer_name: row.get(1)?,
                owner_id: row.get(2)?,
                action_doc_id: row.get(4)?,
                action_error: row.get(5)?,
                outcome: TargetOutcome {
                    control: row.get(3)?,
                    reached,
                    orders: u64::try_from(orders).unwrap_or(0),
                    revenue_minor: row.get(7)?,
                },
            });
        }
        Ok(targets)
    }
}
