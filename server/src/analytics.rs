//! Customer analytics over the CRM's own orders: pure functions over plain rows,
//! unit-tested without SQLite. The storage reads the rows, a run calls these and stores what
//! they return; nothing here touches a database, a clock or the network.
//!
//! `input.rs` turns orders into each customer's purchase history in the run's reporting
//! currency, with the treatment of awkward input written down once (see its docs): every
//! metric starts from those histories. `scores.rs` is the quintile rule RFM scores by, `rfm.rs`
//! the RFM values, scores and named segments, `abc.rs` the Pareto classes by revenue,
//! `clusters.rs` the k-means segments, `fpgrowth.rs` and `rules.rs` the frequent itemsets and
//! cross-sell rules of the orders' lines. Lifetime value: `hyp2f1.rs` (the hypergeometric
//! function), `mle.rs` (maximum likelihood), `bgnbd.rs` (purchase counts and P(alive)),
//! `gamma_gamma.rs` (spend and CLV), `churn.rs` (churn risk), `lifetime_value.rs` (all of them
//! over every customer). `run.rs` is one run of them all; `holdout.rs` validates BG/NBD on a
//! holdout period.

pub mod abc;
pub mod bgnbd;
pub mod churn;
pub mod clusters;
pub mod distribution;
pub mod fpgrowth;
pub mod gamma_gamma;
pub mod holdout;
pub mod hyp2f1;
pub mod input;
pub mod lifetime_value;
pub mod mle;
pub mod rfm;
pub mod rules;
pub mod run;
pub mod scores;
