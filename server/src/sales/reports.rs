//! The reports' shapes and how they are assembled from the rows the storage reads: the
//! pipeline per stage, currency and rep; the forecast per month; the funnel with conversion and
//! median time per stage; the win rate per rep.

use std::collections::BTreeMap;

use fieldcrm_core::{Millis, Stage};
use serde::Serialize;

use super::Period;
use super::deal::{FUNNEL, funnel_rank};

/// A sum read as SQLite's `total()` (a float), as whole minor units: exact to 2^53, held
/// within `i64` beyond.
pub fn minor_units(total: f64) -> i64 {
    // `as` saturates, and NaN becomes 0.
    total.round() as i64
}

/// Open deals of one stage in one currency (for one rep, or all in sight), as read.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineRow {
    pub stage: String,
    pub currency: String,
    pub rep_id: String,
    pub username: Option<String>,
    pub count: u64,
    pub amount_minor: i64,
    pub weighted_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StageSums {
    pub stage: String,
    pub currency: String,
    pub count: u64,
    pub amount_minor: i64,
    pub weighted_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CurrencySums {
    pub currency: String,
    pub count: u64,
    pub amount_minor: i64,
    pub weighted_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RepPipeline {
    pub rep_id: String,
    /// `None` when the deal's rep is no longer a user.
    pub username: Option<String>,
    pub stages: Vec<StageSums>,
    pub totals: Vec<CurrencySums>,
}

/// `GET /v1/pipeline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PipelineReport {
    /// Per stage (funnel order) and currency, every rep in sight together.
    pub stages: Vec<StageSums>,
    /// Per currency.
    pub totals: Vec<CurrencySums>,
    /// The same per rep, by username.
    pub reps: Vec<RepPipeline>,
}

fn stage_order(stage: &str) -> (u8, String) {
    (
        funnel_rank(&Stage::parse(stage)).unwrap_or(u8::MAX),
        stage.to_owned(),
    )
}

/// Deals, amount and weighted amount summed.
type Sums = (u64, i64, i64);

fn add(into: &mut Sums, row: &PipelineRow) {
    into.0 = into.0.saturating_add(row.count);
    into.1 = into.1.saturating_add(row.amount_minor);
    into.2 = into.2.saturating_add(row.weighted_minor);
}

fn stage_sums(rows: &[&PipelineRow]) -> (Vec<StageSums>, Vec<CurrencySums>) {
    // Keyed by (stage in funnel order, currency).
    let mut stages: BTreeMap<((u8, String), String), Sums> = BTreeMap::new();
    let mut totals: BTreeMap<String, Sums> = BTreeMap::new();
    for row in rows {
        add(
            stages
                .entry((stage_order(&row.stage), row.currency.clone()))
                .or_default(),
            row,
        );
        add(totals.entry(row.currency.clone()).or_default(), row);
    }
    (
        stages
            .into_iter()
            .map(
                |(((_, stage), currency), (count, amount, weighted))| StageSums {
                    stage,
                    currency,
                    count,
                    amount_minor: amount,
                    weighted_minor: weighted,
                },
            )
            .collect(),
        totals
            .into_iter()
            .map(|(currency, (count, amount, weighted))| CurrencySums {
                currency,
                count,
                amount_minor: amount,
                weighted_minor: weighted,
            })
            .collect(),
    )
}

pub fn pipeline(rows: &[PipelineRow]) -> PipelineReport {
    let all: Vec<&PipelineRow> = rows.iter().collect();
    let (stages, totals) = stage_sums(&all);
    let mut per_rep: BTreeMap<(Option<String>, String), Vec<&PipelineRow>> = BTreeMap::new();
    for row in rows {
        per_rep
            .entry((row.username.clone(), row.rep_id.clone()))
            .or_default()
            .push(row);
    }
    let reps = per_rep
        .into_iter()
        .map(|((username, rep_id), rows)| {
            let (stages, totals) = stage_sums(&rows);
            RepPipeline {
                rep_id,
                username,
                stages,
                totals,
            }
        })
        .collect();
    PipelineReport {
        stages,
        totals,
        reps,
    }
}

/// Deals of one month and currency, as read: open ones by expected close, won ones by close.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthRow {
    pub month: String,
    pub currency: String,
    pub count: u64,
    pub amount_minor: i64,
    pub weighted_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ForecastMonth {
    pub month: String,
    pub currency: String,
    /// Open deals expected to close this month.
    pub open_count: u64,
    pub open_amount_minor: i64,
    pub weighted_minor: i64,
    /// Deals won this month.
    pub won_count: u64,
    pub won_minor: i64,
}

/// `GET /v1/pipeline/forecast`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ForecastReport {
    pub from: Period,
    pub months: u32,
    /// Every month of the range for every currency that has a deal in it, months in order.
    pub rows: Vec<ForecastMonth>,
}

