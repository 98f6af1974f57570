//! The detectors: one way each of finding a problem of one category of the notice in an
//! account's posts and its ledger record, or (a *merit* detector) of crediting what the seed asks
//! for. A scheme item binds a detector by id and sets its parameters; the catalogue
//! ([`DETECTORS`]) says which exist and what they take, so a scheme binding anything else is
//! refused.
//!
//! A detector is a pure function of its [`Input`]: the same posts, ledger record, lexicons and
//! check point give the same outcome, which is what makes a check reproducible and a spot check
//! re-runnable.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use govmedia_scanner::{Category as Wording, Hit, Scanner};

use super::{
    Account, AccountStatus, Category, HotEvent, MediaKind, Post, Severity,
    finding::{Evidence, WordingHit, excerpt},
    post::{host_in, link_host},
};

/// What the detectors know besides the data, from the settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Knowledge {
    /// Domains whose links are not commercial (subdomains included).
    pub link_allow_domains: Vec<String>,
    /// Sources whose relay is a relay of authoritative central information.
    pub authoritative_sources: Vec<String>,
}

impl Knowledge {
    /// True when a link to `host` is no commercial link: a government site or an allowed
    /// domain.
    fn allows(&self, host: &str) -> bool {
        host_in(host, "gov.cn")
            || self
                .link_allow_domains
                .iter()
                .any(|domain| host_in(host, domain))
    }
}

/// A parameter of a detector: a whole number with a default and bounds.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Its name in a scheme item's `parameters`.
    pub name: &'static str,
    /// What it means.
    pub description: &'static str,
    /// Its value when the item does not set it.
    pub default: i64,
    /// Least value.
    pub min: i64,
    /// Greatest value.
    pub max: i64,
}

/// A detector of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Its id.
    pub id: &'static str,
    /// The category of its findings.
    pub category: Category,
    /// What it finds, from which data.
    pub description: &'static str,
    /// The parameters it takes.
    pub params: &'static [Param],
    /// A merit: it credits (bonus items bind it) and records no finding.
    pub merit: bool,
    /// What it reads besides the account's posts and ledger record.
    pub needs: Need,
    /// Days before its window (and silence) whose posts it may still need: a hot event that
    /// ends in the window may have begun up to [`super::hot::MAX_DAYS`] before.
    pub reads_before: i64,
}

/// What a detector reads besides the account's posts, its ledger record and the hot events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing else.
    Posts,
    /// The routing service's case counts of the account over the item's window.
    Cases,
    /// The routing service's verdict on each original post of the window: does its content
    /// match an approved draft?
    Approvals,
    /// The vendor service's oversight signals on the account.
    VendorSignals,
    /// The replies published to citizens through the account in the item's window (the
    /// routing service), scanned.
    Replies,
    /// A probe of the account's service link (its homepage in the ledger).
    Probe,
    /// The rows of the platforms' rosters that list the account although the ledger says it
    /// is cancelled (the filing service); asked only for a cancelled account.
    Roster,
}

impl Need {
    /// The service that answers it, for messages.
    pub fn source(self) -> &'static str {
        match self {
            Need::Posts => "inspection",
            Need::Cases | Need::Approvals | Need::Replies => "routing",
            Need::VendorSignals => "vendor",
            Need::Probe => "the web",
            Need::Roster => "filing",
        }
    }
}

/// A case count of the routing service over one window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaseCounts {
    /// Cases received.
    pub received: i64,
    /// Replied at least once.
    pub answered: i64,
    /// Overdue on either clock.
    pub overdue: i64,
    /// Rated by the citizen.
    pub rated: i64,
    /// Rated satisfied.
    pub satisfied: i64,
}

/// An oversight signal of the vendor service on the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorSignal {
    /// Its kind, e.g. `REVIEWER_MISSING`.
    pub kind: String,
    /// Its stable key.
    pub key: String,
    /// The vendor, `vendors/{id}`, when known.
    pub vendor: String,
    /// What is wrong.
    pub description: String,
    /// The facts it rests on, by name.
    pub facts: Vec<(String, String)>,
}

/// A reply published to a citizen through the account (the routing service), with what the
/// scanner in force found in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The case, `cases/{id}`.
    pub case: String,
    /// Which reply of the case, from 1.
    pub round: i32,
    /// The text as published.
    pub text: String,
    /// When it was published.
    pub published: DateTime<Utc>,
    /// The department that answered, `organizations/{id}`; empty when none.
    pub department: String,
    /// What the scanner found in the text.
    pub hits: Vec<Hit>,
}

/// A row of a platform's roster that lists the account although the ledger says it is
/// cancelled (the filing service's reconciliation, 僵尸号).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// The organization whose roster it is, `organizations/{id}`.
    pub roster: String,
    /// The line of the imported CSV.
    pub line: i32,
    /// The platform account id listed.
    pub platform_account_id: String,
    /// What the filing service says of it.
    pub detail: String,
}

/// What other services said for one check; each part is absent when no item needs it, and an
/// error (why) when its service is not configured or did not answer.
#[derive(Clone, Debug, Default)]
pub struct External {
    /// Case counts per window (days).
    pub cases: BTreeMap<i64, Result<CaseCounts, String>>,
    /// Per post id: does its content match an approved draft?
    pub approvals: Option<Result<BTreeMap<String, bool>, String>>,
    /// The vendor service's signals on the account.
    pub vendor: Option<Result<Vec<VendorSignal>, String>>,
    /// The replies published through the account over the longest window asked, by case, then
    /// round.
    pub replies: Option<Result<Vec<Answer>, String>>,
    /// The platforms' roster rows that still list the cancelled account.
    pub roster: Option<Result<Vec<Listing>, String>>,
    /// The probe of the account's service link: (URL, its final HTTP status or why it did not
    /// answer); absent when not probed.
    pub probe: Option<(String, Result<u16, String>)>,
}

const fn window(default: i64) -> Param {
    Param {
        name: "window_days",
        description: "the days before the check point whose posts count",
        default,
        min: 1,
        max: 400,
    }
}

