//! Marketing campaigns aimed at customer segments.
//!
//! A manager (or an admin) sets a campaign up as a draft: a segment filter
//! ([`filter::SegmentFilter`]: RFM segment, ABC class, churn risk, territory, grade, last visit,
//! product bought or not), a period, a cost, and an action, a task or a planned visit with a
//! script, for each target's owner. Starting it ([`start`]) freezes the targets: the customers
//! in the starter's sight the filter matches then, with an optional random control group held
//! out ([`control`]). The tasks and visits are written as the starter's changes through the
//! same push every device uses ([`crate::server_device`]), so they reach the reps' devices like
//! any other record and every authority check applies. Results ([`results`]) are read from the
//! order and visit facts whenever they are asked for.

pub mod control;
pub mod filter;
pub mod results;

use fieldcrm_core::{DAY_MS, Millis, Task, Visit};
use serde::{Deserialize, Serialize};

use crate::model::{Role, User};
use crate::server_device::{DeviceError, ServerDevice};
use crate::storage::{ActionOutcome, CampaignTargetWrite, Storage, StorageError};
use filter::{Candidate, FilterError, SegmentFilter};

/// Targets a campaign may freeze: a filter matching more is refused (narrow it).
pub const MAX_CAMPAIGN_TARGETS: usize = 20_000;
/// The longest campaign period, in days.
pub const MAX_CAMPAIGN_DAYS: i64 = 366;
/// The longest name and script.
pub const MAX_CAMPAIGN_NAME: usize = 200;
pub const MAX_CAMPAIGN_SCRIPT: usize = 2_000;
/// The largest cost, in minor units (a trillion).
pub const MAX_CAMPAIGN_COST: i64 = 1_000_000_000_000;

/// What each treated target's owner is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    /// A task assigned to the owner, linked to the customer, due at the period's end.
    Task,
    /// A planned visit to the customer by the owner, at the period's start.
    Visit,
}

impl CampaignAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignAction::Task => "task",
            CampaignAction::Visit => "visit",
        }
    }

    pub fn parse(text: &str) -> Option<CampaignAction> {
        match text {
            "task" => Some(CampaignAction::Task),
            "visit" => Some(CampaignAction::Visit),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Started,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Started => "started",
        }
    }

    pub fn parse(text: &str) -> Option<CampaignStatus> {
        match text {
            "draft" => Some(CampaignStatus::Draft),
            "started" => Some(CampaignStatus::Started),
            _ => None,
        }
    }
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub created_by: String,
    /// The team it was made for (its manager's); `None` for an admin's.
    pub team_id: Option<String>,
    pub created_at: Millis,
    pub filter: SegmentFilter,
    /// The period, unix ms, the end exclusive.
    pub starts_at: Millis,
    pub ends_at: Millis,
    pub cost_minor: i64,
    pub currency: String,
    pub action: CampaignAction,
    pub script: String,
    /// Percent of the targets held out, 0 to [`control::MAX_CONTROL_PCT`].
    pub control_pct: u8,
    #[serde(skip)]
    pub seed: u64,
    pub status: CampaignStatus,
    pub started_at: Option<Millis>,
    pub analytics_run_id: Option<i64>,
}

/// A campaign as its creator describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignDraft {
    pub name: String,
    pub filter: SegmentFilter,
    /// Days since 1970-01-01 (UTC), both included.
    pub first_day: i64,
    pub last_day: i64,
    pub cost_minor: i64,
    pub currency: String,
    pub action: CampaignAction,
    pub script: String,
    pub control_pct: u8,
}

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// Managers and admins run campaigns.
    #[error("campaigns are run by managers and admins")]
    NotAllowed,
    #[error("no such campaign")]
    Unknown,
    #[error("the campaign has started already")]
    AlreadyStarted,
    #[error("the filter names analytics results, and no analytics run has succeeded yet")]
    NoAnalytics,
    #[error("the filter matches {0} customers; at most {MAX_CAMPAIGN_TARGETS} may be targeted")]
    TooManyTargets(usize),
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Whether `user` may set up and start campaigns.
pub fn may_run_campaigns(user: &User) -> bool {
    matches!(user.role, Role::Admin | Role::Manager)
}