pub fn forecast(from: Period, months: u32, open: &[MonthRow], won: &[MonthRow]) -> ForecastReport {
    let keys: Vec<String> = (0..months)
        .map(|i| from.add_months(i).to_string())
        .collect();
    let currencies: std::collections::BTreeSet<&str> = open
        .iter()
        .chain(won)
        .filter(|r| keys.contains(&r.month))
        .map(|r| r.currency.as_str())
        .collect();
    let mut rows = Vec::new();
    for currency in currencies {
        for month in &keys {
            let find = |rows: &[MonthRow]| {
                rows.iter()
                    .filter(|r| r.month == *month && r.currency == currency)
                    .fold((0u64, 0i64, 0i64), |(c, a, w), r| {
                        (
                            c.saturating_add(r.count),
                            a.saturating_add(r.amount_minor),
                            w.saturating_add(r.weighted_minor),
                        )
                    })
            };
            let (open_count, open_amount, weighted) = find(open);
            let (won_count, won_amount, _) = find(won);
            rows.push(ForecastMonth {
                month: month.clone(),
                currency: currency.to_owned(),
                open_count,
                open_amount_minor: open_amount,
                weighted_minor: weighted,
                won_count,
                won_minor: won_amount,
            });
        }
    }
    rows.sort_by(|a, b| (&a.month, &a.currency).cmp(&(&b.month, &b.currency)));
    ForecastReport { from, months, rows }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FunnelStage {
    pub stage: String,
    /// Deals of the cohort that reached this stage or a later one.
    pub reached: u64,
    /// Of those, the share that reached the next stage (`None` for the last stage, or when
    /// none reached this one).
    pub conversion_to_next: Option<f64>,
    /// Median time a deal stayed in this stage before moving on (`None` without a finished
    /// stay), and how many finished stays it is the median of.
    pub median_ms_in_stage: Option<Millis>,
    pub stays: u64,
}

/// `GET /v1/pipeline/funnel`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FunnelReport {
    pub period: Period,
    /// The cohort: deals in sight that entered the funnel (were created) in the period.
    pub deals: u64,
    pub stages: Vec<FunnelStage>,
    /// More finished stays than the server reads for the medians: they are medians of the
    /// first ones read.
    pub sampled: bool,
}

/// `reached_counts`: per furthest rank reached, how many deals. `stays`: finished stays
/// (stage, duration).
pub fn funnel(
    period: Period,
    furthest: &[(u8, u64)],
    stays: &[(String, Millis)],
    sampled: bool,
) -> FunnelReport {
    let deals = furthest.iter().map(|(_, n)| n).sum();
    let reached = |rank: usize| -> u64 {
        furthest
            .iter()
            .filter(|(r, _)| usize::from(*r) >= rank)
            .map(|(_, n)| n)
            .sum()
    };
    let stages = FUNNEL
        .iter()
        .enumerate()
        .map(|(rank, stage)| {
            let here = reached(rank);
            let conversion_to_next = (rank + 1 < FUNNEL.len() && here > 0)
                .then(|| reached(rank + 1) as f64 / here as f64);
            let mut durations: Vec<Millis> = stays
                .iter()
                .filter(|(s, _)| s == stage.as_str())
                .map(|(_, d)| *d)
                .collect();
            FunnelStage {
                stage: stage.as_str().to_owned(),
                reached: here,
                conversion_to_next,
                stays: durations.len() as u64,
                median_ms_in_stage: median(&mut durations),
            }
        })
        .collect();
    FunnelReport {
        period,
        deals,
        stages,
        sampled,
    }
}

