//! The administrative tree.
//!
//! Organizations are stored with a materialized path (`/qinghai/haixi/golmud/`), so "the subtree
//! of X" is a prefix test both in SQL and here; a caller's jurisdiction is the subtree of its own
//! organization.

use super::{RuleViolation, Stamp};

/// Administrative level; the numbers are the proto's and are stored as such.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// 国家级.
    National = 1,
    /// 省级.
    Provincial = 2,
    /// 市/州级.
    Municipal = 3,
    /// 县/区级.
    County = 4,
    /// 乡镇/街道.
    Township = 5,
}

impl Level {
    /// From the stored/proto number.
    pub fn from_i32(value: i32) -> Option<Level> {
        Some(match value {
            1 => Level::National,
            2 => Level::Provincial,
            3 => Level::Municipal,
            4 => Level::County,
            5 => Level::Township,
            _ => return None,
        })
    }
}

/// Kind of organization; numbers as in the proto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrgKind {
    /// 人民政府.
    Government = 1,
    /// 政府部门.
    Department = 2,
    /// 内设机构.
    InternalBody = 3,
    /// 事业单位.
    PublicInstitution = 4,
}

impl OrgKind {
    /// From the stored/proto number.
    pub fn from_i32(value: i32) -> Option<OrgKind> {
        Some(match value {
            1 => OrgKind::Government,
            2 => OrgKind::Department,
            3 => OrgKind::InternalBody,
            4 => OrgKind::PublicInstitution,
            _ => return None,
        })
    }
}

/// A unit in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Id (`organizations/{id}`).
    pub id: String,
    /// Parent id; `None` for a root.
    pub parent: Option<String>,
    /// Materialized path, `/root/.../id/`.
    pub path: String,
    /// Official name.
    pub display_name: String,
    /// Level.
    pub level: Level,
    /// Kind.
    pub kind: OrgKind,
    /// 政务新媒体管理部门 of its government.
    pub management_department: bool,
    /// Must run at least one account.
    pub must_have_account: bool,
    /// `must_have_account` was set for the unit rather than derived from level and kind.
    pub must_have_account_overridden: bool,
    /// 主要负责人: the subject of the leader whose consent the unit's filings need.
    pub principal_leader: String,
    /// The deputy the principal leader designated, by subject.
    pub designated_deputy: String,
    /// 统一社会信用代码.
    pub credit_code: Option<String>,
    /// 行政区划代码.
    pub region_code: Option<String>,
    /// Nearest government ancestor-or-self.
    pub government: Option<String>,
    /// Creation.
    pub created: Stamp,
    /// Latest change.
    pub updated: Stamp,
    /// Optimistic-concurrency version, starting at 1.
    pub version: i64,
}

/// R-04 as a default: county-and-above governments and their departments must run at least one
/// account. Other units (townships, internal bodies, units close to citizens' lives) are named
/// one by one.
pub fn must_have_account_by_default(level: Level, kind: OrgKind) -> bool {
    let county_or_above = matches!(
        level,
        Level::National | Level::Provincial | Level::Municipal | Level::County
    );
    county_or_above && matches!(kind, OrgKind::Government | OrgKind::Department)
}

impl Organization {
    /// Sets R-04's duty: `Some` says it for this unit, `None` derives it from level and kind.
    pub fn set_must_have_account(&mut self, value: Option<bool>) {
        match value {
            Some(value) => {
                self.must_have_account = value;
                self.must_have_account_overridden = true;
            }
            None => {
                self.must_have_account = must_have_account_by_default(self.level, self.kind);
                self.must_have_account_overridden = false;
            }
        }
    }

    /// True when `path` is this organization or lies below it.
    pub fn contains_path(&self, path: &str) -> bool {
        path.starts_with(&self.path)
    }

    /// Ids of its ancestors, root first (read from the materialized path).
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        let mut ids: Vec<&str> = self.path.split('/').filter(|id| !id.is_empty()).collect();
        ids.pop(); // itself
        ids.into_iter()
    }
}

/// Longest materialized path stored (the column's size); deeper trees are refused.
pub const MAX_PATH_LEN: usize = 1000;

/// The materialized path of a child of `parent` (or of a root).
pub fn child_path(parent: Option<&Organization>, id: &str) -> String {
    format!("{}{id}/", parent.map_or("/", |p| p.path.as_str()))
}

/// The fields that decide where an organization may sit.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// Its level.
    pub level: Level,
    /// Its kind.
    pub kind: OrgKind,
}

/// Checks that an organization of `placement` may sit under `parent`:
///
/// * a root is a government;
/// * a government sits under a government of a higher level;
/// * a department sits under a government, at the government's level;
/// * an internal body sits under a government, department or public institution, at its level;
/// * a public institution sits anywhere, never above its parent's level.
pub fn check_placement(
    parent: Option<&Organization>,
    placement: Placement,
) -> Result<(), RuleViolation> {
    let invalid = |why: &str| Err(RuleViolation::InvalidHierarchy(why.to_owned()));
    let Some(parent) = parent else {
        return match placement.kind {
            OrgKind::Government => Ok(()),
            _ => invalid("a root organization must be a GOVERNMENT"),
        };
    };
    if placement.level < parent.level {
        return invalid("an organization cannot be above its parent's level");
    }
    match placement.kind {
        OrgKind::Government => {
            if parent.kind != OrgKind::Government {
                invalid("a GOVERNMENT must sit under a GOVERNMENT")
            } else if placement.level == parent.level {
                invalid("a GOVERNMENT must be one or more levels below its parent government")
            } else {
                Ok(())
            }
        }
        OrgKind::Department => {
            if parent.kind != OrgKind::Government {
                invalid("a DEPARTMENT must sit under a GOVERNMENT")
            } else if placement.level != parent.level {
                invalid("a DEPARTMENT has its government's level")
            } else {
                Ok(())
            }
        }
        OrgKind::InternalBody => {
            if parent.kind == OrgKind::InternalBody {
                invalid(
                    "an INTERNAL_BODY must sit under a GOVERNMENT, DEPARTMENT or PUBLIC_INSTITUTION",
                )
            } else if placement.level != parent.level {
                invalid("an INTERNAL_BODY has its parent's level")
            } else {
                Ok(())
            }
        }
        OrgKind::PublicInstitution => Ok(()),
    }
}