/// Whether `user` sees `campaign`: an admin every one, a manager their team's.
pub fn sees(user: &User, campaign: &Campaign) -> bool {
    match user.role {
        Role::Admin => true,
        Role::Manager => user.team_id.is_some() && user.team_id == campaign.team_id,
        Role::Rep => false,
    }
}

impl CampaignDraft {
    /// The campaign this draft describes, made by `user` now.
    pub fn into_campaign(
        self,
        user: &User,
        id: String,
        seed: u64,
        now: Millis,
    ) -> Result<Campaign, CampaignError> {
        let invalid = |text: &str| Err(CampaignError::Invalid(text.to_owned()));
        if !may_run_campaigns(user) {
            return Err(CampaignError::NotAllowed);
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_CAMPAIGN_NAME {
            return invalid("name: 1 to 200 characters");
        }
        if self.script.chars().count() > MAX_CAMPAIGN_SCRIPT {
            return invalid("script: at most 2,000 characters");
        }
        if self.last_day < self.first_day {
            return invalid("the period ends before it starts");
        }
        if self.last_day - self.first_day + 1 > MAX_CAMPAIGN_DAYS {
            return invalid("the period is at most 366 days");
        }
        if !(0..=MAX_CAMPAIGN_COST).contains(&self.cost_minor) {
            return invalid("cost_minor: 0 to 1,000,000,000,000");
        }
        if self.control_pct > control::MAX_CONTROL_PCT {
            return invalid("control_pct: 0 to 50");
        }
        self.filter.validate()?;
        Ok(Campaign {
            id,
            name: name.to_owned(),
            created_by: user.id.clone(),
            team_id: match user.role {
                Role::Admin => None,
                _ => user.team_id.clone(),
            },
            created_at: now,
            filter: self.filter,
            starts_at: self.first_day * DAY_MS,
            ends_at: (self.last_day + 1) * DAY_MS,
            cost_minor: self.cost_minor,
            currency: self.currency,
            action: self.action,
            script: self.script,
            control_pct: self.control_pct,
            seed,
            status: CampaignStatus::Draft,
            started_at: None,
            analytics_run_id: None,
        })
    }
}

/// A customer the filter matched, with what the action needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    pub customer_id: String,
    pub owner_id: Option<String>,
}

/// The customers in `user`'s sight that `filter` matches now, by id; `run_id` is the
/// analytics run read (`None` before any).
pub fn matching(
    storage: &dyn Storage,
    user: &User,
    filter: &SegmentFilter,
    now: Millis,
) -> Result<(Vec<Matched>, Option<i64>), CampaignError> {
    let run_id = storage.current_analytics_run()?.map(|run| run.id);
    if filter.needs_analytics() && run_id.is_none() {
        return Err(CampaignError::NoAnalytics);
    }
    let principal = storage.principal(user)?;
    let candidates = storage.campaign_candidates(&principal, filter, run_id)?;
    let matched = candidates
        .into_iter()
        .filter(|(candidate, _)| filter.matches(candidate, now))
        .map(
            |(candidate, owner_id): (Candidate, Option<String>)| Matched {
                customer_id: candidate.customer_id,
                owner_id,
            },
        )
        .collect();
    Ok((matched, run_id))
}

/// How a start went: the targets frozen and the actions written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StartReport {
    pub targets: usize,
    pub control: usize,
    pub actions_written: usize,
    pub actions_refused: usize,
}

