//! Who may see and write which record. Decided when a document is written, and kept coarse
//! (see the design brief): a rep sees the customers of their territories (and what hangs off
//! them: contacts, opportunities, cases, orders, activities) and their own visits and tasks; a manager sees
//! their team's; an admin sees everything. The product catalog is organisation-wide: everyone
//! sees it, only admins write it. Pure functions: every storage backend applies the same.

use fieldcrm_core::{AnyRecord, Kind};

use crate::model::{Role, User};

/// The signed-in user with what their visibility depends on, read from the database on every
/// request (the token proves identity only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub role: Role,
    pub team_id: Option<String>,
    /// Ids of the territories the user works in.
    pub territories: Vec<String>,
}

impl Principal {
    pub fn new(user: &User, territories: Vec<String>) -> Self {
        Principal {
            user_id: user.id.clone(),
            role: user.role,
            team_id: user.team_id.clone(),
            territories,
        }
    }
}

/// Where a document sits. Customer-bound records carry their customer's territory; visits and
/// tasks their owner (rep, assignee); `team_id` is the territory's or the owner's team.
/// Organisation-wide records (products) carry none of those, only `org_wide`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    pub territory_id: Option<String>,
    pub owner_id: Option<String>,
    pub team_id: Option<String>,
    /// Seen by every user of the organisation; written only by admins ([`may_write`]).
    pub org_wide: bool,
}

impl Scope {
    /// The scope of an organisation-wide record.
    pub fn org_wide() -> Scope {
        Scope {
            org_wide: true,
            ..Scope::default()
        }
    }
}

/// What a principal sees, by role: the visibility rule, written once. Every sight includes the
/// organisation-wide records (a manager's scope is their team, but the catalog is everyone's). [`visible`] applies it
/// to a scope in memory; the storage renders the same value as SQL over its scope columns
/// (`storage/sqlite_sight.rs`, tested to agree with [`visible`]), so a pull page, the reps a
/// user may review and the overdue list never restate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight<'p> {
    /// An admin sees everything.
    Everything,
    /// A manager sees their team's records; a manager without a team (`None`) sees nothing.
    Team(Option<&'p str>),
    /// A rep sees the records they own and those of their territories.
    OwnAndTerritories {
        user_id: &'p str,
        territories: &'p [String],
    },
}

impl Principal {
    pub fn sight(&self) -> Sight<'_> {
        match self.role {
            Role::Admin => Sight::Everything,
            Role::Manager => Sight::Team(self.team_id.as_deref()),
            Role::Rep => Sight::OwnAndTerritories {
                user_id: &self.user_id,
                territories: &self.territories,
            },
        }
    }
}

impl Sight<'_> {
    /// Whether a record at `scope` is in sight.
    pub fn includes(&self, scope: &Scope) -> bool {
        if scope.org_wide {
            return true;
        }
        match *self {
            Sight::Everything => true,
            Sight::Team(team) => team.is_some() && scope.team_id.as_deref() == team,
            Sight::OwnAndTerritories {
                user_id,
                territories,
            } => {
                scope.owner_id.as_deref() == Some(user_id)
                    || scope
                        .territory_id
                        .as_ref()
                        .is_some_and(|t| territories.contains(t))
            }
        }
    }
}

pub fn visible(principal: &Principal, scope: &Scope) -> bool {
    principal.sight().includes(scope)
}

/// Whether `principal` may write a record whose scope goes from `before` (`None` at creation)
/// to `after`: they must see it on both sides, so nobody can move a record out of reach of
/// its owners or into someone else's territory. An organisation-wide record is written by
/// admins only (everyone sees it; a rep's or a manager's write is refused like any other
/// write out of scope).
pub fn may_write(principal: &Principal, before: Option<&Scope>, after: &Scope) -> bool {
    let org_wide = after.org_wide || before.is_some_and(|scope| scope.org_wide);
    if org_wide && principal.role != Role::Admin {
        return false;
    }
    before.is_none_or(|scope| visible(principal, scope)) && visible(principal, after)
}