/// The median (the mean of the two middle values for an even count, rounded down).
pub fn median(values: &mut [Millis]) -> Option<Millis> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        let (a, b) = (i128::from(values[mid - 1]), i128::from(values[mid]));
        i64::try_from((a + b).div_euclid(2)).unwrap_or(values[mid])
    })
}

/// Deals one rep closed in a period, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepClosed {
    pub rep_id: String,
    pub username: Option<String>,
    pub won: u64,
    pub lost: u64,
}

/// Deals one rep won and lost.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RepWinRate {
    pub rep_id: String,
    pub username: Option<String>,
    pub won: u64,
    pub lost: u64,
    /// won / (won + lost); `None` when the rep closed nothing.
    pub win_rate: Option<f64>,
}

/// `GET /v1/pipeline/win-rate`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WinRateReport {
    pub period: Period,
    pub won: u64,
    pub lost: u64,
    pub win_rate: Option<f64>,
    pub reps: Vec<RepWinRate>,
}

pub fn win_rate(won: u64, lost: u64) -> Option<f64> {
    let closed = won.saturating_add(lost);
    (closed > 0).then(|| won as f64 / closed as f64)
}

pub fn win_rates(period: Period, rows: Vec<RepClosed>) -> WinRateReport {
    let (won, lost) = rows.iter().fold((0u64, 0u64), |(w, l), r| {
        (w.saturating_add(r.won), l.saturating_add(r.lost))
    });
    let mut reps: Vec<RepWinRate> = rows
        .into_iter()
        .map(|r| RepWinRate {
            win_rate: win_rate(r.won, r.lost),
            rep_id: r.rep_id,
            username: r.username,
            won: r.won,
            lost: r.lost,
        })
        .collect();
    reps.sort_by(|a, b| (&a.username, &a.rep_id).cmp(&(&b.username, &b.rep_id)));
    WinRateReport {
        period,
        won,
        lost,
        win_rate: win_rate(won, lost),
        reps,
    }
}

/// An open deal at or over the big-deal amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BigDeal {
    pub opportunity_id: String,
    pub title: String,
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub rep_id: String,
    pub username: Option<String>,
    pub stage: String,
    pub amount_minor: i64,
    pub currency: String,
    pub weight_percent: u8,
    pub weighted_minor: i64,
    pub expected_close_at: Option<Millis>,
}