/// Every detector, by id.
pub const DETECTORS: &[Spec] = &[
    Spec {
        id: "authoritative-relay",
        category: Category::LowInformationQuality,
        description: "Merit (R-25, 转载权威信息): each post in the window relayed from an authoritative central source (the configured list: 新华社, 人民日报, 中国政府网 …) counts once.",
        params: &[window(90)],
        merit: true,
        needs: Need::Posts,
        reads_before: 0,
    },
    Spec {
        id: "cancelled-still-publishing",
        category: Category::UnknownHeadcount,
        description: "The ledger says CANCELLED but posts published in the window still arrive from the platform (僵尸号): the account was never closed there.",
        params: &[window(30)],
        merit: false,
        needs: Need::Posts,
        reads_before: 0,
    },
    Spec {
        id: "cancelled-on-roster",
        category: Category::UnknownHeadcount,
        description: "The ledger says CANCELLED but a platform's roster imported into the filing service since (anywhere in the service's tree) still lists the account's platform id (僵尸号): the account was never closed on the platform. An account not cancelled is not concerned.",
        params: &[],
        merit: false,
        needs: Need::Roster,
        reads_before: 0,
    },
    Spec {
        id: "citizen-dissatisfaction",
        category: Category::HollowInteraction,
        description: "Of the citizens' messages of the window rated by the citizen (the routing service), the share satisfied is below min_percent, once min_rated were rated.",
        params: &[
            window(90),
            Param {
                name: "min_percent",
                description: "the least share of satisfied ratings, in percent",
                default: 60,
                min: 0,
                max: 100,
            },
            Param {
                name: "min_rated",
                description: "the least number of rated cases for a share to be judged",
                default: 5,
                min: 1,
                max: 100_000,
            },
        ],
        merit: false,
        needs: Need::Cases,
        reads_before: 0,
    },
    Spec {
        id: "hot-event-silence",
        category: Category::LowInformationQuality,
        description: "A hot event registered for the account's region (CreateHotEvent), begun at least grace_hours before the check point and not over before the window, on which an ACTIVE account published nothing containing its keywords (躲着走).",
        params: &[
            window(30),
            Param {
                name: "grace_hours",
                description: "the hours an account has to speak after an event begins",
                default: 24,
                min: 1,
                max: 720,
            },
        ],
        merit: false,
        needs: Need::Posts,
        reads_before: super::hot::MAX_DAYS,
    },
    Spec {
        id: "interaction-overdue",
        category: Category::HollowInteraction,
        description: "Of the citizens' messages received on the account in the window (the routing service), the share overdue on either clock is above max_percent, once min_cases were received: requests ignored (互动回应差).",
        params: &[
            window(90),
            Param {
                name: "max_percent",
                description: "the highest share of overdue cases tolerated, in percent",
                default: 20,
                min: 0,
                max: 100,
            },
            Param {
                name: "min_cases",
                description: "the least number of cases for a share to be judged",
                default: 1,
                min: 1,
                max: 100_000,
            },
        ],
        merit: false,
        needs: Need::Cases,
        reads_before: 0,
    },
    Spec {
        id: "commercial-content",
        category: Category::UnclearPositioning,
        description: "Posts in the window with commercial-advertising wording (the lexicons' advertising category) and links to sites that are neither government sites (gov.cn) nor allowed domains: one finding per hit and per link.",
        params: &[window(90)],
        merit: false,
        needs: Need::Posts,
        reads_before: 0,
    },
    Spec {
        id: "hijack-signs",
        category: Category::UnknownHeadcount,
        description: "Signs of a hijacked account (盗用): a burst beginning in the window of at least burst_posts off-topic posts (advertising, vulgar or banned wording, commercial links) within burst_days, after a silence of at least silence_days.",
        params: &[
            window(90),
            Param {
                name: "silence_days",
                description: "the least silence before the burst, in days",
                default: 30,
                min: 1,
                max: 400,
            },
            Param {
                name: "burst_days",
                description: "the days after the silence the burst falls in",
                default: 3,
                min: 1,
                max: 30,
            },
            Param {
                name: "burst_posts",
                description: "the least number of off-topic posts that makes a burst",
                default: 3,
                min: 1,
                max: 100,
            },
        ],
        merit: false,
        needs: Need::Posts,
        reads_before: 0,
    },
    Spec {
        id: "idle-account",
        category: Category::UnknownHeadcount,
        description: "An ACTIVE account with no post for idle_days before the check point (counted from its opening when it never posted): long idle and never cancelled (长期不更新未注销).",
        params: &[Param {
            name: "idle_days",
            description: "the days without a post that make an account idle",
            default: 180,
            min: 14,
            max: 3650,
        }],
        merit: false,
        needs: Need::Posts,
        reads_before: 0,
    },
    Spec {
        id: "media-variety",
        category: Category::LowInformationQuality,
        description: "Merit (R-25, 图表图解、音频视频): each post in the window carrying pictures, video, audio or a live broadcast counts once.",
        params: &[window(90)],
        merit: true,
        needs: Need::Posts,
        reads_before: 0,
    },
    Spec {
        id: "no-update",
        category: Category::PoorMaintenance,
        description: "An ACTIVE account with no post in the window before the check point (national rule: 2 weeks; some regions 10 days).",
        params: &[window(14)],
        merit: false,
        needs: Need::Posts,
        reads_before: 0,
    },
    Spec {
        id: "off-topic-share",
        category: Category::UnclearPositioning,
        description: "The share of the window's posts that are off-topic (advertising, vulgar or banned wording, commercial links) is above max_percent, once the window holds min_posts posts.",
        params: &[
            window(90),
            Param {
                name: "max_percent",
                description: "the highest share of off-topic posts tolerated, in percent",
                default: 30,
                min: 0,
                max: 100,
            },
            Param {
                name: "min_posts",
                description: "the least number of posts in the window for a share to be judged",
                default: 5,
                min: 1,
                max: 10_000,
            },
        ],
        merit: false,
        needs: Need::Posts,
        reads_before: 0,
    },
    Spec {
        id: "original-share",
        category: Category::LowInformationQuality,
        description: "The share of original posts (R-25, 原创比例) in the window is below min_percent, once the window holds min_posts posts.",
        params: &[
            window(90),
            Param {
                name: "min_percent",
                description: "the least share of original posts, in percent",
                default: 30,
                min: 0,
                max: 100,
            },
            Param {
                name: "min_posts",
                description: "the least number of posts in the window for a share to be judged",
                default: 5,
                min: 1,
                max: 10_000,
            },
        ],
        merit: false,
        needs: Need::Posts,
        reads_before: 0,
    },
    Spec {
        id: "over-entertainment",
        category: Category::OverEntertainment,
        description: "Posts in the window with vulgar or over-entertaining wording (the lexicons' vulgar category), one finding per hit, and posts crowded with emoji (at least emoji_min).",
        params: &[
            window(90),
            Param {
                name: "emoji_min",
                description: "the number of emoji that makes a post over-entertaining",
                default: 8,
                min: 1,
                max: 1_000,
            },
        ],
        merit: false,
        needs: Need::Posts,
        reads_before: 0,
    },
    Spec {
        id: "rude-replies",
        category: Category::HollowInteraction,
        description: "Replies published to citizens in the window (the routing service) with rude, brush-off or vulgar wording (the lexicons' rude and vulgar categories: 爱找谁找谁, 不归我们管 …): one finding per wording of each reply (a wording written again in it is counted as occurrences), with the case as the reference (生硬推诿).",
        params: &[window(90)],
        merit: false,
        needs: Need::Replies,
        reads_before: 0,
    },
    Spec {
        id: "service-unavailable",
        category: Category::PoorMaintenance,
        description: "The account's service link (its homepage in the ledger: a mini-program's or app's page, a service portal) does not answer within the probe time or answers with an error status (服务功能无法使用).",
        params: &[],
        merit: false,
        needs: Need::Probe,
        reads_before: 0,
    },
    Spec {
        id: "unreviewed-posts",
        category: Category::LaxReview,
        description: "Original posts of the window whose folded content matches no draft approved through a review chain of the routing service (先审后发): published without review.",
        params: &[window(30)],
        merit: false,
        needs: Need::Approvals,
        reads_before: 0,
    },
    Spec {
        id: "vendor-oversight",
        category: Category::UnsupervisedOutsourcing,
        description: "The vendor service's oversight signals on the account (托管变脱管): an expired qualification, no reviewer of the unit, a contract over or a barred vendor still operating, an operator without delegation, a vendor below its performance threshold.",
        params: &[],
        merit: false,
        needs: Need::VendorSignals,
        reads_before: 0,
    },
    Spec {
        id: "wording-errors",
        category: Category::LaxReview,
        description: "Wrong leaders' names and titles, political formulations against their standard wording and banned words (the lexicons' leader, formulation and banned categories) of at least min_severity (1 low, 2 medium, 3 high: a serious wording error, 严重表述错误) in the window's posts; one finding per hit, with the correct wording as the suggestion.",
        params: &[
            window(90),
            Param {
                name: "min_severity",
                description: "the least severity counted: 1 low, 2 medium, 3 high",
                default: 3,
                min: 1,
                max: 3,
            },
        ],
        merit: false,
        needs: Need::Posts,
        reads_before: 0,
    },
];

impl Spec {
    /// How many days before the check point this detector reads posts, with `params`: its
    /// window; for one that looks for a silence before something in its window, that silence;
    /// and what it reads before the window (a hot event's whole span). A check reads no further
    /// back than its scheme's items reach (and the latest post however old, which
    /// `idle-account` needs), so that a daily run reads what its scheme looks at, not years of
    /// posts.
    pub fn horizon(&self, params: &Params) -> i64 {
        match self.needs {
            Need::Posts | Need::Approvals => {
                params.get("window_days") + params.get("silence_days") + self.reads_before
            }
            // Their windows are other services' records, not posts.
            Need::Cases | Need::Replies | Need::VendorSignals | Need::Probe | Need::Roster => 0,
        }
    }
}

/// The detector `id`.
pub fn spec(id: &str) -> Option<&'static Spec> {
    DETECTORS.iter().find(|spec| spec.id == id)
}

/// A detector's parameters with the defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params(BTreeMap<&'static str, i64>);

impl Params {
    /// The value of `name` (one of the detector's; 0 for any other, which validation forbids).
    pub fn get(&self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or_default()
    }
}

