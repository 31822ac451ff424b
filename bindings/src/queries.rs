//! Queries run once: any [`Query`], and one typed call per list the app shows.

use fieldcrm_core as fc;

use super::*;

fn customer_rows(result: fc::QueryResult) -> Result<Vec<CustomerSummary>> {
    match result {
        fc::QueryResult::Customers(rows) => Ok(rows.into_iter().map(Into::into).collect()),
        _ => Err(internal("customer query returned other rows")),
    }
}

impl FieldStore {
    pub(crate) fn query_core(&self, operation: &str, query: fc::Query) -> Result<fc::QueryResult> {
        self.with(operation, |s| Ok(s.query(&query)?))
    }
}

#[uniffi::export]
impl FieldStore {
    /// Runs any query once.
    pub fn query(&self, query: Query) -> Result<QueryResult> {
        Ok(self.query_core("query", query.into())?.into())
    }

    /// Prefix search over customer name, contact names, city and phone numbers. A limit of 0
    /// means 50.
    pub fn search_customers(&self, text: String, limit: u32) -> Result<Vec<CustomerSummary>> {
        customer_rows(self.query_core(
            "search_customers",
            fc::Query::SearchCustomers { text, limit },
        )?)
    }

    /// Customers nearest to a position, closest first, with `distance_m` set.
    pub fn nearby_customers(
        &self,
        lat: f64,
        lon: f64,
        max_distance_m: Option<f64>,
        limit: u32,
    ) -> Result<Vec<CustomerSummary>> {
        customer_rows(self.query_core(
            "nearby_customers",
            fc::Query::NearbyCustomers {
                lat,
                lon,
                max_distance_m,
                limit,
            },
        )?)
    }

    /// Customers by owner, territory, grade and segment, sorted by name.
    pub fn customers(&self, filter: CustomerFilter) -> Result<Vec<CustomerSummary>> {
        customer_rows(self.query_core("customers", fc::Query::Customers(filter.into()))?)
    }

    /// Customers whose visit cadence has lapsed at `now`, most overdue first.
    pub fn overdue_customers(
        &self,
        now: i64,
        owner: Option<String>,
        limit: u32,
    ) -> Result<Vec<CustomerSummary>> {
        customer_rows(self.query_core(
            "overdue_customers",
            fc::Query::OverdueCustomers { now, owner, limit },
        )?)
    }

    /// A rep's visits in `[from, to)` (by check-in, or planned start before check-in).
    pub fn visits_for_rep(&self, rep: String, from: i64, to: i64) -> Result<Vec<VisitSummary>> {
        match self.query_core("visits_for_rep", fc::Query::VisitsForRep { rep, from, to })? {
            fc::QueryResult::Visits(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("visit query returned other rows")),
        }
    }

    /// A customer's visits, newest first (by check-in, or planned start before check-in).
    pub fn visits_for_customer(
        &self,
        customer_id: String,
        limit: u32,
    ) -> Result<Vec<VisitSummary>> {
        let query = fc::Query::VisitsForCustomer { customer_id, limit };
        match self.query_core("visits_for_customer", query)? {
            fc::QueryResult::Visits(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("visit query returned other rows")),
        }
    }

    /// A customer's contacts, by name.
    pub fn contacts_of_customer(&self, customer_id: String) -> Result<Vec<ContactSummary>> {
        let query = fc::Query::ContactsOfCustomer { customer_id };
        match self.query_core("contacts_of_customer", query)? {
            fc::QueryResult::Contacts(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("contact query returned other rows")),
        }
    }

    /// Opportunity count and amount per stage and currency.
    pub fn pipeline(&self, owner: Option<String>) -> Result<Vec<StageTotal>> {
        match self.query_core("pipeline", fc::Query::Pipeline { owner })? {
            fc::QueryResult::Pipeline(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("pipeline query returned other rows")),
        }
    }

    pub fn open_tasks(&self, assignee: Option<String>) -> Result<Vec<TaskSummary>> {
        match self.query_core("open_tasks", fc::Query::OpenTasks { assignee })? {
            fc::QueryResult::Tasks(rows) => Ok(rows.into_iter().map(Into::into).collect()),
            _ => Err(internal("task query returned other rows")),
        }
    }

    /// A customer's analytics from the last run with at most `limit` offers (0 means 5)
    /// ranked now; `None` before the first run reached the device or when the run has no such
    /// customer. Subscribe to `Query::CustomerInsight` to follow orders taken meanwhile.
    pub fn customer_insight(
        &self,
        customer_id: String,
        limit: u32,
    ) -> Result<Option<CustomerInsight>> {
        let query = fc::Query::CustomerInsight { customer_id, limit };
        match self.query_core("customer_insight", query)? {
            fc::QueryResult::CustomerInsight(i) => Ok(i.map(|i| (*i).into())),
            _ => Err(internal("insight query returned other rows")),
        }
    }
}
