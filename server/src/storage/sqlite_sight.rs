//! A principal's [`Sight`] as SQL: the visibility rule of `scope.rs` rendered over the scope
//! columns of a query's rows, with the named parameters it binds. A pull page, lost sight after
//! a scope change, the reps a user may review and the overdue list all filter through it, and
//! a test proves it agrees with [`crate::scope::visible`] row for row.

use rusqlite::ToSql;

use crate::scope::Sight;

/// Where a query's rows keep their scope: an SQL column (or expression) for each part, `None`
/// where the rows have none, which then reads as NULL (a user, for instance, has an id and a
/// team but no territory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ScopeColumns<'a> {
    pub territory: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub team: Option<&'a str>,
    /// Whether the row is organisation-wide (an integer, 1 for yes); `None`: never.
    pub org_wide: Option<&'a str>,
}

impl ScopeColumns<'static> {
    /// The `documents` table's columns.
    pub(super) const DOCUMENTS: Self = ScopeColumns {
        territory: Some("territory_id"),
        owner: Some("owner_id"),
        team: Some("team_id"),
        org_wide: Some("org_wide"),
    };
    /// The `documents` table's columns through the alias `d`.
    pub(super) const DOCUMENTS_AS_D: Self = ScopeColumns {
        territory: Some("d.territory_id"),
        owner: Some("d.owner_id"),
        team: Some("d.team_id"),
        org_wide: Some("d.org_wide"),
    };
}

/// A sight in SQL.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SightSql {
    /// Conditions any one of which puts a row in sight, each one indexable alone: a query may
    /// read one index per alternative and unite the results. Empty: nothing is in sight.
    alternatives: Vec<String>,
    /// The named parameters the alternatives use, with their values.
    params: Vec<(&'static str, Option<String>)>,
}

impl SightSql {
    pub(super) fn new(sight: Sight<'_>, columns: ScopeColumns<'_>) -> SightSql {
        let mut alternatives = Vec::new();
        let mut params = Vec::new();
        let org_wide = columns.org_wide.map(|column| format!("{column} = 1"));
        match sight {
            Sight::Everything => alternatives.push("TRUE".to_owned()),
            Sight::Team(team) => {
                // `= NULL` is never true: a manager without a team sees nothing.
                if let Some(column) = columns.team {
                    alternatives.push(format!("{column} = :sight_team"));
                    params.push((":sight_team", team.map(str::to_owned)));
                }
            }
            Sight::OwnAndTerritories {
                user_id,
                territories,
            } => {
                if let Some(column) = columns.owner {
                    alternatives.push(format!("{column} = :sight_user"));
                    params.push((":sight_user", Some(user_id.to_owned())));
                }
                if let Some(column) = columns.territory {
                    alternatives.push(format!(
                        "{column} IN (SELECT value FROM json_each(:sight_territories))"
                    ));
                    let list = serde_json::Value::from(territories.to_vec()).to_string();
                    params.push((":sight_territories", Some(list)));
                }
            }
        }
        // Every sight includes what the whole organisation sees (`Sight::includes`).
        if sight != Sight::Everything {
            alternatives.extend(org_wide);
        }
        SightSql {
            alternatives,
            params,
        }
    }

    /// The alternatives; `FALSE` alone when nothing is in sight.
    pub(super) fn alternatives(&self) -> Vec<&str> {
        if self.alternatives.is_empty() {
            return vec!["FALSE"];
        }
        self.alternatives.iter().map(String::as_str).collect()
    }

    /// The sight as one condition.
    pub(super) fn condition(&self) -> String {
        match self.alternatives().as_slice() {
            [one] => (*one).to_owned(),
            several => format!("({})", several.join(" OR ")),
        }
    }

