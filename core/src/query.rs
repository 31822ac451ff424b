//! Read-only queries over the projections. Readers take a `&Connection` and never load
//! Automerge documents.

use rusqlite::{Connection, Row, params};

use crate::error::Result;
use crate::model::*;

mod catalog;
mod counts;
mod timeline;
mod visits;
pub use catalog::{CategorySummary, OrderDetail, OrderLineSummary, OrderSummary, ProductSummary};
pub(crate) use counts::total;
pub use timeline::TimelineEntry;
pub use visits::VisitFilter;

/// What an app can ask the store, directly ([`crate::Store::query`]) or live
/// ([`crate::Store::subscribe`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Full-text prefix search over customer name, contact names, city and phone numbers.
    SearchCustomers {
        text: String,
        limit: u32,
    },
    /// The nearest customers with a location, closest first, optionally within a distance.
    NearbyCustomers {
        lat: f64,
        lon: f64,
        max_distance_m: Option<f64>,
        limit: u32,
    },
    /// Customers matching every given filter, by name.
    Customers(CustomerFilter),
    /// Customers with a visit cadence whose last completed visit is older than the cadence
    /// (or who were never visited), most overdue first (the rule of [`crate::overdue`]).
    OverdueCustomers {
        now: Millis,
        owner: Option<String>,
        limit: u32,
    },
    /// A rep's visits whose check-in (or, before check-in, planned start) falls in `[from, to)`.
    VisitsForRep {
        rep: String,
        from: Millis,
        to: Millis,
    },
    /// Visits matching every given filter (rep, customer, status, day), by day, a page at a
    /// time; their total is [`crate::Store::total`].
    Visits(VisitFilter),
    /// A customer's visits (any rep this device sees), newest first by check-in or, before
    /// check-in, planned start.
    VisitsForCustomer {
        customer_id: String,
        limit: u32,
    },
    /// A customer's contacts, by name.
    ContactsOfCustomer {
        customer_id: String,
    },
    /// Open and closed opportunities per stage and currency.
    Pipeline {
        owner: Option<String>,
    },
    /// The pipeline by stage (every known stage in order, then unknown ones): per stage and
    /// currency the count, amount and probability-weighted amount of all its deals, and its
    /// deals, soonest expected close first, at most `limit` per stage (0 means 50). Deals of
    /// `owner` (a rep's own), of one `stage` when given. See [`crate::opportunities`].
    DealsByStage {
        owner: Option<String>,
        stage: Option<Stage>,
        limit: u32,
    },
    OpenTasks {
        assignee: Option<String>,
    },
    /// Cases not yet resolved, of one customer and/or handled by one `assignee` when given:
    /// soonest due first (overdue ones lead), then the most severe.
    OpenCases {
        customer_id: Option<String>,
        assignee: Option<String>,
    },
    /// Products whose SKU or name has every typed word as a prefix, active ones first.
    SearchProducts {
        text: String,
        limit: u32,
    },
    /// The catalog's categories by name, each with its count of active products and of all
    /// (deleted products are not counted; a category only they carry is not listed). Products
    /// without a category are in none: search finds them.
    ProductCategories {
        limit: u32,
        offset: u32,
    },
    /// A category's products, active ones first, by name.
    ProductsInCategory {
        category: String,
        limit: u32,
        offset: u32,
    },
    /// The products with this SKU.
    ProductBySku {
        sku: String,
    },
    /// A customer's orders with their totals, newest first.
    OrdersOfCustomer {
        customer_id: String,
        limit: u32,
    },
    /// The orders taken at a visit, with their totals.
    OrdersOfVisit {
        visit_id: String,
    },
    /// One order with its lines and totals (`QueryResult::Order(None)` when absent).
    OrderWithLines {
        order_id: String,
    },
    /// A customer's analytics from the device's current run, with at most `limit` offers
    /// (0 means 5) ranked now from the synced rules and what the customer bought, local
    /// orders since the run included (`QueryResult::CustomerInsight(None)` without a run or
    /// without the customer in it). Live, it follows orders and the next run's arrival.
    CustomerInsight {
        customer_id: String,
        limit: u32,
    },
    /// A customer's visits, activities, orders and cases in one list, newest first, at most
    /// `limit` entries (0 means 50); deleted records left out. Each kind's time is described in
    /// [`TimelineEntry`]'s module (`query/timeline.rs`).
    CustomerTimeline {
        customer_id: String,
        limit: u32,
    },
    /// The sync status: upload queue, rejected changes, pending pings, last sync and error.
    /// Live, it follows local writes, acknowledgements, rejections and sync outcomes.
    SyncStatus,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CustomerFilter {
    pub owner: Option<String>,
    pub territory: Option<String>,
    pub grade: Option<Grade>,
    pub segment: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSummary {
    pub id: String,
    pub name: String,
    pub city: Option<String>,
    pub grade: Option<Grade>,
    pub owner: Option<String>,
    pub territory: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub visit_cadence_days: Option<u32>,
    pub last_visit_at: Option<Millis>,
    /// Set by nearby queries.
    pub distance_m: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VisitSummary {
    pub id: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub rep: String,
    pub planned_start: Option<Millis>,
    pub planned_end: Option<Millis>,
    pub status: VisitStatus,
    pub check_in_at: Option<Millis>,
    pub check_out_at: Option<Millis>,
    pub verification: Option<Verification>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactSummary {
    pub id: String,
    pub customer_id: String,
    pub name: String,
    pub title: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageTotal {
    pub stage: Stage,
    pub currency: String,
    pub count: u32,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskSummary {
    pub id: String,
    pub title: String,
    pub due_at: Option<Millis>,
    pub assignee: Option<String>,
    pub linked_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CaseSummary {
    pub id: String,
    pub customer_id: String,
    pub subject: String,
    pub severity: Severity,
    pub status: CaseStatus,
    /// User id of who handles it.
    pub assignee: Option<String>,
    pub due_at: Option<Millis>,
    /// When the server escalated it, overdue.
    pub escalated_at: Option<Millis>,
    pub opened_at: Millis,
}

impl CaseSummary {
    /// Past its due time and not resolved, at `now` (the rule of [`crate::Case::is_overdue`]).
    /// A live list is not re-run as the clock moves: apps ask this when they draw a row.
    pub fn is_overdue(&self, now: Millis) -> bool {
        crate::model::case_overdue(&self.status, self.due_at, now)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryResult {
    Customers(Vec<CustomerSummary>),
    Visits(Vec<VisitSummary>),
    Contacts(Vec<ContactSummary>),
    Pipeline(Vec<StageTotal>),
    DealsByStage(Vec<crate::opportunities::StageDeals>),
    Tasks(Vec<TaskSummary>),
    Cases(Vec<CaseSummary>),
    SyncStatus(SyncStatus),
    Products(Vec<ProductSummary>),
    Categories(Vec<CategorySummary>),
    Orders(Vec<OrderSummary>),
    CustomerInsight(Option<Box<crate::insights::CustomerInsight>>),
    Order(Option<OrderDetail>),
    Timeline(Vec<TimelineEntry>),
}

impl Query {
    pub(crate) fn is_sync_status(&self) -> bool {
        matches!(self, Query::SyncStatus)
    }

    /// Re-run when a new analytics run is swapped in (no record changed).
    pub(crate) fn is_customer_insight(&self) -> bool {
        matches!(self, Query::CustomerInsight { .. })
    }

    /// The kinds whose changes can alter this query's result.
    pub fn depends_on(&self) -> &'static [Kind] {
        match self {
            Query::SearchCustomers { .. } => &[Kind::Customer, Kind::Contact],
            Query::NearbyCustomers { .. }
            | Query::Customers(_)
            | Query::OverdueCustomers { .. } => &[Kind::Customer, Kind::Visit],
            Query::VisitsForRep { .. } | Query::VisitsForCustomer { .. } | Query::Visits(_) => {
                &[Kind::Visit, Kind::Customer]
            }
            Query::ContactsOfCustomer { .. } => &[Kind::Contact],
            Query::Pipeline { .. } => &[Kind::Opportunity],
            Query::DealsByStage { .. } => &[Kind::Opportunity, Kind::Customer],
            Query::OpenTasks { .. } => &[Kind::Task],
            Query::OpenCases { .. } => &[Kind::Case],
            Query::SearchProducts { .. }
            | Query::ProductCategories { .. }
            | Query::ProductsInCategory { .. }
            | Query::ProductBySku { .. } => &[Kind::Product],
            // Lines show whether their product is known, and the customer's name.
            Query::OrdersOfCustomer { .. }
            | Query::OrdersOfVisit { .. }
            | Query::OrderWithLines { .. } => &[Kind::Order, Kind::Product, Kind::Customer],
            // Every local write queues a change; sync events refresh it separately.
            Query::CustomerInsight { .. } => &[Kind::Order, Kind::Product, Kind::Customer],
            Query::CustomerTimeline { .. } => {
                &[Kind::Visit, Kind::Activity, Kind::Order, Kind::Case]
            }
            Query::SyncStatus => &Kind::ALL,
        }
    }
}

const CUSTOMER_COLUMNS: &str = "c.id, c.name, c.city, c.grade, c.owner, c.territory, c.lat, c.lon, c.cadence_days,
    (SELECT max(v.check_in_at) FROM visits v WHERE v.customer_id = c.id AND v.status = 'done' AND v.deleted = 0)";

fn customer_row(row: &Row<'_>) -> rusqlite::Result<CustomerSummary> {
    Ok(CustomerSummary {
        id: row.get(0)?,
        name: row.get(1)?,
        city: row.get(2)?,
        grade: row
            .get::<_, Option<String>>(3)?
            .as_deref()
            .map(Grade::parse),
        owner: row.get(4)?,
        territory: row.get(5)?,
        lat: row.get(6)?,
        lon: row.get(7)?,
        visit_cadence_days: row.get(8)?,
        last_visit_at: row.get(9)?,
        distance_m: None,
    })
}

/// Turns what a user typed into an FTS5 query: every word must match as a prefix.
pub(super) fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| format!("\"{t}\"*"))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

const VISIT_COLUMNS: &str =
    "v.id, v.customer_id, c.name, v.rep, v.planned_start, v.planned_end, v.status,
    v.check_in_at, v.check_out_at, v.verification
    FROM visits v LEFT JOIN customers c ON c.id = v.customer_id";

fn visit_row(row: &Row<'_>) -> rusqlite::Result<VisitSummary> {
    Ok(VisitSummary {
        id: row.get(0)?,
        customer_id: row.get(1)?,
        customer_name: row.get(2)?,
        rep: row.get(3)?,
        planned_start: row.get(4)?,
        planned_end: row.get(5)?,
        status: VisitStatus::parse(&row.get::<_, String>(6)?),
        check_in_at: row.get(7)?,
        check_out_at: row.get(8)?,
        verification: row
            .get::<_, Option<String>>(9)?
            .as_deref()
            .map(Verification::parse),
    })
}

pub(super) fn limit(value: u32) -> i64 {
    if value == 0 {
        50
    } else {
        i64::from(value.min(10_000))
    }
}

/// Upload queue, rejected list, pending pings and the last sync's outcome.
pub(crate) fn sync_status(conn: &Connection) -> Result<SyncStatus> {
    let count = |sql: &str| -> Result<u64> {
        let n: i64 = conn.prepare_cached(sql)?.query_row([], |row| row.get(0))?;
        Ok(n.max(0) as u64)
    };
    let pending_changes = count("SELECT count(*) FROM pending")?;
    let rejected_changes = count("SELECT count(*) FROM rejected")?;
    let refused_documents = crate::refused::count(conn)?;
    let partly_read_documents = crate::partly_read::count(conn)?;
    let pending_pings = count(
        "SELECT count(*) FROM pings p LEFT JOIN ping_batches b ON b.id = p.batch_id
         WHERE b.acknowledged_at IS NULL",
    )?;
    let mut status = conn
        .prepare_cached(
            "SELECT cursor, last_sync_at, last_attempt_at, last_error, last_error_code, records_read_from_documents
             FROM sync_state WHERE id = 1",
        )?
        .query_row([], |row| {
            Ok(SyncStatus {
                pending_changes,
                cursor: row.get(0)?,
                last_sync_at: row.get(1)?,
                last_attempt_at: row.get(2)?,
                last_error: row.get(3)?,
                last_error_code: row.get(4)?,
                rejected_changes,
                refused_documents,
                pending_pings,
                syncing: false,
                records_read_from_documents: row.get::<_, i64>(5)?.max(0) as u64,
                partly_read_documents,
            })
        })?;
    // A refused document is never a silent success: it stands as the last error until it
    // loads (a later real error, say `offline`, takes its place and the count stays).
    if refused_documents > 0 && status.last_error_code.is_none() {
        status.last_error_code = Some(crate::refused::DOCUMENT_REFUSED.to_owned());
        status.last_error = Some(format!(
            "{refused_documents} document(s) from the server could not be loaded; the next sync fetches them again"
        ));
    }
    Ok(status)
}

pub(crate) fn run(conn: &Connection, query: &Query) -> Result<QueryResult> {
    use catalog::OrdersOf;
    let summaries = |details: Vec<OrderDetail>| details.into_iter().map(|d| d.order).collect();
    Ok(match query {
        Query::SearchProducts { text, limit } => {
            QueryResult::Products(catalog::search_products(conn, text, *limit)?)
        }
        Query::ProductCategories { limit, offset } => {
            QueryResult::Categories(catalog::product_categories(conn, *limit, *offset)?)
        }
        Query::ProductsInCategory {
            category,
            limit,
            offset,
        } => QueryResult::Products(catalog::products_in_category(
            conn, category, *limit, *offset,
        )?),
        Query::ProductBySku { sku } => QueryResult::Products(catalog::products_by_sku(conn, sku)?),
        Query::OrdersOfCustomer { customer_id, limit } => QueryResult::Orders(summaries(
            catalog::orders(conn, OrdersOf::Customer(customer_id, *limit))?,
        )),
        Query::OrdersOfVisit { visit_id } => {
            QueryResult::Orders(summaries(catalog::orders(conn, OrdersOf::Visit(visit_id))?))
        }
        Query::OrderWithLines { order_id } => QueryResult::Order(
            catalog::orders(conn, OrdersOf::One(order_id))?
                .into_iter()
                .next(),
        ),
        Query::SyncStatus => QueryResult::SyncStatus(sync_status(conn)?),
        Query::CustomerTimeline { customer_id, limit } => {
            QueryResult::Timeline(timeline::customer_timeline(conn, customer_id, *limit)?)
        }
        Query::CustomerInsight { customer_id, limit } => QueryResult::CustomerInsight(
            crate::insights::customer_insight(conn, customer_id, *limit)?.map(Box::new),
        ),
        Query::SearchCustomers { text, limit: max } => {
            let Some(fts) = fts_query(text) else {
                return Ok(QueryResult::Customers(Vec::new()));
            };
            let sql = format!(
                // Rank and cut first; the per-row last-visit lookup runs only for the rows kept.
                "SELECT {CUSTOMER_COLUMNS} FROM (
                   SELECT m.rid, m.rank FROM (SELECT rowid AS rid, rank FROM customers_fts WHERE customers_fts MATCH ?1) m
                   JOIN customers k ON k.rid = m.rid ORDER BY m.rank, k.name, k.id LIMIT ?2
                 ) top JOIN customers c ON c.rid = top.rid ORDER BY top.rank, c.name, c.id"
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map(params![fts, limit(*max)], customer_row)?
                .collect::<rusqlite::Result<_>>()?;
            QueryResult::Customers(rows)
        }
        Query::NearbyCustomers {
            lat,
            lon,
            max_distance_m,
            limit: max,
        } => {
            check_coordinates("position", *lat, *lon)?;
            QueryResult::Customers(nearby(
                conn,
                *lat,
                *lon,
                *max_distance_m,
                limit(*max) as usize,
            )?)
        }
        Query::Customers(filter) => {
            let sql = format!(
                "SELECT {CUSTOMER_COLUMNS} FROM customers c
                 WHERE c.deleted = 0
                   AND (?1 IS NULL OR c.owner = ?1) AND (?2 IS NULL OR c.territory = ?2)
                   AND (?3 IS NULL OR c.grade = ?3)
                   AND (?4 IS NULL OR c.rid IN (SELECT customer_rid FROM customer_segments WHERE segment = ?4))
                 ORDER BY c.name COLLATE NOCASE, c.id LIMIT ?5 OFFSET ?6"
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map(
                    params![
                        filter.owner,
                        filter.territory,
                        filter.grade.as_ref().map(Grade::as_str),
                        filter.segment,
                        limit(filter.limit),
                        filter.offset
                    ],
                    customer_row,
                )?
                .collect::<rusqlite::Result<_>>()?;
            QueryResult::Customers(rows)
        }
        Query::OverdueCustomers {
            now,
            owner,
            limit: max,
        } => {
            // The projection keeps no creation time; the id (a UUID v7, which begins with it)
            // orders never-visited customers alike on every device (see `overdue.rs`).
            let rule = crate::overdue::OverdueSql {
                last_visit: "last_visit",
                cadence_days: "cadence_days",
                known_order: "id",
                name: "name",
            };
            let sql = format!(
                "SELECT * FROM (SELECT {CUSTOMER_COLUMNS} AS last_visit FROM customers c
                   WHERE c.deleted = 0 AND c.cadence_days IS NOT NULL AND (?2 IS NULL OR c.owner = ?2))
                 WHERE {} ORDER BY {} LIMIT ?3",
                rule.condition("?1"),
                rule.order()
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map(params![now, owner, limit(*max)], customer_row)?
                .collect::<rusqlite::Result<_>>()?;
            QueryResult::Customers(rows)
        }
        Query::VisitsForRep { rep, from, to } => {
            let rows = conn
                .prepare_cached(&format!(
                    "SELECT {VISIT_COLUMNS} WHERE v.rep = ?1 AND v.day_at >= ?2 AND v.day_at < ?3 AND v.deleted = 0
                     ORDER BY v.day_at, v.id"
                ))?
                .query_map(params![rep, from, to], visit_row)?
                .collect::<rusqlite::Result<_>>()?;
            QueryResult::Visits(rows)
        }
        Query::Visits(filter) => QueryResult::Visits(visits::visits(conn, filter)?),
        Query::VisitsForCustomer {
            customer_id,
            limit: max,
        } => {
            let rows = conn
                .prepare_cached(&format!(
                    "SELECT {VISIT_COLUMNS} WHERE v.customer_id = ?1 AND v.deleted = 0
                     ORDER BY v.day_at DESC, v.id LIMIT ?2"
                ))?
                .query_map(params![customer_id, limit(*max)], visit_row)?
                .collect::<rusqlite::Result<_>>()?;
            QueryResult::Visits(rows)
        }
        Query::ContactsOfCustomer { customer_id } => {
            let split = |text: String| -> Vec<String> {
                text.split('\n')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            let rows = conn
                .prepare_cached(
                    "SELECT id, customer_id, name, title, phones, emails FROM contacts
                     WHERE customer_id = ?1 AND deleted = 0 ORDER BY name COLLATE NOCASE, id",
                )?
                .query_map([customer_id], |row| {
                    Ok(ContactSummary {
                        id: row.get(0)?,
                        customer_id: row.get(1)?,
                        name: row.get(2)?,
                        title: row.get(3)?,
                        phones: split(row.get(4)?),
                        emails: split(row.get(5)?),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            QueryResult::Contacts(rows)
        }
        Query::Pipeline { owner } => {
            let mut totals: Vec<StageTotal> = conn
                .prepare_cached(
                    "SELECT stage, currency, count(*), sum(amount_minor) FROM opportunities
                     WHERE deleted = 0 AND (?1 IS NULL OR owner = ?1) GROUP BY stage, currency",
                )?
                .query_map(params![owner], |row| {
                    Ok(StageTotal {
                        stage: Stage::parse(&row.get::<_, String>(0)?),
                        currency: row.get(1)?,
                        count: row.get(2)?,
                        amount_minor: row.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            totals.sort_by(|a, b| {
                a.stage
                    .cmp(&b.stage)
                    .then_with(|| a.currency.cmp(&b.currency))
            });
            QueryResult::Pipeline(totals)
        }
        Query::DealsByStage {
            owner,
            stage,
            limit: max,
        } => QueryResult::DealsByStage(crate::opportunities::deals_by_stage(
            conn,
            owner.as_deref(),
            stage.as_ref(),
            *max,
        )?),
        Query::OpenTasks { assignee } => {
            let rows = conn
                .prepare_cached(
                    "SELECT id, title, due_at, assignee, linked_id FROM tasks
                     WHERE status = 'open' AND deleted = 0 AND (?1 IS NULL OR assignee = ?1)
                     ORDER BY due_at IS NULL, due_at, id",
                )?
                .query_map(params![assignee], |row| {
                    Ok(TaskSummary {
                        id: row.get(0)?,
                        title: row.get(1)?,
                        due_at: row.get(2)?,
                        assignee: row.get(3)?,
                        linked_id: row.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            QueryResult::Tasks(rows)
        }
        Query::OpenCases {
            customer_id,
            assignee,
        } => {
            let rows = conn
                .prepare_cached(
                    "SELECT id, customer_id, subject, severity, status, assignee, due_at, escalated_at,
                            coalesce(opened_at, updated_at)
                     FROM cases
                     WHERE status IN ('open', 'in_progress') AND deleted = 0
                       AND (?1 IS NULL OR customer_id = ?1) AND (?2 IS NULL OR assignee = ?2)
                     ORDER BY due_at IS NULL, due_at,
                              CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, id",
                )?
                .query_map(params![customer_id, assignee], |row| {
                    Ok(CaseSummary {
                        id: row.get(0)?,
                        customer_id: row.get(1)?,
                        subject: row.get(2)?,
                        severity: Severity::parse(&row.get::<_, String>(3)?),
                        status: CaseStatus::parse(&row.get::<_, String>(4)?),
                        assignee: row.get(5)?,
                        due_at: row.get(6)?,
                        escalated_at: row.get(7)?,
                        opened_at: row.get(8)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            QueryResult::Cases(rows)
        }
    })
}

const METRES_PER_DEGREE_LAT: f64 = 111_320.0;

/// k-nearest customers: grow a bounding box in the R*Tree until it holds `k` candidates, then
/// make sure nothing nearer lies outside the box's inscribed circle, refining with exact
/// distances. (Boxes are clamped at the poles and the antimeridian, where a customer on the far
/// side is not found: no sales territory straddles them.)
fn nearby(
    conn: &Connection,
    lat: f64,
    lon: f64,
    max_distance_m: Option<f64>,
    k: usize,
) -> Result<Vec<CustomerSummary>> {
    let max = max_distance_m
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or(20_037_000.0);
    let mut half = max.min(1_000.0);
    loop {
        let candidates = in_box(conn, lat, lon, half)?;
        let covered = half >= max;
        if candidates.len() >= k || covered {
            let found = nearest(candidates, lat, lon, max, k);
            // The box only guarantees completeness within `half` metres of the centre.
            let kth = found.last().and_then(|c| c.distance_m).unwrap_or(0.0);
            if covered || found.len() < k || kth <= half {
                return Ok(found);
            }
            let wider = in_box(conn, lat, lon, kth.min(max) * 1.001)?;
            return Ok(nearest(wider, lat, lon, max, k));
        }
        half = (half * 4.0).min(max);
    }
}

/// The `k` candidates closest to (lat, lon) within `max` metres, with their exact distances.
fn nearest(
    candidates: Vec<CustomerSummary>,
    lat: f64,
    lon: f64,
    max: f64,
    k: usize,
) -> Vec<CustomerSummary> {
    let mut found: Vec<CustomerSummary> = candidates
        .into_iter()
        .filter_map(|mut c| {
            let d = distance_m(lat, lon, c.lat?, c.lon?);
            c.distance_m = Some(d);
            (d <= max).then_some(c)
        })
        .collect();
    found.sort_by(|a, b| {
        a.distance_m
            .unwrap_or(f64::MAX)
            .total_cmp(&b.distance_m.unwrap_or(f64::MAX))
            .then_with(|| a.id.cmp(&b.id))
    });
    found.truncate(k);
    found
}

fn in_box(conn: &Connection, lat: f64, lon: f64, half_m: f64) -> Result<Vec<CustomerSummary>> {
    let dlat = half_m / METRES_PER_DEGREE_LAT;
    let cos = lat.to_radians().cos().max(0.01);
    let dlon = (half_m / (METRES_PER_DEGREE_LAT * cos)).min(360.0);
    let sql = format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers_geo g JOIN customers c ON c.rid = g.rid
         WHERE g.min_lat <= ?2 AND g.max_lat >= ?1 AND g.min_lon <= ?4 AND g.max_lon >= ?3"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(
            params![
                (lat - dlat).max(-90.0),
                (lat + dlat).min(90.0),
                (lon - dlon).max(-180.0),
                (lon + dlon).min(180.0)
            ],
            customer_row,
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}
