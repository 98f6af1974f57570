//! Pre-publication review (先审后发, R-33): a unit's chain of review levels, and drafts going
//! through it. Each level is a role of the unit or a named person; only the current level
//! reviews; an approval confirms all five aspects (政治关、法律关、政策关、保密关、文字关); the
//! author never reviews their own draft and nobody approves two levels of one revision. The last
//! approval freezes the draft with the hash of its normalized text, which is what a published
//! post is matched against.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::{Stamp, text};

govmedia_kit::numbered! {
    /// What a reviewer checks (`ReviewAspect`).
    Aspect {
        /// 政治关.
        Politics = 1 => "POLITICS",
        /// 法律关.
        Law = 2 => "LAW",
        /// 政策关.
        Policy = 3 => "POLICY",
        /// 保密关.
        Secrecy = 4 => "SECRECY",
        /// 文字关.
        Wording = 5 => "WORDING",
    }
}

govmedia_kit::numbered! {
    /// Where a draft stands (`DraftState`).
    DraftState {
        /// Going through its chain.
        InReview = 1 => "IN_REVIEW",
        /// Rejected; a new revision may follow.
        Rejected = 2 => "REJECTED",
        /// Approved by every level; frozen.
        Approved = 3 => "APPROVED",
    }
}

/// One level of a chain.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Level {
    /// Its title, e.g. 编辑.
    pub title: String,
    /// A role of the chain's unit (its lower-case name, e.g. `leader`), or
    pub role: Option<String>,
    /// a named person (a credential's subject).
    pub reviewer: Option<String>,
}

/// A review chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Id.
    pub id: String,
    /// The unit.
    pub organization: String,
    /// Its path.
    pub organization_path: String,
    /// What it is for.
    pub display_name: String,
    /// The levels, in order.
    pub levels: Vec<Level>,
    /// Created.
    pub created: Stamp,
}

impl Chain {
    /// `reviewChains/{id}`.
    pub fn name(&self) -> String {
        format!("reviewChains/{}", self.id)
    }
}

/// One review.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Review {
    /// The revision reviewed.
    pub revision: u32,
    /// The level, from 0.
    pub level: u32,
    /// Approved or rejected.
    pub approved: bool,
    /// Why.
    pub comment: String,
    /// The aspects checked (`Aspect` numbers).
    pub aspects: Vec<i32>,
    /// Who, when.
    pub stamp: Stamp,
}

/// A draft post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// Id.
    pub id: String,
    /// Its chain's id.
    pub chain: String,
    /// The chain's unit.
    pub organization: String,
    /// Its path.
    pub organization_path: String,
    /// Title.
    pub title: String,
    /// Text of the current revision.
    pub text: String,
    /// Account ids it may be published on.
    pub accounts: Vec<String>,
    /// Current revision, from 1.
    pub revision: u32,
    /// State.
    pub state: DraftState,
    /// The level that reviews next.
    pub current_level: u32,
    /// Every review.
    pub reviews: Vec<Review>,
    /// Once approved: the frozen content hash.
    pub content_hash: Option<String>,
    /// When the last level approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// The author, and when the first revision was submitted.
    pub created: Stamp,
    /// Version (etag).
    pub version: i64,
}

/// Who reviews.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reviewer {
    /// The credential's subject.
    pub subject: String,
    /// Its organization.
    pub organization: String,
    /// Its roles, by lower-case name.
    pub roles: Vec<String>,
}

/// Why a review or a revision is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// The draft is not in the state the step needs.
    #[error("the draft is {0}")]
    State(DraftState),
    /// The caller is not the current level's reviewer.
    #[error("level {level} ({title}) is reviewed by {who}")]
    NotTheLevel {
        /// The level, from 0 as the contract numbers them.
        level: u32,
        /// Its title.
        title: String,
        /// Who reviews it.
        who: String,
    },
    /// The author reviews their own draft.
    #[error("the author of a draft never reviews it")]
    OwnDraft,
    /// The caller approved another level of this revision.
    #[error("the caller already approved level {0} of this revision; nobody approves two levels")]
    SecondLevel(u32),
    /// An approval that did not check every aspect.
    #[error("an approval checks all five aspects; missing: {0}")]
    MissingAspects(String),
}

