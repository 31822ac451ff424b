//! Customer analytics on SQLite (migration 0016): the run's input read from the sales facts
//! and the imported order history (`sqlite_history.rs`), its results written under its id and
//! made current in one transaction, and the reads of the current results through the viewer's
//! sight (over the customer's document).

use fieldcrm_core::Millis;
use fieldcrm_core::cross_sell::CrossSellRule;
use rusqlite::{OptionalExtension, Row, named_params, params};
use serde_json::json;

use super::analytics::{
    AnalyticsStorage, InsightRow, InsightValues, InsightsSummary, KEPT_RUNS, MAX_INSIGHTS_PAGE,
    RunRecord,
};
use super::sqlite_sight::{ScopeColumns, SightSql};
use super::{Result, SqliteStorage, corrupt, stored_record};
use crate::analytics::clusters::Cluster;
use crate::analytics::input::{LineRow, OrderRow};
use crate::analytics::run::{RunInput, RunOutput};
use crate::scope::Principal;

const RUN_COLUMNS: &str = "id, started_at, finished_at, as_of, currency, status, error, report";

fn run_row(row: &Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: row.get(0)?,
        started_at: row.get(1)?,
        finished_at: row.get(2)?,
        as_of: row.get(3)?,
        currency: row.get(4)?,
        status: row.get(5)?,
        error: row.get(6)?,
        report: row.get(7)?,
    })
}

/// Only finite numbers are stored: anything else is stored as unknown (NULL).
fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

/// A score column (1 to 5) as read back.
fn score(value: Option<i64>) -> Option<u8> {
    value.and_then(|v| u8::try_from(v).ok())
}

