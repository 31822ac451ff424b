//! Campaigns in storage (migration 0018): drafts, their frozen targets with each treated
//! target's action, the facts their filter reads, and each target's outcome in the period:
//! the [`CampaignStorage`] supertrait of [`super::Storage`].

use fieldcrm_core::Millis;

use super::Result;
use crate::campaigns::Campaign;
use crate::campaigns::filter::{Candidate, SegmentFilter};
use crate::campaigns::results::TargetOutcome;
use crate::scope::Principal;

/// Campaigns one list returns at most.
pub const MAX_CAMPAIGNS_LISTED: u32 = 500;
/// Targets one read returns at most.
pub const MAX_TARGETS_PAGE: u32 = 1_000;

/// A target as frozen at the start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignTargetWrite {
    pub customer_id: String,
    pub owner_id: Option<String>,
    pub control: bool,
}

/// A treated target's customer id and its action: the document written, or why none was.
pub type ActionOutcome = (String, std::result::Result<String, String>);

/// A frozen target with its action and what it did in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignTargetRow {
    pub customer_id: String,
    pub customer_name: Option<String>,
    pub owner_id: Option<String>,
    pub action_doc_id: Option<String>,
    pub action_error: Option<String>,
    pub outcome: TargetOutcome,
}

pub trait CampaignStorage {
    fn create_campaign(&self, campaign: &Campaign) -> Result<()>;
    /// A campaign by id, whoever may see it (the caller decides).
    fn campaign(&self, id: &str) -> Result<Option<Campaign>>;
    /// The campaigns of `team_id` (`None`: every campaign, for an admin), newest first.
    fn campaigns(&self, team_id: Option<&str>, limit: u32) -> Result<Vec<Campaign>>;
    /// Every customer in `viewer`'s sight (not deleted, by id) with what `filter` reads of it
    /// (the results of analytics run `run_id`), and its owner.
    fn campaign_candidates(
        &self,
        viewer: &Principal,
        filter: &SegmentFilter,
        run_id: Option<i64>,
    ) -> Result<Vec<(Candidate, Option<String>)>>;
    /// Freezes the targets and marks the campaign started, in one transaction, if it is
    /// still a draft; `false` (and nothing written) if it is not.
    fn freeze_campaign_targets(
        &self,
        campaign_id: &str,
        targets: &[CampaignTargetWrite],
        run_id: Option<i64>,
        now: Millis,
    ) -> Result<bool>;
    /// Records each treated target's action: the document written, or why none was.
    fn record_campaign_actions(&self, campaign_id: &str, actions: &[ActionOutcome]) -> Result<()>;
    /// The frozen targets by customer id after `after`, at most `limit`, each with its
    /// outcome in the campaign's period.
    fn campaign_targets(
        &self,
        campaign: &Campaign,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CampaignTargetRow>>;
}
