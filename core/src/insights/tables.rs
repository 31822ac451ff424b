//! The device's snapshot tables (migration 0011): staging a page, swapping a whole run in, and
//! the reads of the current run. Each table has a `current` and a `staged` slot.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::wire::{InsightsPage, InsightsRun, WireOffer};
use crate::error::Result;

const CURRENT: &str = "current";
const STAGED: &str = "staged";

/// Separates product ids in a text column (ids never hold one: checked on arrival).
pub(super) const ID_SEPARATOR: char = '\n';

/// What the device holds: the installed run and the one being downloaded.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SnapshotState {
    pub current: Option<InsightsRun>,
    /// The staged run and the last customer received of it.
    pub staged: Option<(i64, Option<String>)>,
}

pub(crate) fn state(conn: &Connection) -> Result<SnapshotState> {
    let mut state = SnapshotState {
        current: current_run(conn)?,
        staged: None,
    };
    state.staged = conn
        .query_row(
            "SELECT run_id, received_after FROM insights_runs WHERE slot = ?1",
            [STAGED],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    Ok(state)
}

pub(crate) fn current_run(conn: &Connection) -> Result<Option<InsightsRun>> {
    Ok(conn
        .prepare_cached("SELECT run_id, as_of, currency FROM insights_runs WHERE slot = ?1")?
        .query_row([CURRENT], |row| {
            Ok(InsightsRun {
                run_id: row.get(0)?,
                as_of: row.get(1)?,
                currency: row.get(2)?,
            })
        })
        .optional()?)
}

/// Forgets a staged run, if any.
pub(crate) fn clear_staged(tx: &Transaction<'_>) -> Result<()> {
    for table in ["insights_runs", "customer_insights", "insight_rules"] {
        tx.execute(&format!("DELETE FROM {table} WHERE slot = ?1"), [STAGED])?;
    }
    Ok(())
}

/// Starts staging `run`: its row and its rules (the first page's).
pub(crate) fn start_staging(
    tx: &Transaction<'_>,
    run: &InsightsRun,
    page: &InsightsPage,
) -> Result<()> {
    clear_staged(tx)?;
    tx.execute(
        "INSERT INTO insights_runs (slot, run_id, as_of, currency) VALUES (?1, ?2, ?3, ?4)",
        params![STAGED, run.run_id, run.as_of, run.currency],
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO insight_rules (slot, position, first_product, antecedent, consequent,
           support, confidence, lift)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (position, rule) in page.rules.iter().enumerate() {
        let Some(first) = rule.antecedent.first() else {
            continue; // applies to nobody (cross_sell.rs drops it too)
        };
        insert.execute(params![
            STAGED,
            position as i64,
            first,
            join(&rule.antecedent),
            rule.consequent,
            rule.support,
            rule.confidence,
            rule.lift,
        ])?;
    }
    Ok(())
}

/// Adds a page's customers to the staged run and notes where the next page starts.
pub(crate) fn stage_customers(tx: &Transaction<'_>, page: &InsightsPage) -> Result<()> {
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO customer_insights (slot, customer_id, segment, abc_class,
           revenue_minor, recency_days, frequency, monetary_minor, clv_12m_minor,
           expected_purchases_90d, p_alive, churn_level, churn_score, next_best, bought)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    for c in &page.customers {
        // Plain strings and numbers: postcard fails only on types it cannot write.
        let next_best = postcard::to_stdvec(&c.next_best).unwrap_or_default();
        insert.execute(params![
            STAGED,
            c.customer_id,
            c.segment,
            c.abc_class,
            c.revenue_minor,
            c.recency_days,
            c.frequency,
            c.monetary_minor,
            finite(c.clv_12m_minor),
            finite(c.expected_purchases_90d),
            finite(c.p_alive),
            c.churn_level,
            finite(c.churn_score),
            next_best,
            join(&c.bought),
        ])?;
    }
    tx.execute(
        "UPDATE insights_runs SET received_after = ?2 WHERE slot = ?1",
        params![STAGED, page.next_after],
    )?;
    Ok(())
}

/// Drops a customer's results (both slots): the customer left this device's sight, and its
/// analytics go with it rather than wait for the next run.
pub(crate) fn forget_customer(tx: &Transaction<'_>, customer_id: &str) -> Result<()> {
    // Both slots named, so the primary key finds the rows (no scan per forgotten document).
    tx.prepare_cached(
        "DELETE FROM customer_insights WHERE slot IN ('current', 'staged') AND customer_id = ?1",
    )?
    .execute([customer_id])?;
    Ok(())
}

/// Replaces the current run with the staged one, whole.
pub(crate) fn install_staged(tx: &Transaction<'_>) -> Result<()> {
    for table in ["insights_runs", "customer_insights", "insight_rules"] {
        tx.execute(&format!("DELETE FROM {table} WHERE slot = ?1"), [CURRENT])?;
        tx.execute(
            &format!("UPDATE {table} SET slot = ?1 WHERE slot = ?2"),
            [CURRENT, STAGED],
        )?;
    }
    tx.execute(
        "UPDATE insights_runs SET received_after = NULL WHERE slot = ?1",
        [CURRENT],
    )?;
    Ok(())
}

/// A customer's stored results in the current run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredInsight {
    pub segment: String,
    pub abc_class: String,
    pub revenue_minor: i64,
    pub recency_days: Option<i64>,
    pub frequency: Option<i64>,
    pub monetary_minor: Option<i64>,
    pub clv_12m_minor: Option<f64>,
    pub expected_purchases_90d: Option<f64>,
    pub p_alive: Option<f64>,
    pub churn_level: Option<String>,
    pub churn_score: Option<f64>,
    pub next_best: Vec<WireOffer>,
    pub bought: Vec<String>,
}

pub(crate) fn stored_insight(
    conn: &Connection,
    customer_id: &str,
) -> Result<Option<StoredInsight>> {
    let row = conn
        .prepare_cached(
            "SELECT segment, abc_class, revenue_minor, recency_days, frequency, monetary_minor,
               clv_12m_minor, expected_purchases_90d, p_alive, churn_level, churn_score,
               next_best, bought
             FROM customer_insights WHERE slot = ?1 AND customer_id = ?2",
        )?
        .query_row([CURRENT, customer_id], |row| {
            let next_best: Vec<u8> = row.get(11)?;
            let bought: String = row.get(12)?;
            Ok((
                StoredInsight {
                    segment: row.get(0)?,
                    abc_class: row.get(1)?,
                    revenue_minor: row.get(2)?,
                    recency_days: row.get(3)?,
                    frequency: row.get(4)?,
                    monetary_minor: row.get(5)?,
                    clv_12m_minor: row.get(6)?,
                    expected_purchases_90d: row.get(7)?,
                    p_alive: row.get(8)?,
                    churn_level: row.get(9)?,
                    churn_score: row.get(10)?,
                    next_best: Vec::new(),
                    bought: split(&bought),
                },
                next_best,
            ))
        })
        .optional()?;
    Ok(row.map(|(mut insight, next_best)| {
        // Written by this code from a checked page; unreadable only if the file was damaged,
        // and then the run's list is simply not shown (the live offers still are).
        insight.next_best = postcard::from_bytes(&next_best).unwrap_or_default();
        insight
    }))
}

/// The current run's rules whose antecedent starts with one of `products`.
pub(crate) fn rules_starting_with<'a>(
    conn: &Connection,
    products: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<crate::cross_sell::CrossSellRule>> {
    let mut select = conn.prepare_cached(
        "SELECT antecedent, consequent, support, confidence, lift FROM insight_rules
         WHERE slot = ?1 AND first_product = ?2",
    )?;
    let mut rules = Vec::new();
    for product in products {
        let found = select.query_map([CURRENT, product], |row| {
            let antecedent: String = row.get(0)?;
            Ok(crate::cross_sell::CrossSellRule {
                antecedent: split(&antecedent),
                consequent: row.get(1)?,
                support: row.get(2)?,
                confidence: row.get(3)?,
                lift: row.get(4)?,
            })
        })?;
        for rule in found {
            rules.push(rule?);
        }
    }
    Ok(rules)
}

fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

fn join(ids: &[String]) -> String {
    let mut joined = String::with_capacity(ids.iter().map(|id| id.len() + 1).sum());
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            joined.push(ID_SEPARATOR);
        }
        joined.push_str(id);
    }
    joined
}

fn split(joined: &str) -> Vec<String> {
    joined
        .split(ID_SEPARATOR)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}