/// The parameters `given` for the detector `spec`, or a description of each problem, keyed by
/// parameter name.
pub fn resolve(
    spec: &Spec,
    given: &BTreeMap<String, String>,
) -> Result<Params, Vec<(String, String)>> {
    let mut problems = Vec::new();
    for name in given.keys() {
        if !spec.params.iter().any(|param| param.name == name) {
            let known: Vec<&str> = spec.params.iter().map(|param| param.name).collect();
            problems.push((
                name.clone(),
                format!(
                    "is not a parameter of the detector {}; it takes {}",
                    spec.id,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    let mut values = BTreeMap::new();
    for param in spec.params {
        let value = match given.get(param.name) {
            None => param.default,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(value) if (param.min..=param.max).contains(&value) => value,
                _ => {
                    problems.push((
                        param.name.to_owned(),
                        format!(
                            "must be a whole number from {} to {} ({})",
                            param.min, param.max, param.description
                        ),
                    ));
                    continue;
                }
            },
        };
        values.insert(param.name, value);
    }
    if problems.is_empty() {
        Ok(Params(values))
    } else {
        Err(problems)
    }
}

/// The wording hits of one post, by field.
#[derive(Clone, Debug, Default)]
pub struct Scanned {
    /// Hits in the title.
    pub title: Vec<Hit>,
    /// Hits in the text.
    pub text: Vec<Hit>,
}

impl Scanned {
    fn all(&self) -> impl Iterator<Item = (&'static str, &Hit)> {
        self.title
            .iter()
            .map(|hit| ("title", hit))
            .chain(self.text.iter().map(|hit| ("text", hit)))
    }
}

/// The hits of each of `texts` (title, text).
pub fn scan_all(scanner: &Scanner, texts: &[(String, String)]) -> Vec<Scanned> {
    texts
        .iter()
        .map(|(title, text)| Scanned {
            title: scanner.scan(title),
            text: scanner.scan(text),
        })
        .collect()
}

/// What detectors read: one account, its posts up to the check point, the lexicons in force.
#[derive(Debug)]
pub struct Input<'a> {
    /// The account.
    pub account: &'a Account,
    /// Its posts published back to the scheme's horizon before the check point, newest first.
    pub posts: &'a [Post],
    /// Where the read of `posts` began: every post of the account published after it (up to
    /// the check point) is in `posts`. `None` when unknown: nothing is assumed about the time
    /// before the oldest post.
    pub read_from: Option<DateTime<Utc>>,
    /// Each post's hits, in the order of `posts`.
    pub scans: Vec<Scanned>,
    /// Its latest post at or before the check point, however old: (id, published).
    pub latest: Option<(String, DateTime<Utc>)>,
    /// The check point.
    pub as_of: DateTime<Utc>,
    /// What the settings say.
    pub knowledge: &'a Knowledge,
    /// The hot events of the account's region and the levels above.
    pub hot_events: &'a [HotEvent],
    /// What other services said.
    pub external: &'a External,
}

impl<'a> Input<'a> {
    /// The input of a check of `account` at `as_of`: `posts` scanned with `scanner`, without
    /// hot events or other services' facts (see [`Input::with`]).
    pub fn new(
        account: &'a Account,
        posts: &'a [Post],
        latest: Option<(String, DateTime<Utc>)>,
        as_of: DateTime<Utc>,
        scanner: &Scanner,
        knowledge: &'a Knowledge,
    ) -> Self {
        let scans = posts
            .iter()
            .map(|post| Scanned {
                title: scanner.scan(&post.title),
                text: scanner.scan(&post.text),
            })
            .collect();
        Input {
            account,
            posts,
            scans,
            latest,
            read_from: None,
            as_of,
            knowledge,
            hot_events: &[],
            external: &NOTHING,
        }
    }

    /// The input of a check whose posts were scanned already (`scans`, in the order of
    /// `posts`), e.g. on the blocking pool with [`scan_all`].
    pub fn scanned(
        account: &'a Account,
        posts: &'a [Post],
        scans: Vec<Scanned>,
        latest: Option<(String, DateTime<Utc>)>,
        as_of: DateTime<Utc>,
        knowledge: &'a Knowledge,
    ) -> Self {
        Input {
            account,
            posts,
            scans,
            latest,
            read_from: None,
            as_of,
            knowledge,
            hot_events: &[],
            external: &NOTHING,
        }
    }

    /// This input, knowing that the read of its posts began at `read_from`.
    pub fn reading_from(mut self, read_from: DateTime<Utc>) -> Self {
        self.read_from = Some(read_from);
        self
    }

    /// This input with the hot events of the account's region and what other services said.
    pub fn with(mut self, hot_events: &'a [HotEvent], external: &'a External) -> Self {
        self.hot_events = hot_events;
        self.external = external;
        self
    }

    /// The posts (with their hits) published in the `days` before the check point.
    fn window(&self, days: i64) -> impl Iterator<Item = (&Post, &Scanned)> {
        let since = self.as_of - Duration::days(days);
        self.posts
            .iter()
            .zip(&self.scans)
            .filter(move |(post, _)| post.published > since && post.published <= self.as_of)
    }

    /// The links of `post` that point at neither a government site nor an allowed domain.
    fn commercial_links<'p>(&self, post: &'p Post) -> impl Iterator<Item = (&'p str, String)> {
        post.links.iter().filter_map(|link| {
            let host = link_host(link)?;
            (!self.knowledge.allows(&host)).then_some((link.as_str(), host))
        })
    }

    /// True when `post` is off-topic: advertising, vulgar or banned wording, or a commercial
    /// link.
    fn off_topic(&self, post: &Post, scanned: &Scanned) -> bool {
        scanned.all().any(|(_, hit)| {
            matches!(
                hit.category,
                Wording::Advertising | Wording::Vulgar | Wording::Banned
            )
        }) || self.commercial_links(post).next().is_some()
    }
}

static NOTHING: External = External {
    cases: BTreeMap::new(),
    approvals: None,
    vendor: None,
    replies: None,
    roster: None,
    probe: None,
};

/// What a detector made of its input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// The problems found (none for a merit detector).
    pub drafts: Vec<Draft>,
    /// What a merit detector credits (each counts the item's points once).
    pub credits: u32,
    /// The posts a merit detector credited (ids).
    pub credited: Vec<String>,
    /// Why, in words.
    pub explanation: String,
}

/// A problem as a detector found it, before it is stored as a finding.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    /// What makes it the same problem when found again (unique per account and detector).
    pub key: String,
    /// How serious.
    pub severity: Severity,
    /// One line for the reader.
    pub summary: String,
    /// What it rests on.
    pub evidence: Evidence,
}

/// The most findings one detector records for one account in one check; more are counted in
/// the explanation.
pub const MAX_DRAFTS: usize = 100;

/// Runs the detector `spec` with `params` over `input`; `Err` says why it could not be
/// evaluated (the service it reads is not configured or did not answer). Drafts with the same
/// key are one (the first, with the count as the figure `occurrences`), and at most
/// [`MAX_DRAFTS`] are kept.
pub fn run(spec: &Spec, params: &Params, input: &Input<'_>) -> Result<Outcome, String> {
    let mut outcome = detect(spec, params, input)?;
    let mut kept: Vec<Draft> = Vec::with_capacity(outcome.drafts.len().min(MAX_DRAFTS));
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for draft in std::mem::take(&mut outcome.drafts) {
        if let Some(&at) = index.get(&draft.key) {
            let figures = &mut kept[at].evidence.figures;
            match figures.iter_mut().find(|(name, _)| name == "occurrences") {
                Some((_, count)) => *count += 1.0,
                None => figures.push(("occurrences".to_owned(), 2.0)),
            }
            continue;
        }
        total += 1;
        if kept.len() < MAX_DRAFTS {
            index.insert(draft.key.clone(), kept.len());
            kept.push(draft);
        }
    }
    if total > MAX_DRAFTS {
        outcome
            .explanation
            .push_str(&format!("（共 {total} 项，记录前 {MAX_DRAFTS} 项）"));
    }
    outcome.drafts = kept;
    Ok(outcome)
}

