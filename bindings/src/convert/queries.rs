//! The uniffi mirrors of queries, their filters, and the summaries and results they answer.

use fieldcrm_core as fc;

use super::*;

/// Filters for [`Query::Customers`]; every given filter must match. A limit of 0 means 50.
#[derive(Debug, Clone, PartialEq, Default, uniffi::Record)]
pub struct CustomerFilter {
    #[uniffi(default)]
    pub owner: Option<String>,
    #[uniffi(default)]
    pub territory: Option<String>,
    #[uniffi(default)]
    pub grade: Option<Grade>,
    #[uniffi(default)]
    pub segment: Option<String>,
    #[uniffi(default)]
    pub limit: u32,
    #[uniffi(default)]
    pub offset: u32,
}

impl From<CustomerFilter> for fc::CustomerFilter {
    fn from(f: CustomerFilter) -> Self {
        fc::CustomerFilter {
            owner: f.owner,
            territory: f.territory,
            grade: f.grade.map(Into::into),
            segment: f.segment,
            limit: f.limit,
            offset: f.offset,
        }
    }
}

impl From<fc::CustomerFilter> for CustomerFilter {
    fn from(f: fc::CustomerFilter) -> Self {
        CustomerFilter {
            owner: f.owner,
            territory: f.territory,
            grade: f.grade.map(Into::into),
            segment: f.segment,
            limit: f.limit,
            offset: f.offset,
        }
    }
}

/// Everything the store can answer, directly or as a live query. A limit of 0 means 50.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Query {
    /// Prefix search over customer name, contact names, city and phone numbers.
    SearchCustomers {
        text: String,
        limit: u32,
    },
    /// Nearest customers with a location, closest first, optionally within a distance.
    NearbyCustomers {
        lat: f64,
        lon: f64,
        max_distance_m: Option<f64>,
        limit: u32,
    },
    Customers {
        filter: CustomerFilter,
    },
    /// Customers whose visit cadence has lapsed, most overdue first.
    OverdueCustomers {
        now: i64,
        owner: Option<String>,
        limit: u32,
    },
    /// A rep's visits checked in (or planned) in `[from, to)`.
    VisitsForRep {
        rep: String,
        from: i64,
        to: i64,
    },
    /// A customer's visits, newest first.
    VisitsForCustomer {
        customer_id: String,
        limit: u32,
    },
    /// A customer's contacts, by name.
    ContactsOfCustomer {
        customer_id: String,
    },
    Pipeline {
        owner: Option<String>,
    },
    /// The pipeline by stage: every known stage in order (then unknown ones), each with its
    /// totals per currency and its deals (at most `limit` per stage), of `owner`, of one
    /// `stage` when given.
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
        #[uniffi(default)]
        assignee: Option<String>,
    },
    /// The sync status; live, it follows writes, acknowledgements, rejections and rounds.
    SyncStatus,
    /// Products whose SKU or name has every typed word as a prefix, active ones first.
    SearchProducts {
        text: String,
        limit: u32,
    },
    /// The catalog's categories by name, each with its counts of active and all products
    /// (deleted ones not counted); products without a category are in none (search finds
    /// them).
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
    /// One order with its lines and totals.
    OrderWithLines {
        order_id: String,
    },
    /// A customer's analytics from the last run, with at most `limit` offers (0 means 5)
    /// ranked now; live, it follows the customer's orders and the next run.
    CustomerInsight {
        customer_id: String,
        limit: u32,
    },
    /// A customer's visits, activities, orders and cases, newest first (0 means 50).
    CustomerTimeline {
        customer_id: String,
        limit: u32,
    },
}