/// The government an organization belongs to: itself when it is one, else its parent's.
pub fn government_of(id: &str, kind: OrgKind, parent: Option<&Organization>) -> Option<String> {
    match kind {
        OrgKind::Government => Some(id.to_owned()),
        _ => parent.and_then(|p| p.government.clone()),
    }
}

/// Checks the management-department flag: only governments and departments may carry it, and
/// one per government (`existing` is the current holder, if any, other than the organization).
pub fn check_management_department(
    kind: OrgKind,
    government: Option<&str>,
    existing: Option<&str>,
) -> Result<(), RuleViolation> {
    if !matches!(kind, OrgKind::Government | OrgKind::Department) {
        return Err(RuleViolation::ManagementDepartmentKind);
    }
    match (government, existing) {
        (Some(government), Some(existing)) => Err(RuleViolation::ManagementDepartmentExists {
            government: format!("organizations/{government}"),
            existing: format!("organizations/{existing}"),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn org(id: &str, level: Level, kind: OrgKind) -> Organization {
        let stamp = Stamp {
            time: Utc::now(),
            actor: "t".into(),
            actor_organization: "t".into(),
        };
        Organization {
            id: id.into(),
            parent: None,
            path: format!("/{id}/"),
            display_name: id.into(),
            level,
            kind,
            management_department: false,
            must_have_account: false,
            must_have_account_overridden: false,
            principal_leader: String::new(),
            designated_deputy: String::new(),
            credit_code: None,
            region_code: None,
            government: (kind == OrgKind::Government).then(|| id.to_owned()),
            created: stamp.clone(),
            updated: stamp,
            version: 1,
        }
    }

    #[test]
    fn ancestors_come_root_first_without_itself() {
        let mut edu = org("golmud-edu", Level::County, OrgKind::Department);
        edu.path = "/qinghai/haixi/golmud/golmud-edu/".into();
        assert_eq!(
            edu.ancestors().collect::<Vec<_>>(),
            ["qinghai", "haixi", "golmud"]
        );
        let root = org("qinghai", Level::Provincial, OrgKind::Government);
        assert_eq!(root.ancestors().count(), 0);
    }

    fn place(level: Level, kind: OrgKind) -> Placement {
        Placement { level, kind }
    }

    #[test]
    fn placements() {
        let province = org("qinghai", Level::Provincial, OrgKind::Government);
        let bureau = org("qh-edu", Level::Provincial, OrgKind::Department);
        assert!(check_placement(None, place(Level::Provincial, OrgKind::Government)).is_ok());
        assert!(check_placement(None, place(Level::Provincial, OrgKind::Department)).is_err());
        assert!(
            check_placement(
                Some(&province),
                place(Level::Municipal, OrgKind::Government)
            )
            .is_ok()
        );
        assert!(
            check_placement(
                Some(&province),
                place(Level::Provincial, OrgKind::Government)
            )
            .is_err()
        );
        assert!(
            check_placement(
                Some(&province),
                place(Level::Provincial, OrgKind::Department)
            )
            .is_ok()
        );
        assert!(
            check_placement(Some(&province), place(Level::County, OrgKind::Department)).is_err()
        );
        assert!(
            check_placement(Some(&bureau), place(Level::Provincial, OrgKind::Department)).is_err()
        );
        assert!(
            check_placement(
                Some(&bureau),
                place(Level::Provincial, OrgKind::InternalBody)
            )
            .is_ok()
        );
        assert!(
            check_placement(
                Some(&bureau),
                place(Level::County, OrgKind::PublicInstitution)
            )
            .is_ok()
        );
        assert!(
            check_placement(
                Some(&bureau),
                place(Level::National, OrgKind::PublicInstitution)
            )
            .is_err()
        );
    }

    #[test]
    fn management_departments() {
        assert!(check_management_department(OrgKind::Department, Some("golmud"), None).is_ok());
        assert_eq!(
            check_management_department(OrgKind::PublicInstitution, Some("golmud"), None),
            Err(RuleViolation::ManagementDepartmentKind)
        );
        assert!(matches!(
            check_management_department(OrgKind::Department, Some("golmud"), Some("golmud-office")),
            Err(RuleViolation::ManagementDepartmentExists { .. })
        ));
    }

    #[test]
    fn paths_and_governments() {
        let province = org("qinghai", Level::Provincial, OrgKind::Government);
        assert_eq!(child_path(Some(&province), "haixi"), "/qinghai/haixi/");
        assert_eq!(child_path(None, "qinghai"), "/qinghai/");
        assert!(province.contains_path("/qinghai/haixi/"));
        assert!(!province.contains_path("/qinghai2/"));
        assert_eq!(
            government_of("qh-edu", OrgKind::Department, Some(&province)).as_deref(),
            Some("qinghai")
        );
    }
}