fn detect(spec: &Spec, params: &Params, input: &Input<'_>) -> Result<Outcome, String> {
    Ok(match spec.id {
        "authoritative-relay" => authoritative_relay(params, input),
        "cancelled-still-publishing" => cancelled_still_publishing(params, input),
        "cancelled-on-roster" => cancelled_on_roster(input)?,
        "citizen-dissatisfaction" => citizen_dissatisfaction(params, input)?,
        "commercial-content" => commercial_content(params, input),
        "hot-event-silence" => hot_event_silence(params, input),
        "interaction-overdue" => interaction_overdue(params, input)?,
        "service-unavailable" => service_unavailable(input),
        "unreviewed-posts" => unreviewed_posts(params, input)?,
        "vendor-oversight" => vendor_oversight(input)?,
        "hijack-signs" => hijack_signs(params, input),
        "rude-replies" => rude_replies(params, input)?,
        "idle-account" => idle_account(params, input),
        "media-variety" => media_variety(params, input),
        "no-update" => no_update(params, input),
        "off-topic-share" => off_topic_share(params, input),
        "original-share" => original_share(params, input),
        "over-entertainment" => over_entertainment(params, input),
        "wording-errors" => wording_errors(params, input),
        other => return Err(format!("no detector is called {other}")),
    })
}

const SOURCE: &str = "inspection";

fn post_evidence(post: &Post) -> Evidence {
    Evidence {
        post: Some(post.id.clone()),
        platform_post_id: Some(post.platform_post_id.clone()),
        published: Some(post.published),
        source: SOURCE.to_owned(),
        ..Evidence::default()
    }
}

fn hit_evidence(post: &Post, field: &str, hit: &Hit) -> Evidence {
    let text = if field == "title" {
        &post.title
    } else {
        &post.text
    };
    Evidence {
        hit: Some(WordingHit::from(hit)),
        field: Some(field.to_owned()),
        excerpt: excerpt(text, hit.char_start, hit.char_end, 200),
        ..post_evidence(post)
    }
}

/// One finding per wording per post: the same wrong wording written fifty times in one post is
/// one problem (with its count), not fifty.
fn hit_key(post: &Post, _field: &str, hit: &Hit) -> String {
    format!("{}:{}", post.id, hit.pattern)
}

/// The draft of a hit; a repeat of a key already drafted (the same wording again in the same
/// post) is only its key, which [`run`] counts, so that a post repeating one wording a thousand
/// times costs one excerpt, not a thousand.
fn hit_draft(
    seen: &mut std::collections::HashSet<String>,
    post: &Post,
    field: &str,
    hit: &Hit,
    summary: impl FnOnce() -> String,
) -> Draft {
    let key = hit_key(post, field, hit);
    if !seen.insert(key.clone()) {
        return Draft {
            key,
            severity: hit.severity.into(),
            summary: String::new(),
            evidence: Evidence::default(),
        };
    }
    Draft {
        key,
        severity: hit.severity.into(),
        summary: summary(),
        evidence: hit_evidence(post, field, hit),
    }
}

fn date(time: DateTime<Utc>) -> String {
    time.with_timezone(&govmedia_kit::calendar::SHANGHAI)
        .format("%Y-%m-%d")
        .to_string()
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

fn commercial_content(params: &Params, input: &Input<'_>) -> Outcome {
    let days = params.get("window_days");
    let mut seen = std::collections::HashSet::new();
    let mut drafts = Vec::new();
    let (mut posts, mut words, mut links) = (0, 0, 0);
    for (post, scanned) in input.window(days) {
        posts += 1;
        for (field, hit) in scanned.all() {
            if hit.category != Wording::Advertising {
                continue;
            }
            words += 1;
            drafts.push(hit_draft(&mut seen, post, field, hit, || {
                format!("商业广告用语「{}」", hit.matched)
            }));
        }
        for (link, host) in input.commercial_links(post) {
            links += 1;
            drafts.push(Draft {
                key: format!("{}:link:{link}", post.id),
                severity: Severity::Medium,
                summary: format!("链接指向非政府网站 {host}"),
                evidence: Evidence {
                    link: Some(link.to_owned()),
                    excerpt: excerpt(&post.title, 0, 0, 200),
                    ..post_evidence(post)
                },
            });
        }
    }
    Outcome {
        explanation: format!(
            "近 {days} 天 {posts} 条发布中，广告用语 {words} 处，商业链接 {links} 个"
        ),
        drafts,
        credits: 0,
        credited: Vec::new(),
    }
}

fn off_topic_share(params: &Params, input: &Input<'_>) -> Outcome {
    let days = params.get("window_days");
    let (max, min_posts) = (params.get("max_percent"), params.get("min_posts"));
    let mut total = 0;
    let mut off: Vec<&Post> = Vec::new();
    for (post, scanned) in input.window(days) {
        total += 1;
        if input.off_topic(post, scanned) {
            off.push(post);
        }
    }
    let share = percent(off.len(), total);
    let judged = total as i64 >= min_posts;
    let mut outcome = Outcome {
        explanation: if judged {
            format!(
                "近 {days} 天 {total} 条发布中与政务无关 {} 条，占 {share}%（上限 {max}%）",
                off.len()
            )
        } else {
            format!("近 {days} 天仅 {total} 条发布，少于 {min_posts} 条，不计比例")
        },
        ..Outcome::default()
    };
    if judged && share > max as f64 {
        outcome.drafts.push(Draft {
            key: "share".to_owned(),
            severity: Severity::Medium,
            summary: format!("与政务无关内容占比 {share}%，超过 {max}%"),
            evidence: Evidence {
                figures: vec![
                    ("posts".to_owned(), total as f64),
                    ("off_topic_posts".to_owned(), off.len() as f64),
                    ("off_topic_percent".to_owned(), share),
                ],
                ..off
                    .first()
                    .map(|post| post_evidence(post))
                    .unwrap_or_else(|| Evidence {
                        source: SOURCE.to_owned(),
                        ..Evidence::default()
                    })
            },
        });
    }
    outcome
}

fn wording_errors(params: &Params, input: &Input<'_>) -> Outcome {
    let days = params.get("window_days");
    let least = params.get("min_severity");
    let mut seen = std::collections::HashSet::new();
    let mut drafts = Vec::new();
    let mut posts = 0;
    for (post, scanned) in input.window(days) {
        posts += 1;
        for (field, hit) in scanned.all() {
            if !matches!(
                hit.category,
                Wording::Leader | Wording::Formulation | Wording::Banned
            ) || (Severity::from(hit.severity) as i64) < least
            {
                continue;
            }
            let summary = match &hit.suggestion {
                Some(correct) => format!("错误表述「{}」，应为「{correct}」", hit.matched),
                None if hit.category == Wording::Banned => format!("违禁用语「{}」", hit.matched),
                None => format!("不当表述「{}」", hit.matched),
            };
            drafts.push(hit_draft(&mut seen, post, field, hit, || summary));
        }
    }
    Outcome {
        explanation: format!(
            "近 {days} 天 {posts} 条发布中，严重程度为「{}」及以上的错误表述 {} 处",
            Severity::from_i32(least as i32).map_or("?", Severity::zh),
            drafts.len()
        ),
        drafts,
        credits: 0,
        credited: Vec::new(),
    }
}

/// Days from `from` to `to`, whole.
fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_days()
}

fn idle_account(params: &Params, input: &Input<'_>) -> Outcome {
    let idle = params.get("idle_days");
    if let Some(outcome) = not_operating(input, "闲置") {
        return outcome;
    }
    let (since, what, key) = match (&input.latest, input.account.opened) {
        (Some((id, at)), _) => (*at, format!("最近一次更新为 {}", date(*at)), id.clone()),
        (None, Some(opened)) => (
            opened,
            format!("开设于 {}，从未更新", date(opened)),
            "never".to_owned(),
        ),
        (None, None) => {
            return Outcome {
                explanation: "账号无开设时间且无任何发布记录，无法判断闲置时长".to_owned(),
                ..Outcome::default()
            };
        }
    };
    let days = days_between(since, input.as_of);
    let mut outcome = Outcome {
        explanation: format!("{what}，距检查时点 {days} 天（闲置标准 {idle} 天）"),
        ..Outcome::default()
    };
    if days >= idle {
        outcome.drafts.push(Draft {
            key,
            severity: Severity::High,
            summary: format!("账号已 {days} 天未更新，长期闲置未注销"),
            evidence: Evidence {
                figures: vec![("days_without_post".to_owned(), days as f64)],
                source: SOURCE.to_owned(),
                ..latest_evidence(input)
            },
        });
    }
    outcome
}