impl From<Query> for fc::Query {
    fn from(q: Query) -> Self {
        match q {
            Query::SearchCustomers { text, limit } => fc::Query::SearchCustomers { text, limit },
            Query::NearbyCustomers {
                lat,
                lon,
                max_distance_m,
                limit,
            } => fc::Query::NearbyCustomers {
                lat,
                lon,
                max_distance_m,
                limit,
            },
            Query::Customers { filter } => fc::Query::Customers(filter.into()),
            Query::OverdueCustomers { now, owner, limit } => {
                fc::Query::OverdueCustomers { now, owner, limit }
            }
            Query::VisitsForRep { rep, from, to } => fc::Query::VisitsForRep { rep, from, to },
            Query::VisitsForCustomer { customer_id, limit } => {
                fc::Query::VisitsForCustomer { customer_id, limit }
            }
            Query::ContactsOfCustomer { customer_id } => {
                fc::Query::ContactsOfCustomer { customer_id }
            }
            Query::Pipeline { owner } => fc::Query::Pipeline { owner },
            Query::DealsByStage {
                owner,
                stage,
                limit,
            } => fc::Query::DealsByStage {
                owner,
                stage: stage.map(Into::into),
                limit,
            },
            Query::OpenTasks { assignee } => fc::Query::OpenTasks { assignee },
            Query::OpenCases {
                customer_id,
                assignee,
            } => fc::Query::OpenCases {
                customer_id,
                assignee,
            },
            Query::SyncStatus => fc::Query::SyncStatus,
            Query::SearchProducts { text, limit } => fc::Query::SearchProducts { text, limit },
            Query::ProductCategories { limit, offset } => {
                fc::Query::ProductCategories { limit, offset }
            }
            Query::ProductsInCategory {
                category,
                limit,
                offset,
            } => fc::Query::ProductsInCategory {
                category,
                limit,
                offset,
            },
            Query::ProductBySku { sku } => fc::Query::ProductBySku { sku },
            Query::OrdersOfCustomer { customer_id, limit } => {
                fc::Query::OrdersOfCustomer { customer_id, limit }
            }
            Query::OrdersOfVisit { visit_id } => fc::Query::OrdersOfVisit { visit_id },
            Query::OrderWithLines { order_id } => fc::Query::OrderWithLines { order_id },
            Query::CustomerInsight { customer_id, limit } => {
                fc::Query::CustomerInsight { customer_id, limit }
            }
            Query::CustomerTimeline { customer_id, limit } => {
                fc::Query::CustomerTimeline { customer_id, limit }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
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
    pub last_visit_at: Option<i64>,
    /// Set by nearby queries.
    pub distance_m: Option<f64>,
}

impl From<fc::CustomerSummary> for CustomerSummary {
    fn from(c: fc::CustomerSummary) -> Self {
        CustomerSummary {
            id: c.id,
            name: c.name,
            city: c.city,
            grade: c.grade.map(Into::into),
            owner: c.owner,
            territory: c.territory,
            lat: c.lat,
            lon: c.lon,
            visit_cadence_days: c.visit_cadence_days,
            last_visit_at: c.last_visit_at,
            distance_m: c.distance_m,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VisitSummary {
    pub id: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub rep: String,
    pub planned_start: Option<i64>,
    pub planned_end: Option<i64>,
    pub status: VisitStatus,
    pub check_in_at: Option<i64>,
    pub check_out_at: Option<i64>,
    pub verification: Option<Verification>,
}

impl From<fc::VisitSummary> for VisitSummary {
    fn from(v: fc::VisitSummary) -> Self {
        VisitSummary {
            id: v.id,
            customer_id: v.customer_id,
            customer_name: v.customer_name,
            rep: v.rep,
            planned_start: v.planned_start,
            planned_end: v.planned_end,
            status: v.status.into(),
            check_in_at: v.check_in_at,
            check_out_at: v.check_out_at,
            verification: v.verification.map(Into::into),
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct StageTotal {
    pub stage: Stage,
    pub currency: String,
    pub count: u32,
    pub amount_minor: i64,
}

impl From<fc::StageTotal> for StageTotal {
    fn from(s: fc::StageTotal) -> Self {
        StageTotal {
            stage: s.stage.into(),
            currency: s.currency,
            count: s.count,
            amount_minor: s.amount_minor,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TaskSummary {
    pub id: String,
    pub title: String,
    pub due_at: Option<i64>,
    pub assignee: Option<String>,
    pub linked_id: Option<String>,
}

impl From<fc::TaskSummary> for TaskSummary {
    fn from(t: fc::TaskSummary) -> Self {
        TaskSummary {
            id: t.id,
            title: t.title,
            due_at: t.due_at,
            assignee: t.assignee,
            linked_id: t.linked_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseSummary {
    pub id: String,
    pub customer_id: String,
    pub subject: String,
    pub severity: Severity,
    pub status: CaseStatus,
    /// User id of who handles it.
    pub assignee: Option<String>,
    pub due_at: Option<i64>,
    /// When the server escalated it, overdue.
    pub escalated_at: Option<i64>,
    pub opened_at: i64,
}

impl From<fc::CaseSummary> for CaseSummary {
    fn from(c: fc::CaseSummary) -> Self {
        CaseSummary {
            id: c.id,
            customer_id: c.customer_id,
            subject: c.subject,
            severity: c.severity.into(),
            status: c.status.into(),
            assignee: c.assignee,
            due_at: c.due_at,
            escalated_at: c.escalated_at,
            opened_at: c.opened_at,
        }
    }
}

/// A contact of a customer, as lists show it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ContactSummary {
    pub id: String,
    pub customer_id: String,
    pub name: String,
    pub title: Option<String>,
    pub phones: Vec<String>,
    pub emails: Vec<String>,
}

impl From<fc::ContactSummary> for ContactSummary {
    fn from(c: fc::ContactSummary) -> Self {
        ContactSummary {
            id: c.id,
            customer_id: c.customer_id,
            name: c.name,
            title: c.title,
            phones: c.phones,
            emails: c.emails,
        }
    }
}

/// A query's rows; the variant follows the query (customers for the three customer queries).
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum QueryResult {
    Customers {
        rows: Vec<CustomerSummary>,
    },
    Visits {
        rows: Vec<VisitSummary>,
    },
    Contacts {
        rows: Vec<ContactSummary>,
    },
    Pipeline {
        rows: Vec<StageTotal>,
    },
    Tasks {
        rows: Vec<TaskSummary>,
    },
    Cases {
        rows: Vec<CaseSummary>,
    },
    SyncStatus {
        status: SyncStatus,
    },
    Products {
        rows: Vec<ProductSummary>,
    },
    Categories {
        rows: Vec<CategorySummary>,
    },
    Orders {
        rows: Vec<OrderSummary>,
    },
    /// `None` when the order is not on this device.
    Order {
        order: Option<OrderDetail>,
    },
    DealsByStage {
        stages: Vec<StageDeals>,
    },
    /// `None` before the device has an analytics run, or when the run has no such customer.
    CustomerInsight {
        insight: Option<CustomerInsight>,
    },
    Timeline {
        entries: Vec<TimelineEntry>,
    },
}

fn rows<T, U: From<T>>(items: Vec<T>) -> Vec<U> {
    items.into_iter().map(Into::into).collect()
}

impl From<fc::QueryResult> for QueryResult {
    fn from(r: fc::QueryResult) -> Self {
        match r {
            fc::QueryResult::Customers(r) => QueryResult::Customers { rows: rows(r) },
            fc::QueryResult::Visits(r) => QueryResult::Visits { rows: rows(r) },
            fc::QueryResult::Contacts(r) => QueryResult::Contacts { rows: rows(r) },
            fc::QueryResult::Pipeline(r) => QueryResult::Pipeline { rows: rows(r) },
            fc::QueryResult::DealsByStage(r) => QueryResult::DealsByStage { stages: rows(r) },
            fc::QueryResult::Tasks(r) => QueryResult::Tasks { rows: rows(r) },
            fc::QueryResult::Cases(r) => QueryResult::Cases { rows: rows(r) },
            fc::QueryResult::SyncStatus(s) => QueryResult::SyncStatus { status: s.into() },
            fc::QueryResult::Products(r) => QueryResult::Products { rows: rows(r) },
            fc::QueryResult::Categories(r) => QueryResult::Categories { rows: rows(r) },
            fc::QueryResult::Orders(r) => QueryResult::Orders { rows: rows(r) },
            fc::QueryResult::Order(o) => QueryResult::Order {
                order: o.map(Into::into),
            },
            fc::QueryResult::CustomerInsight(i) => QueryResult::CustomerInsight {
                insight: i.map(|i| (*i).into()),
            },
            fc::QueryResult::Timeline(e) => QueryResult::Timeline { entries: rows(e) },
        }
    }
}
