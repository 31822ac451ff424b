//! Who may escalate a case: the server's own device, which runs as an admin. Core's authority
//! checks that an escalation comes once, with its time and history entry, by the pushing user
//! (`authority/invariants.rs`); the role is the server's to know.

use fieldcrm_core::AnyRecord;

use crate::model::Role;
use crate::scope::Principal;

/// Whether `principal` may push `merged` as far as escalation goes: a push that escalates a
/// case (sets its escalation time) is an admin's.
pub fn may_escalate(
    principal: &Principal,
    previous: Option<&AnyRecord>,
    merged: &AnyRecord,
) -> bool {
    let AnyRecord::Case(after) = merged else {
        return true;
    };
    let before = match previous {
        Some(AnyRecord::Case(before)) => before.escalated_at,
        _ => None,
    };
    before == after.escalated_at || principal.role == Role::Admin
}

#[cfg(test)]
mod tests {
    use fieldcrm_core::Case;

    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: "u1".into(),
            role,
            team_id: Some("t1".into()),
            territories: Vec::new(),
        }
    }

    #[test]
    fn only_an_admin_escalates() {
        let open = Case::new("c1", "Crushed crate");
        let mut escalated = open.clone();
        escalated.escalated_at = Some(1_790_000_000_000);
        let (before, after) = (AnyRecord::Case(open), AnyRecord::Case(escalated));
        for role in [Role::Rep, Role::Manager] {
            assert!(!may_escalate(&principal(role), Some(&before), &after));
            assert!(!may_escalate(&principal(role), None, &after));
            assert!(may_escalate(&principal(role), Some(&before), &before));
            // An edit of an escalated case keeps its escalation: anyone's.
            assert!(may_escalate(&principal(role), Some(&after), &after));
        }
        assert!(may_escalate(&principal(Role::Admin), Some(&before), &after));
    }
}
