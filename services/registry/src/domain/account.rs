//! Accounts and their lifecycle.

use chrono::{DateTime, Duration, Utc};

use govmedia_accounts::opening::Refusal;

use super::{Level, RuleViolation, Stamp};

/// Platforms; numbers as in `govmedia.common.v1.Platform`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    /// 微信公众号.
    WechatOfficialAccount = 1,
    /// 微信视频号.
    WechatChannels = 2,
    /// 微博.
    Weibo = 3,
    /// 抖音.
    Douyin = 4,
    /// 今日头条.
    Toutiao = 5,
    /// 快手.
    Kuaishou = 6,
    /// 哔哩哔哩.
    Bilibili = 7,
    /// 小红书.
    Xiaohongshu = 8,
    /// 移动客户端.
    MobileApp = 9,
    /// 小程序.
    MiniProgram = 10,
    /// 企鹅号.
    QqPenguin = 11,
    /// 百家号.
    Baijiahao = 12,
    /// 网易号.
    Netease = 13,
    /// 一点号.
    Yidian = 14,
    /// 搜狐号.
    Sohu = 15,
    /// 大风号.
    Dafeng = 16,
    /// 大鱼号.
    Dayu = 17,
    /// Other.
    Other = 18,
}

impl Platform {
    const ALL: [Platform; 18] = [
        Platform::WechatOfficialAccount,
        Platform::WechatChannels,
        Platform::Weibo,
        Platform::Douyin,
        Platform::Toutiao,
        Platform::Kuaishou,
        Platform::Bilibili,
        Platform::Xiaohongshu,
        Platform::MobileApp,
        Platform::MiniProgram,
        Platform::QqPenguin,
        Platform::Baijiahao,
        Platform::Netease,
        Platform::Yidian,
        Platform::Sohu,
        Platform::Dafeng,
        Platform::Dayu,
        Platform::Other,
    ];

    /// From the stored/proto number.
    pub fn from_i32(value: i32) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| *p as i32 == value)
    }

    /// The Chinese name operators know.
    pub fn chinese(self) -> &'static str {
        match self {
            Platform::WechatOfficialAccount => "微信公众号",
            Platform::WechatChannels => "微信视频号",
            Platform::Weibo => "微博",
            Platform::Douyin => "抖音",
            Platform::Toutiao => "今日头条",
            Platform::Kuaishou => "快手",
            Platform::Bilibili => "哔哩哔哩",
            Platform::Xiaohongshu => "小红书",
            Platform::MobileApp => "移动客户端",
            Platform::MiniProgram => "小程序",
            Platform::QqPenguin => "企鹅号",
            Platform::Baijiahao => "百家号",
            Platform::Netease => "网易号",
            Platform::Yidian => "一点号",
            Platform::Sohu => "搜狐号",
            Platform::Dafeng => "大风号",
            Platform::Dayu => "大鱼号",
            Platform::Other => "其他平台",
        }
    }
}

/// 发布类 / 服务类 / 互动类; numbers as in the proto.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// 发布类.
    Publishing = 1,
    /// 服务类.
    Service = 2,
    /// 互动类.
    Interaction = 3,
}

impl AccountKind {
    /// From the stored/proto number.
    pub fn from_i32(value: i32) -> Option<AccountKind> {
        Some(match value {
            1 => AccountKind::Publishing,
            2 => AccountKind::Service,
            3 => AccountKind::Interaction,
            _ => return None,
        })
    }
}

pub use govmedia_accounts::status::AccountStatus;

/// Who operates an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operator {
    /// The owning unit.
    OwnUnit,
    /// A vendor (`vendors/{id}` id part).
    Vendor(String),
}

/// A responsible person.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Contact {
    /// Name.
    pub name: String,
    /// Post.
    pub title: String,
    /// Phone.
    pub phone: String,
}