/// Whether a record is seen by the whole organisation (the product catalog).
pub fn is_org_wide(record: &AnyRecord) -> bool {
    matches!(record, AnyRecord::Product(_))
}

/// The user a record is about, for records scoped by owner rather than by customer.
pub fn owner_of(record: &AnyRecord) -> Option<&str> {
    match record {
        AnyRecord::Visit(v) => Some(v.rep.as_str()),
        AnyRecord::Task(t) => Some(t.assignee.as_deref().unwrap_or(t.meta.created_by.as_str())),
        AnyRecord::Customer(_)
        | AnyRecord::Contact(_)
        | AnyRecord::Opportunity(_)
        | AnyRecord::Case(_)
        | AnyRecord::Product(_)
        | AnyRecord::Order(_)
        | AnyRecord::Activity(_) => None,
    }
}

/// The customer a record hangs off, for customer-scoped records (the customer itself included).
pub fn customer_of(record: &AnyRecord) -> Option<&str> {
    match record {
        AnyRecord::Customer(c) => Some(c.meta.id.as_str()),
        AnyRecord::Contact(c) => Some(c.customer_id.as_str()),
        AnyRecord::Opportunity(o) => Some(o.customer_id.as_str()),
        AnyRecord::Case(c) => Some(c.customer_id.as_str()),
        // A rep orders only for customers they may write: the order's scope is its customer's.
        AnyRecord::Order(o) => Some(o.customer_id.as_str()),
        // An activity is logged against a customer the writer may write, and scoped by it.
        AnyRecord::Activity(a) => Some(a.customer_id.as_str()),
        AnyRecord::Visit(_) | AnyRecord::Task(_) | AnyRecord::Product(_) => None,
    }
}

/// A document id a record carries, and the kinds it may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference<'r> {
    pub field: &'static str,
    pub id: &'r str,
    pub kinds: &'static [Kind],
}

/// Every document a record refers to by id, other than through its own scope (a contact's,
/// opportunity's or case's customer gives them their scope, and an assignee or a visit's rep
/// their owner: those are checked as the scope is). A push may add or change a reference only
/// to a document the writer may see.
pub fn references(record: &AnyRecord) -> Vec<Reference<'_>> {
    match record {
        AnyRecord::Visit(v) => vec![Reference {
            field: "customer_id",
            id: v.customer_id.as_str(),
            kinds: &[Kind::Customer],
        }],
        AnyRecord::Task(t) => t
            .linked_id
            .as_deref()
            .map(|id| Reference {
                field: "linked_id",
                id,
                kinds: &[
                    Kind::Customer,
                    Kind::Contact,
                    Kind::Visit,
                    Kind::Opportunity,
                    Kind::Case,
                ],
            })
            .into_iter()
            .collect(),
        // The visit an order was taken at. Its lines' product ids are no reference: a product
        // the server does not know is kept and shown as unknown.
        AnyRecord::Order(o) => o
            .visit_id
            .as_deref()
            .map(|id| Reference {
                field: "visit_id",
                id,
                kinds: &[Kind::Visit],
            })
            .into_iter()
            .collect(),
        // The contact spoken to: in sight, and one of the activity's customer's contacts
        // (`of_own_customer`).
        AnyRecord::Activity(a) => a
            .contact_id
            .as_deref()
            .map(|id| Reference {
                field: "contact_id",
                id,
                kinds: &[Kind::Contact],
            })
            .into_iter()
            .collect(),
        AnyRecord::Customer(_)
        | AnyRecord::Contact(_)
        | AnyRecord::Opportunity(_)
        | AnyRecord::Case(_)
        | AnyRecord::Product(_) => Vec::new(),
    }
}