fn latest_evidence(input: &Input<'_>) -> Evidence {
    let latest = input.latest.as_ref().and_then(|(id, _)| {
        input
            .posts
            .iter()
            .find(|post| &post.id == id)
            .map(post_evidence)
    });
    latest.unwrap_or_else(|| Evidence {
        post: input.latest.as_ref().map(|(id, _)| id.clone()),
        published: input.latest.as_ref().map(|(_, at)| *at),
        source: SOURCE.to_owned(),
        ..Evidence::default()
    })
}

/// Why an account that is not ACTIVE owes nothing to a detector of what an operating account
/// must do (`what`): none when it is ACTIVE.
fn not_operating(input: &Input<'_>, what: &str) -> Option<Outcome> {
    (input.account.status != Some(AccountStatus::Active)).then(|| Outcome {
        explanation: format!("账号不在正常运行状态，不计{what}"),
        ..Outcome::default()
    })
}

fn no_update(params: &Params, input: &Input<'_>) -> Outcome {
    if let Some(outcome) = not_operating(input, "更新") {
        return outcome;
    }
    let days = params.get("window_days");
    let since = input.as_of - Duration::days(days);
    match &input.latest {
        Some((_, at)) if *at > since => Outcome {
            explanation: format!("最近一次更新为 {}，在 {days} 天之内", date(*at)),
            ..Outcome::default()
        },
        latest => {
            let (what, key, gap) = match latest {
                Some((id, at)) => (
                    format!("最近一次更新为 {}", date(*at)),
                    id.clone(),
                    days_between(*at, input.as_of),
                ),
                None => ("无任何发布记录".to_owned(), "never".to_owned(), -1),
            };
            let mut figures = vec![("window_days".to_owned(), days as f64)];
            if gap >= 0 {
                figures.push(("days_without_post".to_owned(), gap as f64));
            }
            Outcome {
                explanation: format!("{what}，检查时点前 {days} 天内无更新"),
                drafts: vec![Draft {
                    key,
                    severity: Severity::High,
                    summary: format!("{days} 天内无更新（{what}）"),
                    evidence: Evidence {
                        figures,
                        ..latest_evidence(input)
                    },
                }],
                credits: 0,
                credited: Vec::new(),
            }
        }
    }
}

fn original_share(params: &Params, input: &Input<'_>) -> Outcome {
    let days = params.get("window_days");
    let (least, min_posts) = (params.get("min_percent"), params.get("min_posts"));
    let (mut total, mut original) = (0, 0);
    for (post, _) in input.window(days) {
        total += 1;
        if post.original {
            original += 1;
        }
    }
    let share = percent(original, total);
    if (total as i64) < min_posts {
        return Outcome {
            explanation: format!("近 {days} 天仅 {total} 条发布，少于 {min_posts} 条，不计比例"),
            ..Outcome::default()
        };
    }
    let mut outcome = Outcome {
        explanation: format!(
            "近 {days} 天 {total} 条发布中原创 {original} 条，占 {share}%（下限 {least}%）"
        ),
        ..Outcome::default()
    };
    if share < least as f64 {
        outcome.drafts.push(Draft {
            key: "share".to_owned(),
            severity: Severity::Low,
            summary: format!("原创内容占比 {share}%，低于 {least}%"),
            evidence: Evidence {
                figures: vec![
                    ("posts".to_owned(), total as f64),
                    ("original_posts".to_owned(), original as f64),
                    ("original_percent".to_owned(), share),
                ],
                source: SOURCE.to_owned(),
                ..Evidence::default()
            },
        });
    }
    outcome
}

fn over_entertainment(params: &Params, input: &Input<'_>) -> Outcome {
    let days = params.get("window_days");
    let emoji_min = params.get("emoji_min");
    let mut seen = std::collections::HashSet::new();
    let mut drafts = Vec::new();
    let (mut words, mut crowded) = (0, 0);
    for (post, scanned) in input.window(days) {
        for (field, hit) in scanned.all() {
            if hit.category != Wording::Vulgar {
                continue;
            }
            words += 1;
            drafts.push(hit_draft(&mut seen, post, field, hit, || {
                format!("娱乐化、低俗用语「{}」", hit.matched)
            }));
        }
        let emoji = post
            .title
            .chars()
            .chain(post.text.chars())
            .filter(|c| is_emoji(*c))
            .count();
        if emoji as i64 >= emoji_min {
            crowded += 1;
            drafts.push(Draft {
                key: format!("{}:emoji", post.id),
                severity: Severity::Low,
                summary: format!("一条发布使用表情符号 {emoji} 个，卖萌娱乐化"),
                evidence: Evidence {
                    figures: vec![("emoji".to_owned(), emoji as f64)],
                    excerpt: excerpt(&post.text, 0, 0, 200),
                    ..post_evidence(post)
                },
            });
        }
    }
    Outcome {
        explanation: format!(
            "近 {days} 天娱乐化、低俗用语 {words} 处，表情符号不少于 {emoji_min} 个的发布 {crowded} 条"
        ),
        drafts,
        credits: 0,
        credited: Vec::new(),
    }
}

/// True for a pictograph of the emoji blocks (faces, symbols, dingbats).
fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F300..=0x1FAFF | 0x2600..=0x27BF)
}

fn hijack_signs(params: &Params, input: &Input<'_>) -> Outcome {
    let silence = Duration::days(params.get("silence_days"));
    let burst = Duration::days(params.get("burst_days"));
    let least = params.get("burst_posts") as usize;
    let window_start = input.as_of - Duration::days(params.get("window_days"));
    // Before a post with none read before it, the account was silent at least since the read
    // began, if it existed then; an account opened since, or a read of unknown start, tells of
    // no silence.
    let quiet_since = input
        .read_from
        .filter(|from| input.account.opened.is_none_or(|opened| opened <= *from));
    // Oldest first.
    let posts: Vec<(&Post, &Scanned)> = input.posts.iter().zip(&input.scans).rev().collect();
    let mut drafts = Vec::new();
    for index in 0..posts.len() {
        let first = posts[index].0;
        if first.published <= window_start || first.published > input.as_of {
            continue;
        }
        let (gap, known) = match (
            index.checked_sub(1).map(|before| posts[before].0),
            quiet_since,
        ) {
            (Some(previous), _) => (first.published - previous.published, true),
            (None, Some(since)) => (first.published - since, false),
            (None, None) => continue,
        };
        if gap < silence {
            continue;
        }
        let off: Vec<&Post> = posts[index..]
            .iter()
            .take_while(|(post, _)| post.published - first.published <= burst)
            .filter(|(post, scanned)| input.off_topic(post, scanned))
            .map(|(post, _)| *post)
            .collect();
        if off.len() >= least {
            drafts.push(Draft {
                key: first.id.clone(),
                severity: Severity::High,
                summary: format!(
                    "沉寂 {} 天{}后 {} 天内连发 {} 条与政务无关的内容，疑似被盗用",
                    gap.num_days(),
                    if known { "" } else { "以上" },
                    params.get("burst_days"),
                    off.len()
                ),
                evidence: Evidence {
                    figures: vec![
                        ("silence_days".to_owned(), gap.num_days() as f64),
                        ("off_topic_posts".to_owned(), off.len() as f64),
                    ],
                    excerpt: excerpt(&off[0].text, 0, 0, 200),
                    ..post_evidence(off[0])
                },
            });
        }
    }
    Outcome {
        explanation: if drafts.is_empty() {
            format!(
                "近 {} 天未见沉寂 {} 天以上后集中发布无关内容的情形",
                params.get("window_days"),
                params.get("silence_days")
            )
        } else {
            format!("{} 次沉寂后集中发布无关内容", drafts.len())
        },
        drafts,
        credits: 0,
        credited: Vec::new(),
    }
}