/// A ledger entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Id (`accounts/{id}`).
    pub id: String,
    /// Owning unit's id.
    pub organization: String,
    /// Owning unit's path (for jurisdiction).
    pub organization_path: String,
    /// Platform.
    pub platform: Platform,
    /// Bound platform id.
    pub platform_account_id: Option<String>,
    /// Name on the platform.
    pub display_name: String,
    /// Kind.
    pub kind: AccountKind,
    /// Operator.
    pub operator: Operator,
    /// Responsible person.
    pub responsible_person: Contact,
    /// 认证主体.
    pub verified_subject: String,
    /// Status.
    pub status: AccountStatus,
    /// Owning unit's level.
    pub level: Level,
    /// R-03 justification.
    pub justification: String,
    /// Homepage.
    pub homepage_url: String,
    /// First activation.
    pub open_time: Option<DateTime<Utc>>,
    /// Latest post seen.
    pub last_post_time: Option<DateTime<Utc>>,
    /// Followers seen.
    pub follower_count: i64,
    /// Filing behind the latest change (`filings/{id}` id part).
    pub last_filing: String,
    /// Opened on the platform before it was filed (补报).
    pub filed_after_opening: bool,
    /// Creation.
    pub created: Stamp,
    /// Latest change.
    pub updated: Stamp,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Account {
    /// The resource name.
    pub fn name(&self) -> String {
        format!("accounts/{}", self.id)
    }

    /// Why the account does not count as healthy for R-03, or `None` when it does: it must be
    /// ACTIVE and have posted within `window` before `now`.
    pub fn unhealthy_reason(&self, now: DateTime<Utc>, window: Duration) -> Option<String> {
        if self.status != AccountStatus::Active {
            return Some(format!("status is {}", self.status));
        }
        match self.last_post_time {
            None => Some("no post has been seen".to_owned()),
            Some(last) if now - last > window => Some(format!(
                "no post since {} (more than {} days)",
                last.format("%Y-%m-%d"),
                window.num_days()
            )),
            Some(_) => None,
        }
    }

    /// Moves to `to`, or says why not.
    pub fn transition(&mut self, to: AccountStatus) -> Result<AccountStatus, RuleViolation> {
        if !self.status.can_become(to) {
            return Err(RuleViolation::InvalidTransition {
                account: self.name(),
                from: self.status,
                to,
            });
        }
        Ok(std::mem::replace(&mut self.status, to))
    }
}

/// The R-03 verdict on opening an account on a platform where the unit has `existing` accounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpeningAssessment {
    /// The unit has a live account there already.
    pub further_account: bool,
    /// A justification is needed and none was given.
    pub justification_missing: bool,
    /// The live accounts: name, status, and why each is not healthy (if it is not).
    pub existing: Vec<(String, AccountStatus, Option<String>)>,
}

impl OpeningAssessment {
    /// True when the account may be opened.
    pub fn allowed(&self) -> bool {
        !self.justification_missing
            && self
                .existing
                .iter()
                .all(|(_, _, problem)| problem.is_none())
    }
}

/// a first account on a platform always may be opened; a further one needs a
/// justification and every live account of the unit on the platform healthy.
pub fn assess_opening(
    existing: &[Account],
    justification: &str,
    now: DateTime<Utc>,
    window: Duration,
) -> OpeningAssessment {
    let live: Vec<(String, AccountStatus, Option<String>)> = existing
        .iter()
        .filter(|a| a.status.is_live())
        .map(|a| (a.name(), a.status, a.unhealthy_reason(now, window)))
        .collect();
    let further_account = !live.is_empty();
    OpeningAssessment {
        further_account,
        justification_missing: further_account && justification.trim().is_empty(),
        existing: live,
    }
}

