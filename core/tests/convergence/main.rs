//! Convergence property tests: 2 to 4 replicas (each a `Store` in its own directory, each with
//! its own user) run random operations and exchange their changes through a lossy "server" that
//! delivers messages in random order, duplicates some, drops some (the sender re-sends whatever
//! was not delivered to every other replica) and sometimes sends whole documents as snapshots.
//! When everything has been delivered, every replica must hold the same documents, the same
//! records and the same query results, every projection must match its documents, the upload
//! queues must be empty and no acknowledged edit may be lost.
//!
//! Plain tests at the end cover duplicate delivery, out-of-order delivery and corrupt input,
//! followed by minimal reproductions of the library bugs the property test found.
//!
//! The random operations and their strategies are in `ops.rs`, the simulated world of replicas
//! and a lossy server in `world.rs`, the queries and the projection checks in `checks.rs`, and
//! the plain tests in `contract.rs`.

// Tests report failures by panicking; unwrap/expect are the plainest way to do so here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use fieldcrm_core::Record as _;
use fieldcrm_core::{
    Activity, ActivityChannel, AnyRecord, Case, CaseStatus, CaseSummary, CategorySummary, Customer,
    CustomerFilter, CustomerSummary, EARLIEST_TIMESTAMP, GeoLocation, GpsStamp, Grade, ImportError,
    ImportReport, IncomingDoc, IncomingPayload, Kind, LATEST_TIMESTAMP, LocationSource, Money,
    Opportunity, Order, OrderStatus, OrderStatusChange, PendingChange, Product, Query, QueryResult,
    Severity, Stage, StageChange, StageTotal, Store, Task, TaskStatus, TaskSummary, Visit,
    VisitStatus, VisitSummary, distance_m,
};
use proptest::prelude::*;
use tempfile::TempDir;

#[path = "../support/mod.rs"]
mod support;
use support::catalog::{
    OrderEdit, PRODUCT_TERMS, ProductEdit, catalog_product, check_order_projection, edit_order,
    edit_product, order_edit, product_edit,
};
use support::{
    CITIES, CustomerEdit, HOUR, Mode, NAMES, PHONES, POINTS, SEGMENTS, T0, customer_edit,
    edit_customer, mode, open_store, take_batch, user,
};

mod checks;
mod contract;
mod ops;
mod world;

use checks::*;
use ops::*;
use world::*;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn replicas_converge(replicas in 2usize..=4, ops in prop::collection::vec(op(), 0..40)) {
        let mut world = World::new(replicas);
        for op in &ops {
            world.apply(op);
        }
        world.settle();
        world.check();
    }
}