fn authoritative_relay(params: &Params, input: &Input<'_>) -> Outcome {
    let days = params.get("window_days");
    let mut sources: BTreeMap<&str, u32> = BTreeMap::new();
    let mut credited = Vec::new();
    for (post, _) in input.window(days) {
        if post.original {
            continue;
        }
        if let Some(source) = input
            .knowledge
            .authoritative_sources
            .iter()
            .find(|source| post.relayed_from.contains(source.as_str()))
        {
            *sources.entry(source.as_str()).or_default() += 1;
            credited.push(post.id.clone());
        }
    }
    let credits: u32 = sources.values().sum();
    Outcome {
        explanation: if credits == 0 {
            format!("近 {days} 天未转载权威信息")
        } else {
            let list: Vec<String> = sources.iter().map(|(s, n)| format!("{s} {n} 条")).collect();
            format!("近 {days} 天转载权威信息 {credits} 条：{}", list.join("，"))
        },
        drafts: Vec::new(),
        credits,
        credited,
    }
}

fn media_variety(params: &Params, input: &Input<'_>) -> Outcome {
    let days = params.get("window_days");
    let credited: Vec<String> = input
        .window(days)
        .filter(|(post, _)| {
            matches!(
                post.media,
                MediaKind::Image | MediaKind::Video | MediaKind::Audio | MediaKind::Live
            )
        })
        .map(|(post, _)| post.id.clone())
        .collect();
    let credits = credited.len() as u32;
    Outcome {
        explanation: format!("近 {days} 天图表、音视频等形式的发布 {credits} 条"),
        drafts: Vec::new(),
        credits,
        credited,
    }
}

fn cancelled_still_publishing(params: &Params, input: &Input<'_>) -> Outcome {
    let days = params.get("window_days");
    if input.account.status != Some(AccountStatus::Cancelled) {
        return Outcome {
            explanation: "账号未注销".to_owned(),
            ..Outcome::default()
        };
    }
    let recent: Vec<&Post> = input.window(days).map(|(post, _)| post).collect();
    let mut outcome = Outcome {
        explanation: format!(
            "台账记载已注销，近 {days} 天平台仍有 {} 条发布",
            recent.len()
        ),
        ..Outcome::default()
    };
    if let Some(latest) = recent.first() {
        outcome.drafts.push(Draft {
            key: latest.id.clone(),
            severity: Severity::High,
            summary: format!(
                "台账记载已注销的账号在平台上仍在发布（近 {days} 天 {} 条），疑为僵尸号",
                recent.len()
            ),
            evidence: Evidence {
                figures: vec![("posts_after_cancellation".to_owned(), recent.len() as f64)],
                excerpt: excerpt(&latest.text, 0, 0, 200),
                ..post_evidence(latest)
            },
        });
    }
    outcome
}

fn hot_event_silence(params: &Params, input: &Input<'_>) -> Outcome {
    if let Some(outcome) = not_operating(input, "热点发声") {
        return outcome;
    }
    let days = params.get("window_days");
    let grace = Duration::hours(params.get("grace_hours"));
    let since = input.as_of - Duration::days(days);
    let mut drafts = Vec::new();
    let mut due = 0;
    for event in input.hot_events {
        if !event.concerns(&input.account.path)
            || event.start + grace > input.as_of
            || event.end < since
        {
            continue;
        }
        due += 1;
        if input.posts.iter().any(|post| event.spoken_on_by(post)) {
            continue;
        }
        drafts.push(Draft {
            key: event.id.clone(),
            severity: Severity::Medium,
            summary: format!("未就热点事件「{}」发布信息", event.title),
            evidence: Evidence {
                reference: Some(format!("hotEvents/{}", event.id)),
                figures: vec![(
                    "hours_since_start".to_owned(),
                    (input.as_of - event.start).num_hours() as f64,
                )],
                excerpt: event.keywords.join("、"),
                source: SOURCE.to_owned(),
                ..Evidence::default()
            },
        });
    }
    Outcome {
        explanation: format!(
            "近 {days} 天应回应的热点事件 {due} 个，未发布相关信息 {} 个",
            drafts.len()
        ),
        drafts,
        credits: 0,
        credited: Vec::new(),
    }
}

/// The case counts of the window `days`, or why there are none.
fn cases(input: &Input<'_>, days: i64) -> Result<CaseCounts, String> {
    match input.external.cases.get(&days) {
        Some(Ok(counts)) => Ok(*counts),
        Some(Err(why)) => Err(why.clone()),
        None => Err(format!("近 {days} 天的留言办理数据未取得")),
    }
}

fn interaction_overdue(params: &Params, input: &Input<'_>) -> Result<Outcome, String> {
    let days = params.get("window_days");
    let (max, least) = (params.get("max_percent"), params.get("min_cases"));
    let counts = cases(input, days)?;
    if counts.received < least {
        return Ok(Outcome {
            explanation: format!(
                "近 {days} 天收到留言 {} 件，少于 {least} 件，不计比例",
                counts.received
            ),
            ..Outcome::default()
        });
    }
    let share = percent(counts.overdue as usize, counts.received as usize);
    let mut outcome = Outcome {
        explanation: format!(
            "近 {days} 天收到留言 {} 件，已答复 {} 件，超期 {} 件，占 {share}%（上限 {max}%）",
            counts.received, counts.answered, counts.overdue
        ),
        ..Outcome::default()
    };
    if share > max as f64 {
        outcome.drafts.push(Draft {
            key: "overdue".to_owned(),
            severity: Severity::High,
            summary: format!("群众留言超期未办 {} 件，占 {share}%", counts.overdue),
            evidence: Evidence {
                figures: vec![
                    ("received".to_owned(), counts.received as f64),
                    ("answered".to_owned(), counts.answered as f64),
                    ("overdue".to_owned(), counts.overdue as f64),
                    ("overdue_percent".to_owned(), share),
                ],
                source: "routing".to_owned(),
                ..Evidence::default()
            },
        });
    }
    Ok(outcome)
}

/// What another service answered for a detector, or why the detector cannot be evaluated: the
/// service's failure, or `unasked` when nobody asked it.
fn answered<'a, T>(part: &'a Option<Result<T, String>>, unasked: &str) -> Result<&'a T, String> {
    match part {
        Some(Ok(answer)) => Ok(answer),
        Some(Err(why)) => Err(why.clone()),
        None => Err(unasked.to_owned()),
    }
}

fn cancelled_on_roster(input: &Input<'_>) -> Result<Outcome, String> {
    if input.account.status != Some(AccountStatus::Cancelled) {
        return Ok(Outcome {
            explanation: "账号未注销，不涉及".to_owned(),
            ..Outcome::default()
        });
    }
    let listings = answered(&input.external.roster, "未读取平台名录，未能评估")?;
    let drafts: Vec<Draft> = listings
        .iter()
        .map(|listing| Draft {
            key: format!("{}#{}", listing.roster, listing.platform_account_id),
            severity: Severity::High,
            summary: format!(
                "台账记载已注销，平台名录（{} 第 {} 行）仍列有该账号，疑为僵尸号",
                listing.roster, listing.line
            ),
            evidence: Evidence {
                reference: Some(listing.roster.clone()),
                figures: vec![("roster_line".to_owned(), f64::from(listing.line))],
                excerpt: listing.detail.clone(),
                source: "filing".to_owned(),
                ..Evidence::default()
            },
        })
        .collect();
    Ok(Outcome {
        explanation: if drafts.is_empty() {
            "账号已注销，注销后导入的平台名录均未再列出".to_owned()
        } else {
            format!("账号已注销，仍列于 {} 份平台名录", drafts.len())
        },
        drafts,
        credits: 0,
        credited: Vec::new(),
    })
}

fn rude_replies(params: &Params, input: &Input<'_>) -> Result<Outcome, String> {
    let days = params.get("window_days");
    let answers = answered(&input.external.replies, "未读取群众留言的答复，未能评估")?;
    let since = input.as_of - Duration::days(days);
    let mut drafts = Vec::new();
    let mut read = 0;
    for answer in answers
        .iter()
        .filter(|answer| answer.published > since && answer.published <= input.as_of)
    {
        read += 1;
        for hit in answer
            .hits
            .iter()
            .filter(|hit| matches!(hit.category, Wording::Rude | Wording::Vulgar))
        {
            drafts.push(Draft {
                key: format!("{}#{}:{}", answer.case, answer.round, hit.pattern),
                severity: hit.severity.into(),
                summary: if answer.department.is_empty() {
                    format!("答复群众使用生硬、推诿或低俗用语「{}」", hit.matched)
                } else {
                    format!(
                        "{} 答复群众使用生硬、推诿或低俗用语「{}」",
                        answer.department, hit.matched
                    )
                },
                evidence: Evidence {
                    published: Some(answer.published),
                    hit: Some(hit.into()),
                    field: Some("reply".to_owned()),
                    source: "routing".to_owned(),
                    excerpt: excerpt(&answer.text, hit.char_start, hit.char_end, 200),
                    reference: Some(answer.case.clone()),
                    figures: vec![("round".to_owned(), f64::from(answer.round))],
                    ..Evidence::default()
                },
            });
        }
    }
    Ok(Outcome {
        explanation: format!(
            "近 {days} 天发布的 {read} 条答复中，生硬、推诿或低俗用语 {} 处",
            drafts.len()
        ),
        drafts,
        credits: 0,
        credited: Vec::new(),
    })
}