impl AnalyticsStorage for SqliteStorage {
    fn analytics_input(&self) -> Result<RunInput> {
        let conn = self.read();
        let customers = conn
            .prepare(
                "SELECT customer_id FROM customer_places WHERE deleted = 0 ORDER BY customer_id",
            )?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        let mut orders = conn
            .prepare(
                "SELECT order_id, customer_id, ordered_at, currency, net_minor FROM order_facts
                 WHERE revenue = 1 AND deleted = 0",
            )?
            .query_map([], |row| {
                Ok(OrderRow {
                    order_id: row.get(0)?,
                    customer_id: row.get(1)?,
                    ordered_at: row.get(2)?,
                    currency: row.get(3)?,
                    net_minor: row.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut lines = conn
            .prepare(
                "SELECT l.order_id, o.customer_id, l.product_id, l.quantity, l.net_minor
                 FROM order_line_facts l JOIN order_facts o ON o.order_id = l.order_id
                 WHERE l.revenue = 1 AND l.deleted = 0",
            )?
            .query_map([], |row| {
                Ok(LineRow {
                    order_id: row.get(0)?,
                    customer_id: row.get(1)?,
                    product_id: row.get(2)?,
                    quantity: row.get(3)?,
                    net_minor: row.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // The orders from before the CRM count like the CRM's own (migration 0017).
        super::sqlite_history::history_input(&conn, &mut orders, &mut lines)?;
        Ok(RunInput {
            customers,
            orders,
            lines,
        })
    }

    fn start_analytics_run(&self, as_of: Millis, currency: &str, now: Millis) -> Result<i64> {
        let conn = self.write();
        conn.execute(
            "INSERT INTO analytics_runs (started_at, as_of, currency, status)
             VALUES (?1, ?2, ?3, 'running')",
            params![now, as_of, currency],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn store_analytics_run(
        &self,
        run_id: i64,
        output: &RunOutput,
        report: &str,
        now: Millis,
    ) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        {
            let mut insight = tx.prepare(
                "INSERT INTO customer_insights (run_id, customer_id, recency_days, frequency,
                   monetary_minor, r, f, m, segment, abc_class, revenue_minor, cluster,
                   expected_purchases_90d, p_alive, clv_12m_minor, churn_level, churn_score,
                   next_best, bought)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                   ?17, ?18, ?19)",
            )?;
            for c in &output.customers {
                let offers: Vec<serde_json::Value> = c
                    .next_best
                    .iter()
                    .map(|o| {
                        json!({
                            "product_id": o.product_id,
                            "because": o.because,
                            "confidence": o.confidence,
                            "lift": o.lift,
                            "support": o.support,
                        })
                    })
                    .collect();
                insight.execute(params![
                    run_id,
                    c.customer_id,
                    c.rfm.map(|v| v.recency_days),
                    c.rfm
                        .map(|v| i64::try_from(v.frequency).unwrap_or(i64::MAX)),
                    c.rfm.map(|v| v.monetary_minor),
                    c.rfm.map(|v| v.r),
                    c.rfm.map(|v| v.f),
                    c.rfm.map(|v| v.m),
                    c.segment.as_str(),
                    c.abc.as_str(),
                    c.revenue_minor,
                    c.cluster,
                    finite(c.expected_purchases_90d),
                    finite(c.p_alive),
                    finite(c.clv_12m_minor),
                    c.churn.map(|(level, _)| level.as_str()),
                    finite(c.churn.map(|(_, score)| score)),
                    serde_json::Value::from(offers).to_string(),
                    serde_json::Value::from(c.bought.clone()).to_string(),
                ])?;
            }
            let mut rule = tx.prepare(
                "INSERT INTO cross_sell_rules (run_id, position, antecedent, consequent, support,
                   confidence, lift)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            // Mining keeps only finite measures; checked again before anything is stored.
            let rules = output.rules.iter().filter(|r| {
                r.support.is_finite() && r.confidence.is_finite() && r.lift.is_finite()
            });
            for (position, r) in rules.enumerate() {
                rule.execute(params![
                    run_id,
                    position as i64,
                    serde_json::Value::from(r.antecedent.clone()).to_string(),
                    r.consequent,
                    r.support,
                    r.confidence,
                    r.lift,
                ])?;
            }
            let mut cluster = tx.prepare(
                "INSERT INTO analytics_clusters (run_id, cluster, customers, median_recency_days,
                   median_frequency, median_monetary_minor, description)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for (index, c) in output.clusters.iter().enumerate() {
                cluster.execute(params![
                    run_id,
                    index as i64,
                    i64::try_from(c.customers).unwrap_or(i64::MAX),
                    c.median_recency_days,
                    i64::try_from(c.median_frequency).unwrap_or(i64::MAX),
                    c.median_monetary_minor,
                    c.description,
                ])?;
            }
        }
        tx.execute(
            "UPDATE analytics_runs SET status = 'succeeded', finished_at = ?2, report = ?3
             WHERE id = ?1",
            params![run_id, now, report],
        )?;
        // The oldest succeeded run still kept; results of runs before it go.
        let keep_from: Option<i64> = tx
            .query_row(
                "SELECT id FROM analytics_runs WHERE status = 'succeeded'
                 ORDER BY id DESC LIMIT 1 OFFSET ?1",
                [KEPT_RUNS - 1],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(keep_from) = keep_from {
            for table in [
                "customer_insights",
                "cross_sell_rules",
                "analytics_clusters",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE run_id < ?1"),
                    [keep_from],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn fail_analytics_run(&self, run_id: i64, error: &str, now: Millis) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE analytics_runs SET status = 'failed', finished_at = ?2, error = ?3
             WHERE id = ?1",
            params![run_id, now, error],
        )?;
        for table in [
            "customer_insights",
            "cross_sell_rules",
            "analytics_clusters",
        ] {
            tx.execute(&format!("DELETE FROM {table} WHERE run_id = ?1"), [run_id])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn analytics_runs(&self, limit: u32) -> Result<Vec<RunRecord>> {
        let conn = self.read();
        let runs = conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM analytics_runs ORDER BY id DESC LIMIT ?1"
            ))?
            .query_map([limit.min(1_000)], run_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(runs)
    }

    fn current_analytics_run(&self) -> Result<Option<RunRecord>> {
        let conn = self.read();
        Ok(conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM analytics_runs WHERE status = 'succeeded'
                 ORDER BY id DESC LIMIT 1"
            ))?
            .query_row([], run_row)
            .optional()?)
    }

    fn customer_insights(
        &self,
        viewer: &Principal,
        run_id: i64,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<InsightRow>> {
        let conn = self.read();
        let sight = SightSql::new(viewer.sight(), ScopeColumns::DOCUMENTS_AS_D);
        let sql = format!(
            "SELECT i.customer_id, p.name, i.recency_days, i.frequency, i.monetary_minor, i.r, i.f,
               i.m, i.segment, i.abc_class, i.revenue_minor, i.cluster, i.next_best, i.bought,
               i.expected_purchases_90d, i.p_alive, i.clv_12m_minor, i.churn_level, i.churn_score
             FROM customer_insights i
               JOIN documents d ON d.id = i.customer_id
               LEFT JOIN customer_places p ON p.customer_id = i.customer_id
             WHERE i.run_id = :run AND i.customer_id > :after AND {}
             ORDER BY i.customer_id LIMIT :limit",
            sight.condition()
        );
        let rows = conn
            .prepare_cached(&sql)?
            .query_map(
                sight
                    .params(named_params! {
                        ":run": run_id,
                        ":after": after.unwrap_or(""),
                        ":limit": limit.min(MAX_INSIGHTS_PAGE),
                    })
                    .as_slice(),
                |row| {
                    Ok(InsightRow {
                        customer_id: row.get(0)?,
                        customer_name: row.get(1)?,
                        recency_days: row.get(2)?,
                        frequency: row.get(3)?,
                        monetary_minor: row.get(4)?,
                        r: score(row.get(5)?),
                        f: score(row.get(6)?),
                        m: score(row.get(7)?),
                        segment: row.get(8)?,
                        abc_class: row.get(9)?,
                        revenue_minor: row.get(10)?,
                        cluster: row
                            .get::<_, Option<i64>>(11)?
                            .and_then(|c| u16::try_from(c).ok()),
                        next_best: row.get(12)?,
                        bought: row.get(13)?,
                        expected_purchases_90d: row.get(14)?,
                        p_alive: row.get(15)?,
                        clv_12m_minor: row.get(16)?,
                        churn_level: row.get(17)?,
                        churn_score: row.get(18)?,
                    })
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn insights_summary(&self, viewer: &Principal, run_id: i64) -> Result<InsightsSummary> {
        let conn = self.read();
        let sight = SightSql::new(viewer.sight(), ScopeColumns::DOCUMENTS_AS_D);
        let sql = format!(
            "SELECT i.r, i.f, i.segment, i.abc_class, count(*), total(i.revenue_minor)
             FROM customer_insights i JOIN documents d ON d.id = i.customer_id
             WHERE i.run_id = :run AND {}
             GROUP BY i.r, i.f, i.segment, i.abc_class",
            sight.condition()
        );
        type Group = (Option<i64>, Option<i64>, String, String, i64, f64);
        let groups: Vec<Group> = conn
            .prepare_cached(&sql)?
            .query_map(
                sight.params(named_params! {":run": run_id}).as_slice(),
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                    ))
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        let mut summary = InsightsSummary::default();
        let mut segments: std::collections::BTreeMap<String, u64> = Default::default();
        let mut abc: std::collections::BTreeMap<String, (u64, f64)> = Default::default();
        for (r, f, segment, class, count, revenue) in groups {
            let count = u64::try_from(count).unwrap_or(0);
            summary.customers += count;
            if let (Some(r), Some(f)) = (score(r), score(f))
                && (1..=5).contains(&r)
                && (1..=5).contains(&f)
            {
                summary.rfm_grid[usize::from(r - 1)][usize::from(f - 1)] += count;
            }
            *segments.entry(segment).or_default() += count;
            let slot = abc.entry(class).or_default();
            slot.0 += count;
            slot.1 += revenue;
        }
        summary.segments = segments.into_iter().collect();
        summary.abc = abc.into_iter().map(|(c, (n, r))| (c, n, r)).collect();
        Ok(summary)
    }

    fn cross_sell_rules(&self, run_id: i64, limit: u32) -> Result<Vec<CrossSellRule>> {
        let conn = self.read();
        let rows: Vec<(String, String, f64, f64, f64)> = conn
            .prepare_cached(
                "SELECT antecedent, consequent, support, confidence, lift FROM cross_sell_rules
                 WHERE run_id = ?1 ORDER BY position LIMIT ?2",
            )?
            .query_map(params![run_id, limit.min(100_000)], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        rows.into_iter()
            .map(|(antecedent, consequent, support, confidence, lift)| {
                let antecedent: Vec<String> = serde_json::from_str(&antecedent).map_err(corrupt)?;
                Ok(CrossSellRule {
                    antecedent,
                    consequent,
                    support,
                    confidence,
                    lift,
                })
            })
            .collect()
    }

    fn analytics_clusters(&self, run_id: i64) -> Result<Vec<Cluster>> {
        let conn = self.read();
        let rows = conn
            .prepare_cached(
                "SELECT customers, median_recency_days, median_frequency, median_monetary_minor,
                   description
                 FROM analytics_clusters WHERE run_id = ?1 ORDER BY cluster",
            )?
            .query_map([run_id], |row| {
                Ok(Cluster {
                    customers: u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0),
                    median_recency_days: row.get(1)?,
                    median_frequency: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
                    median_monetary_minor: row.get(3)?,
                    description: row.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn insight_values(&self, viewer: &Principal, run_id: i64) -> Result<Vec<InsightValues>> {
        let conn = self.read();
        let sight = SightSql::new(viewer.sight(), ScopeColumns::DOCUMENTS_AS_D);
        let sql = format!(
            "SELECT i.customer_id, p.name, i.revenue_minor, i.abc_class, i.clv_12m_minor,
               i.churn_level, i.churn_score
             FROM customer_insights i
               JOIN documents d ON d.id = i.customer_id
               LEFT JOIN customer_places p ON p.customer_id = i.customer_id
             WHERE i.run_id = :run AND {}
             ORDER BY i.customer_id",
            sight.condition()
        );
        let rows = conn
            .prepare_cached(&sql)?
            .query_map(
                sight.params(named_params! {":run": run_id}).as_slice(),
                |row| {
                    Ok(InsightValues {
                        customer_id: row.get(0)?,
                        customer_name: row.get(1)?,
                        revenue_minor: row.get(2)?,
                        abc_class: row.get(3)?,
                        clv_12m_minor: finite(row.get(4)?),
                        churn_level: row.get(5)?,
                        churn_score: finite(row.get(6)?),
                    })
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    fn customer_owners(&self, customer_ids: &[String]) -> Result<Vec<(String, String)>> {
        let conn = self.read();
        let mut statement = conn.prepare_cached(
            "SELECT record_format, record, bytes FROM documents
             WHERE id = ?1 AND kind = 'customer'",
        )?;
        let mut owners = Vec::new();
        for id in customer_ids {
            let stored = statement
                .query_row([id], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Vec<u8>>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                    ))
                })
                .optional()?;
            let Some((format, record, bytes)) = stored else {
                continue;
            };
            if let fieldcrm_core::AnyRecord::Customer(customer) =
                stored_record::read(format, record, &bytes)?
                && let Some(owner) = customer.owner
            {
                owners.push((id.clone(), owner));
            }
        }
        Ok(owners)
    }
}