/// Starts a draft campaign: freezes its targets (with the control group drawn) and writes the
/// treated targets' tasks or visits as `user`'s changes. A target without an owner, or whose
/// action the push refuses, keeps the reason instead of an action.
pub fn start(
    storage: &dyn Storage,
    user: &User,
    campaign_id: &str,
    now: Millis,
) -> Result<StartReport, CampaignError> {
    let campaign = storage
        .campaign(campaign_id)?
        .filter(|c| sees(user, c))
        .ok_or(CampaignError::Unknown)?;
    if campaign.status != CampaignStatus::Draft {
        return Err(CampaignError::AlreadyStarted);
    }
    let (matched, run_id) = matching(storage, user, &campaign.filter, now)?;
    if matched.len() > MAX_CAMPAIGN_TARGETS {
        return Err(CampaignError::TooManyTargets(matched.len()));
    }
    let ids: Vec<String> = matched.iter().map(|m| m.customer_id.clone()).collect();
    let control = control::draw_control(&ids, campaign.control_pct, campaign.seed);
    let targets: Vec<CampaignTargetWrite> = matched
        .into_iter()
        .zip(control)
        .map(|(m, control)| CampaignTargetWrite {
            customer_id: m.customer_id,
            owner_id: m.owner_id,
            control,
        })
        .collect();
    if !storage.freeze_campaign_targets(&campaign.id, &targets, run_id, now)? {
        return Err(CampaignError::AlreadyStarted);
    }
    let mut report = StartReport {
        targets: targets.len(),
        control: targets.iter().filter(|t| t.control).count(),
        ..StartReport::default()
    };
    let outcomes = write_actions(storage, user, &campaign, &targets)?;
    for (_, outcome) in &outcomes {
        match outcome {
            Ok(_) => report.actions_written += 1,
            Err(_) => report.actions_refused += 1,
        }
    }
    storage.record_campaign_actions(&campaign.id, &outcomes)?;
    Ok(report)
}

/// The title of a campaign's task: its name and script, cut to a record name's length.
fn task_title(campaign: &Campaign) -> String {
    let text = if campaign.script.trim().is_empty() {
        format!("Campaign: {}", campaign.name)
    } else {
        format!("Campaign: {} — {}", campaign.name, campaign.script.trim())
    };
    text.chars().take(MAX_CAMPAIGN_NAME).collect()
}

/// Writes each treated target's action; per target, the document written or why none was.
fn write_actions(
    storage: &dyn Storage,
    user: &User,
    campaign: &Campaign,
    targets: &[CampaignTargetWrite],
) -> Result<Vec<ActionOutcome>, CampaignError> {
    let mut outcomes = Vec::new();
    let mut device = ServerDevice::open(storage, user)?;
    let mut written: Vec<(String, String)> = Vec::new();
    for target in targets.iter().filter(|t| !t.control) {
        let Some(owner) = target.owner_id.clone() else {
            outcomes.push((
                target.customer_id.clone(),
                Err("the customer has no owner".to_owned()),
            ));
            continue;
        };
        let created = match campaign.action {
            CampaignAction::Task => {
                let mut task = Task::new(task_title(campaign));
                task.assignee = Some(owner);
                task.linked_id = Some(target.customer_id.clone());
                task.due_at = Some(campaign.ends_at - 1);
                device.create(task).map(|t| t.meta.id)
            }
            CampaignAction::Visit => {
                let mut visit = Visit::new(target.customer_id.clone(), owner);
                visit.planned_start = Some(campaign.starts_at);
                visit.notes = format!("Campaign: {}\n{}", campaign.name, campaign.script)
                    .trim_end()
                    .to_owned();
                device.create(visit).map(|v| v.meta.id)
            }
        };
        match created {
            Ok(doc_id) => written.push((target.customer_id.clone(), doc_id)),
            Err(error) => outcomes.push((target.customer_id.clone(), Err(error.to_string()))),
        }
    }
    let refused = device.push_all()?.refused;
    device.close()?;
    for (customer_id, doc_id) in written {
        let outcome = match refused.get(&doc_id) {
            Some(reason) => Err(reason.clone()),
            None => Ok(doc_id),
        };
        outcomes.push((customer_id, outcome));
    }
    Ok(outcomes)
}