fn citizen_dissatisfaction(params: &Params, input: &Input<'_>) -> Result<Outcome, String> {
    let days = params.get("window_days");
    let (least, min_rated) = (params.get("min_percent"), params.get("min_rated"));
    let counts = cases(input, days)?;
    if counts.rated < min_rated {
        return Ok(Outcome {
            explanation: format!(
                "近 {days} 天群众评价 {} 件，少于 {min_rated} 件，不计满意率",
                counts.rated
            ),
            ..Outcome::default()
        });
    }
    let share = percent(counts.satisfied as usize, counts.rated as usize);
    let mut outcome = Outcome {
        explanation: format!(
            "近 {days} 天群众评价 {} 件，满意 {} 件，满意率 {share}%（下限 {least}%）",
            counts.rated, counts.satisfied
        ),
        ..Outcome::default()
    };
    if share < least as f64 {
        outcome.drafts.push(Draft {
            key: "satisfaction".to_owned(),
            severity: Severity::Medium,
            summary: format!("群众满意率 {share}%，低于 {least}%"),
            evidence: Evidence {
                figures: vec![
                    ("rated".to_owned(), counts.rated as f64),
                    ("satisfied".to_owned(), counts.satisfied as f64),
                    ("satisfied_percent".to_owned(), share),
                ],
                source: "routing".to_owned(),
                ..Evidence::default()
            },
        });
    }
    Ok(outcome)
}

fn service_unavailable(input: &Input<'_>) -> Outcome {
    let Some((url, answer)) = &input.external.probe else {
        return Outcome {
            explanation: "台账未登记服务链接".to_owned(),
            ..Outcome::default()
        };
    };
    match answer {
        Ok(status) if (200..400).contains(status) => Outcome {
            explanation: format!("服务链接 {url} 可以访问（HTTP {status}）"),
            ..Outcome::default()
        },
        answer => {
            let why = match answer {
                Ok(status) => format!("HTTP {status}"),
                Err(why) => why.clone(),
            };
            Outcome {
                explanation: format!("服务链接 {url} 无法访问：{why}"),
                drafts: vec![Draft {
                    key: url.clone(),
                    severity: Severity::Medium,
                    summary: format!("服务链接无法访问（{why}）"),
                    evidence: Evidence {
                        link: Some(url.clone()),
                        source: "probe".to_owned(),
                        excerpt: why,
                        ..Evidence::default()
                    },
                }],
                credits: 0,
                credited: Vec::new(),
            }
        }
    }
}

fn unreviewed_posts(params: &Params, input: &Input<'_>) -> Result<Outcome, String> {
    let days = params.get("window_days");
    let approvals = answered(&input.external.approvals, "未取得审核记录")?;
    let mut drafts = Vec::new();
    let (mut original, mut checked) = (0, 0);
    for (post, _) in input.window(days) {
        if !post.original {
            continue;
        }
        original += 1;
        let Some(approved) = approvals.get(&post.id) else {
            continue;
        };
        checked += 1;
        if !approved {
            drafts.push(Draft {
                key: post.id.clone(),
                severity: Severity::Medium,
                summary: "发布内容未见审核通过的稿件（先审后发）".to_owned(),
                evidence: Evidence {
                    excerpt: excerpt(
                        if post.title.is_empty() {
                            &post.text
                        } else {
                            &post.title
                        },
                        0,
                        0,
                        200,
                    ),
                    reference: Some(post.content_hash.clone()),
                    source: "routing".to_owned(),
                    ..post_evidence(post)
                },
            });
        }
    }
    Ok(Outcome {
        explanation: format!(
            "近 {days} 天原创发布 {original} 条，核对审核记录 {checked} 条，未经审核 {} 条",
            drafts.len()
        ),
        drafts,
        credits: 0,
        credited: Vec::new(),
    })
}

