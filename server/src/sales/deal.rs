//! What a deal's fields and stage history say for the reports: its funnel rank (the weight is
//! core's `weight_percent`), when it entered the funnel and closed, how long it stayed in
//! each stage.

use fieldcrm_core::{Millis, Opportunity, Stage, StageChange};

/// The funnel's stages in order; a lost deal reached the furthest of these it passed through.
pub const FUNNEL: [Stage; 5] = [
    Stage::Lead,
    Stage::Qualified,
    Stage::Proposal,
    Stage::Negotiation,
    Stage::Won,
];

/// A stage's place in [`FUNNEL`]; `None` for lost (and for a stage this code does not know,
/// which the server refuses anyway).
pub fn funnel_rank(stage: &Stage) -> Option<u8> {
    FUNNEL.iter().position(|s| s == stage).map(|p| p as u8)
}

/// A stay in one stage: from one history entry to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    pub stage: Stage,
    pub at: Millis,
    pub by: String,
    /// Until the next change (never negative); `None` for the stage the deal is in.
    pub duration_ms: Option<Millis>,
}

/// A deal's stage history read for the reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// The history in time order (entries merged from two devices may arrive interleaved).
    pub stays: Vec<Stay>,
    /// When the deal entered the funnel: its first stage change, else its creation.
    pub entered_at: Millis,
    /// The furthest funnel stage it reached ([`funnel_rank`]), 0 when none.
    pub furthest_rank: u8,
    /// When it was won or lost: the last change into its current closed stage (its last
    /// update when the history does not say); `None` while open.
    pub closed_at: Option<Millis>,
}

pub fn history(deal: &Opportunity) -> History {
    let mut entries: Vec<&StageChange> = deal.stage_history.iter().collect();
    entries.sort_by_key(|c| c.at);
    let stays: Vec<Stay> = entries
        .iter()
        .enumerate()
        .map(|(i, c)| Stay {
            stage: c.stage.clone(),
            at: c.at,
            by: c.by.clone(),
            duration_ms: entries
                .get(i + 1)
                .map(|next| next.at.saturating_sub(c.at).max(0)),
        })
        .collect();
    let furthest_rank = entries
        .iter()
        .map(|c| &c.stage)
        .chain(std::iter::once(&deal.stage))
        .filter_map(funnel_rank)
        .max()
        .unwrap_or(0);
    let closed_at = deal.stage.is_closed().then(|| {
        entries
            .iter()
            .rev()
            .find(|c| c.stage == deal.stage)
            .map_or(deal.meta.updated_at, |c| c.at)
    });
    History {
        entered_at: entries.first().map_or(deal.meta.created_at, |c| c.at),
        stays,
        furthest_rank,
        closed_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcrm_core::Money;

    fn deal(stage: Stage, history: &[(Stage, Millis)]) -> Opportunity {
        let mut o = Opportunity::new(
            "c1",
            "Deal",
            Money {
                minor: 1_000,
                currency: "EUR".into(),
            },
        );
        o.meta.created_at = 5;
        o.meta.updated_at = 99;
        o.stage = stage;
        o.stage_history = history
            .iter()
            .map(|(stage, at)| StageChange {
                stage: stage.clone(),
                at: *at,
                by: "ana".into(),
            })
            .collect();
        o
    }

    #[test]
    fn a_history_out_of_order_is_read_in_time_order() {
        let h = history(&deal(
            Stage::Won,
            &[
                (Stage::Proposal, 300),
                (Stage::Lead, 100),
                (Stage::Won, 700),
                (Stage::Qualified, 200),
            ],
        ));
        assert_eq!(h.entered_at, 100);
        assert_eq!(h.furthest_rank, 4);
        assert_eq!(h.closed_at, Some(700));
        let stays: Vec<(&str, Option<Millis>)> = h
            .stays
            .iter()
            .map(|s| (s.stage.as_str(), s.duration_ms))
            .collect();
        assert_eq!(
            stays,
            [
                ("lead", Some(100)),
                ("qualified", Some(100)),
                ("proposal", Some(400)),
                ("won", None)
            ]
        );
    }

    #[test]
    fn a_lost_deal_reached_the_furthest_stage_it_passed_and_closed_when_lost() {
        let h = history(&deal(
            Stage::Lost,
            &[
                (Stage::Lead, 10),
                (Stage::Negotiation, 20),
                (Stage::Lost, 30),
            ],
        ));
        assert_eq!((h.furthest_rank, h.closed_at), (3, Some(30)));
        // No history (a document from before the history existed): creation and last update.
        let h = history(&deal(Stage::Lost, &[]));
        assert_eq!(
            (h.entered_at, h.furthest_rank, h.closed_at),
            (5, 0, Some(99))
        );
        let h = history(&deal(Stage::Proposal, &[(Stage::Lead, 10)]));
        assert_eq!((h.furthest_rank, h.closed_at), (2, None));
    }
}
