//! The uniffi mirrors of a customer's analytics on the device (core's `insights`): the
//! read-only results of the server's last run and the offers ranked on the device.

use fieldcrm_core as fc;

/// A product an offer names, with its catalog name when this device has the product.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct OfferProduct {
    pub product_id: String,
    pub name: Option<String>,
}

impl From<fc::OfferProduct> for OfferProduct {
    fn from(p: fc::OfferProduct) -> Self {
        OfferProduct {
            product_id: p.product_id,
            name: p.name,
        }
    }
}

/// "Customers who buy `because` also buy `product`": `confidence` (0 to 1) is the share of
/// customers buying `because` who also bought `product`; `lift` how much likelier that makes
/// it than in general.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InsightOffer {
    pub product: OfferProduct,
    pub because: Vec<OfferProduct>,
    pub confidence: f64,
    pub lift: f64,
    pub support: f64,
}

impl From<fc::InsightOffer> for InsightOffer {
    fn from(o: fc::InsightOffer) -> Self {
        InsightOffer {
            product: o.product.into(),
            because: o.because.into_iter().map(Into::into).collect(),
            confidence: o.confidence,
            lift: o.lift,
            support: o.support,
        }
    }
}

/// A customer's analytics from the server's last run (read-only: recomputed by the server,
/// never edited on a device) and `offers` ranked on the device now, orders taken since the
/// run included. Amounts are minor units of `currency`.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CustomerInsight {
    pub customer_id: String,
    pub run_id: i64,
    /// The run used orders up to this time (ms since 1970).
    pub as_of: i64,
    pub currency: String,
    /// The RFM segment (`champions`, `loyal`, `at_risk`, ...).
    pub segment: String,
    /// `A`, `B` or `C` (the Pareto class by revenue).
    pub abc_class: String,
    pub revenue_minor: i64,
    pub recency_days: Option<i64>,
    pub frequency: Option<i64>,
    pub monetary_minor: Option<i64>,
    /// Expected value of the next 12 months.
    pub clv_12m_minor: Option<f64>,
    pub expected_purchases_90d: Option<f64>,
    /// The chance the customer still buys (0 to 1).
    pub p_alive: Option<f64>,
    /// `low`, `medium` or `high`.
    pub churn_level: Option<String>,
    pub churn_score: Option<f64>,
    /// Best first.
    pub offers: Vec<InsightOffer>,
    /// What the run itself suggested, before orders taken since.
    pub run_offers: Vec<InsightOffer>,
    /// Products on orders taken since the run that it did not count as bought.
    pub bought_since_run: Vec<String>,
}

impl From<fc::CustomerInsight> for CustomerInsight {
    fn from(i: fc::CustomerInsight) -> Self {
        CustomerInsight {
            customer_id: i.customer_id,
            run_id: i.run_id,
            as_of: i.as_of,
            currency: i.currency,
            segment: i.segment,
            abc_class: i.abc_class,
            revenue_minor: i.revenue_minor,
            recency_days: i.recency_days,
            frequency: i.frequency,
            monetary_minor: i.monetary_minor,
            clv_12m_minor: i.clv_12m_minor,
            expected_purchases_90d: i.expected_purchases_90d,
            p_alive: i.p_alive,
            churn_level: i.churn_level,
            churn_score: i.churn_score,
            offers: i.offers.into_iter().map(Into::into).collect(),
            run_offers: i.run_offers.into_iter().map(Into::into).collect(),
            bought_since_run: i.bought_since_run,
        }
    }
}