fn vendor_oversight(input: &Input<'_>) -> Result<Outcome, String> {
    let signals = answered(&input.external.vendor, "未取得代运营监管信号")?;
    let drafts: Vec<Draft> = signals
        .iter()
        .map(|signal| Draft {
            key: signal.key.clone(),
            severity: match signal.kind.as_str() {
                "QUALIFICATION_EXPIRING" => Severity::Low,
                "QUALIFICATION_EXPIRED" | "VENDOR_BELOW_THRESHOLD" => Severity::Medium,
                _ => Severity::High,
            },
            summary: signal.description.clone(),
            evidence: Evidence {
                reference: Some(signal.key.clone()),
                excerpt: signal
                    .facts
                    .iter()
                    .map(|(name, value)| format!("{name}: {value}"))
                    .collect::<Vec<_>>()
                    .join("; "),
                source: "vendor".to_owned(),
                ..Evidence::default()
            },
        })
        .collect();
    Ok(Outcome {
        explanation: if drafts.is_empty() {
            "代运营监管无异常信号".to_owned()
        } else {
            format!("代运营监管信号 {} 条", drafts.len())
        },
        drafts,
        credits: 0,
        credited: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Stamp;

    /// Day `day` counted from 2026-10-01 (day 1).
    fn at(day: u32) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-10-01T02:00:00Z")
            .expect("time")
            .with_timezone(&Utc)
            + Duration::days(i64::from(day) - 1)
    }

    fn post(id: &str, day: u32, text: &str, links: &[&str]) -> Post {
        Post {
            id: id.into(),
            account: "a".into(),
            organization: "o".into(),
            path: "/o/".into(),
            platform_post_id: id.into(),
            published: at(day),
            title: String::new(),
            text: text.into(),
            links: links.iter().map(|l| (*l).to_owned()).collect(),
            media: MediaKind::Text,
            reads: 0,
            likes: 0,
            comments: 0,
            shares: 0,
            original: true,
            relayed_from: String::new(),
            content_hash: String::new(),
            received: Stamp {
                time: at(day),
                actor: "c".into(),
                actor_organization: "o".into(),
            },
        }
    }

    fn account() -> Account {
        Account {
            id: "a".into(),
            organization: "o".into(),
            path: "/o/".into(),
            display_name: String::new(),
            platform: 1,
            kind: 1,
            level: 4,
            status: Some(AccountStatus::Active),
            opened: Some(at(1)),
            homepage: String::new(),
            followers: None,
        }
    }

    fn outcome(id: &str, posts: &[Post], as_of: u32) -> Outcome {
        let account = account();
        let knowledge = Knowledge {
            link_allow_domains: vec!["weixin.qq.com".into()],
            authoritative_sources: vec!["新华社".into()],
        };
        let latest = posts.first().map(|p| (p.id.clone(), p.published));
        let spec = spec(id).expect("detector");
        let params = resolve(spec, &BTreeMap::new()).expect("defaults");
        // As a check reads: back to the detector's horizon.
        let input = Input::new(
            &account,
            posts,
            latest,
            at(as_of),
            &Scanner::starter(),
            &knowledge,
        )
        .reading_from(at(as_of) - Duration::days(spec.horizon(&params)));
        run(spec, &params, &input).expect("evaluated")
    }

    #[test]
    fn a_burst_of_off_topic_posts_after_a_silence_is_a_hijack_sign() {
        // Newest first: three shop posts 39 days after the post before them.
        let posts = vec![
            post("p4", 41, "稳赚不赔，快来", &[]),
            post("p3", 41, "点击领取", &["https://casino.example.com/"]),
            post("p2", 40, "全网最低价", &[]),
            post("p1", 1, "我县召开会议", &[]),
        ];
        let found = outcome("hijack-signs", &posts, 41);
        assert_eq!(found.drafts.len(), 1, "{found:?}");
        assert_eq!(found.drafts[0].key, "p2");
        assert_eq!(found.drafts[0].severity, Severity::High);
        // Two off-topic posts are no burst of three.
        let quiet = outcome("hijack-signs", &posts[1..], 41);
        assert!(quiet.drafts.is_empty(), "{quiet:?}");
        // A burst that began before the window (90 days) was a sign then, not now.
        let old = outcome("hijack-signs", &posts, 131);
        assert!(old.drafts.is_empty(), "{old:?}");
    }

    #[test]
    fn a_burst_with_no_post_read_before_it_is_a_silence_only_if_the_account_existed_when_the_read_began()
     {
        // The account opened on day 1; nothing read before the burst of days 200-201: the
        // check read 90 + 30 days back (to day 81), so the account was silent at least 119 days.
        let posts = vec![
            post("p3", 201, "稳赚不赔，快来", &[]),
            post("p2", 201, "点击领取", &["https://casino.example.com/"]),
            post("p1", 200, "全网最低价", &[]),
        ];
        let found = outcome("hijack-signs", &posts, 201);
        assert_eq!(found.drafts.len(), 1, "{found:?}");
        assert!(
            found.drafts[0].summary.contains("沉寂 119 天以上"),
            "{found:?}"
        );
        // Opened on day 1, after the read began (day -99): a new account's first posts follow
        // no silence.
        let posts: Vec<Post> = posts
            .iter()
            .map(|p| Post {
                published: p.published - Duration::days(180),
                ..p.clone()
            })
            .collect();
        let young = outcome("hijack-signs", &posts, 21);
        assert!(young.drafts.is_empty(), "{young:?}");
        // A read of unknown start (cut at the most posts a check reads) tells of no silence.
        let posts: Vec<Post> = posts
            .iter()
            .map(|p| Post {
                published: p.published + Duration::days(180),
                ..p.clone()
            })
            .collect();
        let (account, knowledge) = (account(), Knowledge::default());
        let input = Input::new(
            &account,
            &posts,
            None,
            at(201),
            &Scanner::starter(),
            &knowledge,
        );
        let spec = spec("hijack-signs").expect("detector");
        let params = resolve(spec, &BTreeMap::new()).expect("defaults");
        let unknown = run(spec, &params, &input).expect("evaluated");
        assert!(unknown.drafts.is_empty(), "{unknown:?}");
    }

    /// The outcome of detector `id` with its defaults for `account`, what other services said
    /// being `external`.
    fn with_external(id: &str, account: &Account, external: &External, as_of: u32) -> Outcome {
        let knowledge = Knowledge::default();
        let input = Input::new(
            account,
            &[],
            None,
            at(as_of),
            &Scanner::starter(),
            &knowledge,
        )
        .with(&[], external);
        let spec = spec(id).expect("detector");
        run(
            spec,
            &resolve(spec, &BTreeMap::new()).expect("defaults"),
            &input,
        )
        .expect("evaluated")
    }

    #[test]
    fn rude_and_vulgar_wording_in_published_replies_is_found_with_its_case() {
        let scanner = Scanner::starter();
        let answer = |case: &str, day: u32, text: &str| Answer {
            case: case.into(),
            round: 1,
            text: text.into(),
            published: at(day),
            department: "organizations/edu".into(),
            hits: scanner.scan(text),
        };
        let external = External {
            replies: Some(Ok(vec![
                answer("cases/c1", 2, "这个问题不归 我们管，你爱找谁找谁。"),
                answer("cases/c2", 3, "您好，供暖将于11月1日开始，感谢关注。"),
                // Outside the 90-day window.
                answer("cases/c0", 1, "少管闲事"),
            ])),
            ..External::default()
        };
        let found = with_external("rude-replies", &account(), &external, 91);
        let summaries: Vec<&str> = found.drafts.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(found.drafts.len(), 2, "{summaries:?}");
        assert!(summaries[0].contains("不归 我们管"), "{summaries:?}");
        let evidence = &found.drafts[1].evidence;
        assert_eq!(evidence.reference.as_deref(), Some("cases/c1"));
        assert_eq!(evidence.source, "routing");
        assert!(evidence.excerpt.contains("爱找谁找谁"));
        assert!(
            found.explanation.contains("2 条答复"),
            "{}",
            found.explanation
        );
        // Without the routing service's answer the item is not evaluated.
        let spec = spec("rude-replies").expect("detector");
        let knowledge = Knowledge::default();
        let absent = External {
            replies: Some(Err("未配置".into())),
            ..External::default()
        };
        let account = account();
        let input =
            Input::new(&account, &[], None, at(91), &scanner, &knowledge).with(&[], &absent);
        assert!(
            run(
                spec,
                &resolve(spec, &BTreeMap::new()).expect("defaults"),
                &input
            )
            .is_err()
        );
    }

    #[test]
    fn a_cancelled_account_a_roster_still_lists_is_a_zombie_and_others_are_not_concerned() {
        let listing = Listing {
            roster: "organizations/golmud".into(),
            line: 7,
            platform_account_id: "wx-9".into(),
            detail: "cancelled in the ledger, but the platform still lists it".into(),
        };
        let external = External {
            roster: Some(Ok(vec![listing])),
            ..External::default()
        };
        let mut cancelled = account();
        cancelled.status = Some(AccountStatus::Cancelled);
        let found = with_external("cancelled-on-roster", &cancelled, &external, 30);
        assert_eq!(found.drafts.len(), 1, "{found:?}");
        assert_eq!(found.drafts[0].evidence.source, "filing");
        assert!(found.drafts[0].summary.contains("第 7 行"));
        // An active account is not asked about and not concerned.
        let active = with_external("cancelled-on-roster", &account(), &External::default(), 30);
        assert!(active.drafts.is_empty() && active.explanation.contains("未注销"));
    }

    #[test]
    fn a_cancelled_account_owes_no_updates_and_no_word_on_hot_events() {
        let mut cancelled = account();
        cancelled.status = Some(AccountStatus::Cancelled);
        for id in ["no-update", "hot-event-silence", "idle-account"] {
            let outcome = with_external(id, &cancelled, &External::default(), 60);
            assert!(outcome.drafts.is_empty(), "{id}: {outcome:?}");
            assert!(
                outcome.explanation.starts_with("账号不在正常运行状态"),
                "{id}"
            );
        }
        // An ACTIVE account with nothing for 60 days has not updated.
        let active = with_external("no-update", &account(), &External::default(), 60);
        assert_eq!(active.drafts.len(), 1, "{active:?}");
    }

    #[test]
    fn a_detector_reads_back_its_window_and_the_silence_before_it() {
        let horizon = |id: &str| {
            let spec = spec(id).expect("detector");
            spec.horizon(&resolve(spec, &BTreeMap::new()).expect("defaults"))
        };
        assert_eq!(horizon("no-update"), 14);
        assert_eq!(horizon("hijack-signs"), 120);
        assert_eq!(horizon("idle-account"), 0);
        // A hot event ending in the 30 days may have begun 90 days before them.
        assert_eq!(horizon("hot-event-silence"), 120);
        assert_eq!(horizon("vendor-oversight"), 0);
        // Case counts over 90 days are routing's records: no post is read for them.
        assert_eq!(horizon("interaction-overdue"), 0);
    }

    #[test]
    fn links_to_government_and_allowed_domains_are_not_commercial() {
        let posts = vec![post(
            "p1",
            20,
            "详见",
            &[
                "https://www.gov.cn/zhengce/",
                "https://mp.weixin.qq.com/s/abc",
                "http://ad.example.com/buy",
            ],
        )];
        let found = outcome("commercial-content", &posts, 21);
        let links: Vec<_> = found
            .drafts
            .iter()
            .filter_map(|d| d.evidence.link.clone())
            .collect();
        assert_eq!(links, ["http://ad.example.com/buy"]);
    }

    #[test]
    fn parameters_outside_their_bounds_or_unknown_are_refused() {
        let spec = spec("no-update").expect("detector");
        let given: BTreeMap<String, String> = [
            ("window_days".into(), "0".into()),
            ("colour".into(), "red".into()),
        ]
        .into();
        let problems = resolve(spec, &given).expect_err("refused");
        let names: Vec<&str> = problems.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["colour", "window_days"]);
    }
}
