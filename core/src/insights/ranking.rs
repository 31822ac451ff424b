//! `Query::CustomerInsight`: a customer's stored results from the current run, with next-best
//! offers ranked on the device ([`crate::cross_sell`]) from the synced rules and what the
//! customer bought: the run's bought list and the products of the customer's local orders
//! created or changed since the run's as-of (drafts included: what is already in the basket
//! is not offered again; cancelled and deleted orders do not count). An order taken offline a
//! minute ago changes the suggestion.

use std::collections::HashSet;

use rusqlite::Connection;

use super::tables;
use crate::cross_sell::CrossSellRules;
use crate::error::Result;
use crate::model::Millis;

/// Offers ranked when the query asks for 0.
pub const DEFAULT_OFFERS: u32 = 5;
/// Offers ranked at most.
pub const MAX_OFFERS: u32 = 50;

/// A product named by an offer, with its catalog name when the device has the product.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferProduct {
    pub product_id: String,
    pub name: Option<String>,
}

/// "Customers who buy `because` also buy `product`", with the rule's measures.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightOffer {
    pub product: OfferProduct,
    pub because: Vec<OfferProduct>,
    /// The share of customers buying `because` who also bought `product` (0 to 1).
    pub confidence: f64,
    pub lift: f64,
    pub support: f64,
}

/// A customer's analytics as the device knows them: the current run's results (read-only,
/// server-authored) and offers ranked now.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerInsight {
    pub customer_id: String,
    pub run_id: i64,
    pub as_of: Millis,
    pub currency: String,
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
    /// Ranked on the device, best first.
    pub offers: Vec<InsightOffer>,
    /// What the run itself suggested (over all of its rules, before local orders).
    pub run_offers: Vec<InsightOffer>,
    /// Products on local orders since the run's as-of that the run did not count as bought.
    pub bought_since_run: Vec<String>,
}

/// The insight of `customer_id` in the current run with at most `limit` live offers (0 means
/// [`DEFAULT_OFFERS`]); `None` when the device holds no run or the run has no such customer.
pub(crate) fn customer_insight(
    conn: &Connection,
    customer_id: &str,
    limit: u32,
) -> Result<Option<CustomerInsight>> {
    let Some(run) = tables::current_run(conn)? else {
        return Ok(None);
    };
    let Some(stored) = tables::stored_insight(conn, customer_id)? else {
        return Ok(None);
    };
    let limit = match limit {
        0 => DEFAULT_OFFERS,
        n => n.min(MAX_OFFERS),
    } as usize;
    let local = products_ordered_since(conn, customer_id, run.as_of)?;
    let mut bought: HashSet<&str> = stored.bought.iter().map(String::as_str).collect();
    let mut bought_since_run: Vec<String> = local
        .iter()
        .filter(|p| !bought.contains(p.as_str()))
        .cloned()
        .collect();
    bought_since_run.sort();
    bought.extend(local.iter().map(String::as_str));
    let rules = CrossSellRules::new(tables::rules_starting_with(conn, bought.iter().copied())?);
    let mut names = Names::new(conn)?;
    let offers = rules
        .next_best(&bought, limit)
        .into_iter()
        .map(|o| names.offer(o.product_id, o.because, o.confidence, o.lift, o.support))
        .collect::<Result<Vec<_>>>()?;
    let run_offers = stored
        .next_best
        .into_iter()
        .map(|o| names.offer(o.product_id, o.because, o.confidence, o.lift, o.support))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(CustomerInsight {
        customer_id: customer_id.to_owned(),
        run_id: run.run_id,
        as_of: run.as_of,
        currency: run.currency,
        segment: stored.segment,
        abc_class: stored.abc_class,
        revenue_minor: stored.revenue_minor,
        recency_days: stored.recency_days,
        frequency: stored.frequency,
        monetary_minor: stored.monetary_minor,
        clv_12m_minor: stored.clv_12m_minor,
        expected_purchases_90d: stored.expected_purchases_90d,
        p_alive: stored.p_alive,
        churn_level: stored.churn_level,
        churn_score: stored.churn_score,
        offers,
        run_offers,
        bought_since_run,
    }))
}

/// The products on the customer's orders created or changed at or after `since`.
fn products_ordered_since(
    conn: &Connection,
    customer_id: &str,
    since: Millis,
) -> Result<Vec<String>> {
    let mut select = conn.prepare_cached(
        "SELECT DISTINCT l.product_id FROM orders o JOIN order_lines l ON l.order_id = o.id
         WHERE o.customer_id = ?1 AND o.deleted = 0 AND o.status <> 'cancelled'
           AND o.updated_at >= ?2",
    )?;
    let products = select
        .query_map(rusqlite::params![customer_id, since], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(products)
}

/// Catalog names of products, by id.
struct Names<'c> {
    select: rusqlite::CachedStatement<'c>,
}

impl<'c> Names<'c> {
    fn new(conn: &'c Connection) -> Result<Self> {
        Ok(Names {
            select: conn.prepare_cached("SELECT name FROM products WHERE id = ?1")?,
        })
    }

    fn product(&mut self, product_id: String) -> Result<OfferProduct> {
        use rusqlite::OptionalExtension;
        let name = self
            .select
            .query_row([&product_id], |row| row.get(0))
            .optional()?;
        Ok(OfferProduct { product_id, name })
    }

    fn offer(
        &mut self,
        product_id: String,
        because: Vec<String>,
        confidence: f64,
        lift: f64,
        support: f64,
    ) -> Result<InsightOffer> {
        Ok(InsightOffer {
            product: self.product(product_id)?,
            because: because
                .into_iter()
                .map(|p| self.product(p))
                .collect::<Result<Vec<_>>>()?,
            confidence,
            lift,
            support,
        })
    }
}