    /// A query's own named parameters followed by the sight's.
    pub(super) fn params<'a>(
        &'a self,
        own: &[(&'a str, &'a dyn ToSql)],
    ) -> Vec<(&'a str, &'a dyn ToSql)> {
        let mut all = own.to_vec();
        all.extend(
            self.params
                .iter()
                .map(|(name, value)| (*name, value as &dyn ToSql)),
        );
        all
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::model::Role;
    use crate::scope::{Principal, Scope, visible};

    fn principals() -> Vec<Principal> {
        let principal = |role, team: Option<&str>, territories: &[&str]| Principal {
            user_id: "u1".into(),
            role,
            team_id: team.map(Into::into),
            territories: territories.iter().map(|t| (*t).to_owned()).collect(),
        };
        vec![
            principal(Role::Admin, None, &[]),
            principal(Role::Manager, Some("team-a"), &["north"]),
            principal(Role::Manager, None, &[]),
            principal(Role::Rep, Some("team-a"), &["north"]),
            principal(Role::Rep, Some("team-a"), &[]),
            principal(Role::Rep, None, &["north", "south"]),
        ]
    }

    /// Every combination of territory, owner and team, each part possibly absent.
    fn scopes() -> Vec<Scope> {
        let mut scopes = Vec::new();
        for territory in [None, Some("north"), Some("south")] {
            for owner in [None, Some("u1"), Some("u2")] {
                for team in [None, Some("team-a"), Some("team-b")] {
                    for org_wide in [false, true] {
                        scopes.push(Scope {
                            territory_id: territory.map(Into::into),
                            owner_id: owner.map(Into::into),
                            team_id: team.map(Into::into),
                            org_wide,
                        });
                    }
                }
            }
        }
        scopes
    }

    /// The SQL selects exactly the rows `visible` accepts, for every role, over the full scope
    /// columns and over rows that lack some of them (users, customer places).
    #[test]
    fn the_sql_agrees_with_visible_row_for_row() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE scoped (id INTEGER PRIMARY KEY, t TEXT, o TEXT, m TEXT, w INTEGER)",
        )
        .unwrap();
        let scopes = scopes();
        for (id, scope) in scopes.iter().enumerate() {
            conn.execute(
                "INSERT INTO scoped VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![
                    id as i64,
                    scope.territory_id,
                    scope.owner_id,
                    scope.team_id,
                    scope.org_wide
                ],
            )
            .unwrap();
        }
        let full = ScopeColumns {
            territory: Some("t"),
            owner: Some("o"),
            team: Some("m"),
            org_wide: Some("w"),
        };
        let column_sets = [
            full,
            ScopeColumns {
                territory: None,
                ..full
            },
            ScopeColumns {
                owner: None,
                ..full
            },
            ScopeColumns { team: None, ..full },
            ScopeColumns {
                org_wide: None,
                ..full
            },
        ];
        for principal in principals() {
            for columns in column_sets {
                let sight = SightSql::new(principal.sight(), columns);
                let sql = format!(
                    "SELECT id FROM scoped WHERE {} ORDER BY id",
                    sight.condition()
                );
                let selected: Vec<i64> = conn
                    .prepare(&sql)
                    .unwrap()
                    .query_map(sight.params(&[]).as_slice(), |row| row.get(0))
                    .unwrap()
                    .collect::<rusqlite::Result<_>>()
                    .unwrap();
                let expected: Vec<i64> = (0..scopes.len())
                    .filter(|&id| {
                        let scope = &scopes[id];
                        let seen_as = Scope {
                            territory_id: columns.territory.and(scope.territory_id.clone()),
                            owner_id: columns.owner.and(scope.owner_id.clone()),
                            team_id: columns.team.and(scope.team_id.clone()),
                            org_wide: columns.org_wide.is_some() && scope.org_wide,
                        };
                        visible(&principal, &seen_as)
                    })
                    .map(|id| id as i64)
                    .collect();
                assert_eq!(selected, expected, "{principal:?} over {columns:?}: {sql}");
            }
        }
    }

    #[test]
    fn each_alternative_stands_alone() {
        let rep = &principals()[3];
        let sight = SightSql::new(rep.sight(), ScopeColumns::DOCUMENTS_AS_D);
        assert_eq!(
            sight.alternatives(),
            [
                "d.owner_id = :sight_user",
                "d.territory_id IN (SELECT value FROM json_each(:sight_territories))",
                "d.org_wide = 1"
            ]
        );
        let nobody = SightSql::new(
            rep.sight(),
            ScopeColumns {
                territory: None,
                owner: None,
                team: Some("team_id"),
                org_wide: None,
            },
        );
        assert_eq!(nobody.condition(), "FALSE");
        assert!(nobody.params(&[]).is_empty());
    }
}