/// `GET /v1/pipeline/big-deals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BigDealsReport {
    pub min_amount_minor: i64,
    pub currency: Option<String>,
    pub limit: u32,
    /// Largest first.
    pub deals: Vec<BigDeal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(stage: &str, currency: &str, rep: &str, count: u64, amount: i64) -> PipelineRow {
        PipelineRow {
            stage: stage.into(),
            currency: currency.into(),
            rep_id: rep.into(),
            username: Some(rep.to_uppercase()),
            count,
            amount_minor: amount,
            weighted_minor: amount / 2,
        }
    }

    #[test]
    fn the_pipeline_sums_per_stage_in_funnel_order_per_currency_and_per_rep() {
        let report = pipeline(&[
            row("proposal", "EUR", "ana", 2, 1_000),
            row("lead", "EUR", "bo", 1, 300),
            row("proposal", "EUR", "bo", 1, 500),
            row("lead", "USD", "ana", 3, 900),
        ]);
        let stages: Vec<(&str, &str, u64, i64)> = report
            .stages
            .iter()
            .map(|s| {
                (
                    s.stage.as_str(),
                    s.currency.as_str(),
                    s.count,
                    s.amount_minor,
                )
            })
            .collect();
        assert_eq!(
            stages,
            [
                ("lead", "EUR", 1, 300),
                ("lead", "USD", 3, 900),
                ("proposal", "EUR", 3, 1_500)
            ]
        );
        assert_eq!(report.totals[0].weighted_minor, 150 + 250 + 500);
        assert_eq!(report.reps.len(), 2);
        assert_eq!(report.reps[0].username.as_deref(), Some("ANA"));
        assert_eq!(report.reps[1].totals[0].amount_minor, 800);
    }

    #[test]
    fn sums_never_overflow() {
        let report = pipeline(&[
            row("lead", "EUR", "ana", 1, i64::MAX),
            row("lead", "EUR", "bo", 1, i64::MAX),
        ]);
        assert_eq!(report.totals[0].amount_minor, i64::MAX);
        assert_eq!(minor_units(1e300), i64::MAX);
        assert_eq!(minor_units(f64::NAN), 0);
        assert_eq!(minor_units(12_345.0), 12_345);
    }

    #[test]
    fn the_forecast_fills_every_month_of_the_range_per_currency() {
        let from = Period::parse("2026-11").unwrap();
        let month = |m: &str, c: &str, n: u64, a: i64| MonthRow {
            month: m.into(),
            currency: c.into(),
            count: n,
            amount_minor: a,
            weighted_minor: a / 4,
        };
        let report = forecast(
            from,
            3,
            &[
                month("2026-12", "EUR", 2, 4_000),
                month("2027-05", "USD", 1, 10),
            ],
            &[month("2026-11", "EUR", 1, 700)],
        );
        let rows: Vec<(&str, &str, i64, i64)> = report
            .rows
            .iter()
            .map(|r| {
                (
                    r.month.as_str(),
                    r.currency.as_str(),
                    r.weighted_minor,
                    r.won_minor,
                )
            })
            .collect();
        // USD's only deal lies outside the range.
        assert_eq!(
            rows,
            [
                ("2026-11", "EUR", 0, 700),
                ("2026-12", "EUR", 1_000, 0),
                ("2027-01", "EUR", 0, 0)
            ]
        );
    }

    #[test]
    fn the_funnel_converts_between_consecutive_stages_with_median_stays() {
        // 10 deals: 4 stayed leads, 3 reached qualified, 2 proposal, 1 won.
        let report = funnel(
            Period::parse("2026-Q4").unwrap(),
            &[(0, 4), (1, 3), (2, 2), (4, 1)],
            &[
                ("lead".into(), 10),
                ("lead".into(), 30),
                ("lead".into(), 20),
                ("qualified".into(), 5),
                ("qualified".into(), 7),
            ],
            false,
        );
        assert_eq!(report.deals, 10);
        let reached: Vec<u64> = report.stages.iter().map(|s| s.reached).collect();
        assert_eq!(reached, [10, 6, 3, 1, 1]);
        assert_eq!(report.stages[0].conversion_to_next, Some(0.6));
        assert_eq!(report.stages[1].conversion_to_next, Some(0.5));
        assert_eq!(report.stages[3].conversion_to_next, Some(1.0));
        assert_eq!(report.stages[4].conversion_to_next, None);
        assert_eq!(report.stages[0].median_ms_in_stage, Some(20));
        assert_eq!(report.stages[1].median_ms_in_stage, Some(6));
        assert_eq!(report.stages[2].median_ms_in_stage, None);
        let empty = funnel(Period::parse("2026").unwrap(), &[], &[], false);
        assert!(empty.stages.iter().all(|s| s.conversion_to_next.is_none()));
    }

    #[test]
    fn win_rate_is_won_over_closed() {
        let report = win_rates(
            Period::parse("2026-11").unwrap(),
            vec![
                RepClosed {
                    rep_id: "b".into(),
                    username: Some("bo".into()),
                    won: 0,
                    lost: 0,
                },
                RepClosed {
                    rep_id: "a".into(),
                    username: Some("ana".into()),
                    won: 3,
                    lost: 1,
                },
            ],
        );
        assert_eq!(
            (report.won, report.lost, report.win_rate),
            (3, 1, Some(0.75))
        );
        assert_eq!(report.reps[0].username.as_deref(), Some("ana"));
        assert_eq!(report.reps[1].win_rate, None);
    }
}