/// SHA-256 (hex) of `text` normalized: letters, digits and characters only, case and width
/// folded, so that spacing, punctuation and full-width forms do not make a reviewed post look
/// unreviewed.
pub fn content_hash(text: &str) -> String {
    Sha256::digest(text::fold(text).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Draft {
    /// `drafts/{id}`.
    pub fn name(&self) -> String {
        format!("drafts/{}", self.id)
    }

    /// The reviewer of the current level reviews: approving moves the draft up (and freezes it
    /// after the last level), rejecting ends the revision.
    pub fn review(
        &mut self,
        chain: &Chain,
        reviewer: &Reviewer,
        approve: bool,
        comment: &str,
        aspects: &[Aspect],
        stamp: &Stamp,
    ) -> Result<(), ReviewError> {
        if self.state != DraftState::InReview {
            return Err(ReviewError::State(self.state));
        }
        let index = self.current_level;
        let Some(level) = chain.levels.get(index as usize) else {
            return Err(ReviewError::State(self.state));
        };
        let (allowed, who) = match (&level.reviewer, &level.role) {
            (Some(person), _) => (reviewer.subject == *person, person.clone()),
            (None, Some(role)) => (
                reviewer.organization == chain.organization && reviewer.roles.contains(role),
                format!(
                    "a caller with the {role} role in organizations/{}",
                    chain.organization
                ),
            ),
            (None, None) => (false, "nobody".to_owned()),
        };
        if !allowed {
            return Err(ReviewError::NotTheLevel {
                level: index,
                title: level.title.clone(),
                who,
            });
        }
        if reviewer.subject == self.created.actor {
            return Err(ReviewError::OwnDraft);
        }
        if approve {
            if let Some(other) = self.reviews.iter().find(|r| {
                r.revision == self.revision && r.approved && r.stamp.actor == reviewer.subject
            }) {
                return Err(ReviewError::SecondLevel(other.level));
            }
            let missing: Vec<&str> = Aspect::ALL
                .iter()
                .filter(|a| !aspects.contains(a))
                .map(|a| a.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(ReviewError::MissingAspects(missing.join(", ")));
            }
        }
        self.reviews.push(Review {
            revision: self.revision,
            level: index,
            approved: approve,
            comment: comment.to_owned(),
            aspects: aspects.iter().map(|a| *a as i32).collect(),
            stamp: stamp.clone(),
        });
        if !approve {
            self.state = DraftState::Rejected;
        } else if index as usize + 1 == chain.levels.len() {
            self.state = DraftState::Approved;
            self.content_hash = Some(content_hash(&self.text));
            self.approved_at = Some(stamp.time);
        } else {
            self.current_level += 1;
        }
        Ok(())
    }

    /// A new revision of a rejected draft, from the first level again.
    pub fn revise(
        &mut self,
        title: &str,
        text: &str,
        accounts: Vec<String>,
    ) -> Result<(), ReviewError> {
        if self.state != DraftState::Rejected {
            return Err(ReviewError::State(self.state));
        }
        self.revision += 1;
        self.title = title.to_owned();
        self.text = text.to_owned();
        self.accounts = accounts;
        self.state = DraftState::InReview;
        self.current_level = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(actor: &str) -> Stamp {
        Stamp {
            time: DateTime::UNIX_EPOCH,
            actor: actor.into(),
            actor_organization: "unit".into(),
        }
    }

    fn person(subject: &str, roles: &[&str]) -> Reviewer {
        Reviewer {
            subject: subject.into(),
            organization: "unit".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    #[test]
    fn three_levels_in_order_by_different_people_freeze_the_draft() {
        let chain = Chain {
            id: "c".into(),
            organization: "unit".into(),
            organization_path: "/unit/".into(),
            display_name: "三审".into(),
            levels: vec![
                Level {
                    title: "编辑".into(),
                    role: Some("operator".into()),
                    reviewer: None,
                },
                Level {
                    title: "科室负责人".into(),
                    role: Some("leader".into()),
                    reviewer: None,
                },
                Level {
                    title: "分管领导".into(),
                    role: None,
                    reviewer: Some("ma.lin".into()),
                },
            ],
            created: stamp("admin"),
        };
        let mut draft = Draft {
            id: "d".into(),
            chain: "c".into(),
            organization: "unit".into(),
            organization_path: "/unit/".into(),
            title: "标题".into(),
            text: "全市义务教育招生工作于7月1日启动。".into(),
            accounts: vec!["a".into()],
            revision: 1,
            state: DraftState::InReview,
            current_level: 0,
            reviews: vec![],
            content_hash: None,
            approved_at: None,
            created: stamp("author"),
            version: 1,
        };
        let all = Aspect::ALL;
        // Out of turn, the author, a partial check, then the first level.
        assert!(matches!(
            draft.review(
                &chain,
                &person("ma.lin", &[]),
                true,
                "",
                all,
                &stamp("ma.lin")
            ),
            Err(ReviewError::NotTheLevel { level: 0, .. })
        ));
        assert_eq!(
            draft.review(
                &chain,
                &person("author", &["operator"]),
                true,
                "",
                all,
                &stamp("author")
            ),
            Err(ReviewError::OwnDraft)
        );
        assert!(matches!(
            draft.review(
                &chain,
                &person("e1", &["operator"]),
                true,
                "",
                &all[..4],
                &stamp("e1")
            ),
            Err(ReviewError::MissingAspects(_))
        ));
        draft
            .review(
                &chain,
                &person("e1", &["operator", "leader"]),
                true,
                "",
                all,
                &stamp("e1"),
            )
            .expect("level 1");
        // The same person may not approve the second level too.
        assert_eq!(
            draft.review(
                &chain,
                &person("e1", &["operator", "leader"]),
                true,
                "",
                all,
                &stamp("e1")
            ),
            Err(ReviewError::SecondLevel(0))
        );
        draft
            .review(
                &chain,
                &person("h2", &["leader"]),
                true,
                "",
                all,
                &stamp("h2"),
            )
            .expect("level 2");
        draft
            .review(
                &chain,
                &person("ma.lin", &[]),
                true,
                "",
                all,
                &stamp("ma.lin"),
            )
            .expect("level 3");
        assert_eq!(draft.state, DraftState::Approved);
        assert_eq!(
            draft.content_hash.as_deref(),
            Some(content_hash("全市义务教育招生工作于7月1日启动").as_str()),
            "punctuation does not change the hash"
        );
        assert_eq!(
            draft.revise("t", "x", vec![]),
            Err(ReviewError::State(DraftState::Approved))
        );
    }
}