/// The references of [`references`] that must name a record of the record's own customer
/// ([`customer_of`]): an activity's contact. Checked on every write of the record, after the
/// references are found in sight, so the refusal tells the writer nothing they cannot see.
pub fn of_own_customer(record: &AnyRecord) -> Vec<Reference<'_>> {
    match record {
        AnyRecord::Activity(_) => references(record),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: "u1".into(),
            role,
            team_id: Some("team-a".into()),
            territories: vec!["north".into()],
        }
    }

    fn scope(territory: Option<&str>, owner: Option<&str>, team: &str) -> Scope {
        Scope {
            territory_id: territory.map(Into::into),
            owner_id: owner.map(Into::into),
            team_id: Some(team.into()),
            org_wide: false,
        }
    }

    #[test]
    fn everyone_sees_the_catalog_and_only_admins_write_it() {
        let catalog = Scope::org_wide();
        let no_team = Principal {
            team_id: None,
            territories: Vec::new(),
            ..principal(Role::Manager)
        };
        for who in [
            principal(Role::Rep),
            principal(Role::Manager),
            principal(Role::Admin),
            no_team,
        ] {
            assert!(visible(&who, &catalog), "{who:?}");
            assert_eq!(
                may_write(&who, Some(&catalog), &catalog),
                who.role == Role::Admin
            );
            assert_eq!(may_write(&who, None, &catalog), who.role == Role::Admin);
        }
    }

    #[test]
    fn reps_see_their_territories_and_their_own_records() {
        let rep = principal(Role::Rep);
        assert!(visible(&rep, &scope(Some("north"), None, "team-a")));
        assert!(!visible(&rep, &scope(Some("south"), None, "team-a")));
        assert!(visible(&rep, &scope(None, Some("u1"), "team-a")));
        assert!(!visible(&rep, &scope(None, Some("u2"), "team-a")));
    }

    #[test]
    fn managers_see_their_team_and_admins_everything() {
        let manager = principal(Role::Manager);
        assert!(visible(&manager, &scope(Some("south"), None, "team-a")));
        assert!(!visible(&manager, &scope(Some("north"), None, "team-b")));
        let no_team = Principal {
            team_id: None,
            ..principal(Role::Manager)
        };
        assert!(!visible(&no_team, &Scope::default()));
        assert!(visible(
            &principal(Role::Admin),
            &scope(None, Some("u9"), "team-z")
        ));
    }

    #[test]
    fn an_activity_is_scoped_by_its_customer_and_its_contact_must_be_the_customers() {
        use fieldcrm_core::{Activity, ActivityChannel};
        let mut call = Activity::new("c1", ActivityChannel::Call, 1_790_000_000_000, "Call");
        let record = AnyRecord::Activity(call.clone());
        assert_eq!(customer_of(&record), Some("c1"));
        assert_eq!(owner_of(&record), None);
        assert!(references(&record).is_empty());
        call.contact_id = Some("p1".into());
        let record = AnyRecord::Activity(call);
        let contact = Reference {
            field: "contact_id",
            id: "p1",
            kinds: &[Kind::Contact],
        };
        assert_eq!(references(&record), vec![contact.clone()]);
        assert_eq!(of_own_customer(&record), vec![contact]);
        let task = AnyRecord::Task(fieldcrm_core::Task {
            linked_id: Some("c1".into()),
            ..fieldcrm_core::Task::new("Call back")
        });
        assert!(
            of_own_customer(&task).is_empty(),
            "only an activity's contact"
        );
    }

    #[test]
    fn writes_need_the_scope_before_and_after() {
        let rep = principal(Role::Rep);
        let north = scope(Some("north"), None, "team-a");
        let south = scope(Some("south"), None, "team-a");
        assert!(may_write(&rep, None, &north));
        assert!(may_write(&rep, Some(&north), &north));
        assert!(
            !may_write(&rep, Some(&north), &south),
            "cannot move a customer away"
        );
        assert!(!may_write(&rep, Some(&south), &north), "cannot pull one in");
    }
}