/// R-03 as a rule violation, for the writes that must refuse (see [`assess_opening`]).
pub fn check_further_account(
    platform: Platform,
    existing: &[Account],
    justification: &str,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<(), RuleViolation> {
    let assessment = assess_opening(existing, justification, now, window);
    if assessment.allowed() {
        return Ok(());
    }
    Err(RuleViolation::AccountLimitPerPlatform(Refusal {
        platform: platform_name(platform).to_owned(),
        existing: assessment
            .existing
            .into_iter()
            .map(|(name, _, problem)| (name, problem))
            .collect(),
        justification_missing: assessment.justification_missing,
    }))
}

fn platform_name(platform: Platform) -> &'static str {
    match platform {
        Platform::WechatOfficialAccount => "PLATFORM_WECHAT_OFFICIAL_ACCOUNT",
        Platform::WechatChannels => "PLATFORM_WECHAT_CHANNELS",
        Platform::Weibo => "PLATFORM_WEIBO",
        Platform::Douyin => "PLATFORM_DOUYIN",
        Platform::Toutiao => "PLATFORM_TOUTIAO",
        Platform::Kuaishou => "PLATFORM_KUAISHOU",
        Platform::Bilibili => "PLATFORM_BILIBILI",
        Platform::Xiaohongshu => "PLATFORM_XIAOHONGSHU",
        Platform::MobileApp => "PLATFORM_MOBILE_APP",
        Platform::MiniProgram => "PLATFORM_MINI_PROGRAM",
        Platform::QqPenguin => "PLATFORM_QQ_PENGUIN",
        Platform::Baijiahao => "PLATFORM_BAIJIAHAO",
        Platform::Netease => "PLATFORM_NETEASE",
        Platform::Yidian => "PLATFORM_YIDIAN",
        Platform::Sohu => "PLATFORM_SOHU",
        Platform::Dafeng => "PLATFORM_DAFENG",
        Platform::Dayu => "PLATFORM_DAYU",
        Platform::Other => "PLATFORM_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, status: AccountStatus, last_post_days_ago: Option<i64>) -> Account {
        let now = Utc::now();
        let stamp = Stamp {
            time: now,
            actor: "t".into(),
            actor_organization: "t".into(),
        };
        Account {
            id: id.into(),
            organization: "golmud-edu".into(),
            organization_path: "/golmud/golmud-edu/".into(),
            platform: Platform::Weibo,
            platform_account_id: None,
            display_name: id.into(),
            kind: AccountKind::Publishing,
            operator: Operator::OwnUnit,
            responsible_person: Contact::default(),
            verified_subject: String::new(),
            status,
            level: Level::County,
            justification: String::new(),
            homepage_url: String::new(),
            open_time: None,
            last_post_time: last_post_days_ago.map(|d| now - Duration::days(d)),
            follower_count: 0,
            last_filing: String::new(),
            filed_after_opening: false,
            created: stamp.clone(),
            updated: stamp,
            version: 1,
        }
    }

    #[test]
    fn transitions_follow_the_lifecycle_of_govmedia_accounts() {
        use AccountStatus::*;
        let mut a = account("a1", Filed, None);
        assert_eq!(a.transition(Active), Ok(Filed));
        assert!(a.transition(Active).is_err());
        assert_eq!(a.transition(Cancelled), Ok(Active));
        assert!(a.transition(Active).is_err(), "CANCELLED is final");
    }

    #[test]
    fn one_account_per_platform() {
        let now = Utc::now();
        let window = Duration::days(14);
        assert!(check_further_account(Platform::Weibo, &[], "", now, window).is_ok());
        let cancelled = [account("old", AccountStatus::Cancelled, None)];
        assert!(check_further_account(Platform::Weibo, &cancelled, "", now, window).is_ok());

        let healthy = [account("a1", AccountStatus::Active, Some(2))];
        let Err(RuleViolation::AccountLimitPerPlatform(Refusal {
            justification_missing,
            ..
        })) = check_further_account(Platform::Weibo, &healthy, " ", now, window)
        else {
            panic!("a justification is required");
        };
        assert!(justification_missing);
        assert!(
            check_further_account(Platform::Weibo, &healthy, "专项服务需要", now, window).is_ok()
        );

        for blocker in [
            account("idle", AccountStatus::Active, Some(30)),
            account("never", AccountStatus::Active, None),
            account("filed", AccountStatus::Filed, None),
            account("suspended", AccountStatus::Suspended, Some(1)),
        ] {
            let Err(RuleViolation::AccountLimitPerPlatform(Refusal {
                existing,
                justification_missing,
                ..
            })) = check_further_account(Platform::Weibo, &[blocker], "专项服务需要", now, window)
            else {
                panic!("an unhealthy account blocks a further one");
            };
            assert!(!justification_missing);
            assert!(existing[0].1.is_some());
        }
    }
}
