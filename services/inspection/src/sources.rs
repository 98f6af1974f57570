//! What other services know about an account, asked before a check judges it: the routing
//! service's case counts, review records and published replies, the vendor service's oversight
//! signals, and
//! whether the account's service link answers. Only what
//! the scheme's applicable items need is asked. A service that is not configured, or does not
//! answer, makes its items NOT_EVALUATED — never a pass — with the reason in the item's
//! explanation.
//!
//! The service asks on its own account (SYSTEM, rooted at `inspection.system_organization`):
//! the supervisor who runs a check sees the account already, and the facts are the account's,
//! not the caller's.

use std::{collections::BTreeMap, collections::BTreeSet, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use govmedia_kit::{client::Peer, identity::Identity};
use govmedia_proto::{
    filing::v1::{self as fpb, filing_service_client::FilingServiceClient},
    routing::v1::{self as rpb, routing_service_client::RoutingServiceClient},
    vendor::v1::{self as vpb, vendor_service_client::VendorServiceClient},
};

use crate::{
    config::InspectionConfig,
    domain::{
        Account, AccountStatus, Post, Scheme,
        detect::{self, Answer, CaseCounts, External, Listing, Need, VendorSignal},
    },
};

/// Most posts of one check whose review record is looked up.
pub const MAX_APPROVAL_LOOKUPS: usize = 300;

/// Look-ups made at the same time.
const CONCURRENCY: usize = 8;

/// Most bytes of one answer of another service: the case counts of a whole province, grouped
/// by account, are one answer (about 40 bytes an account).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// What other services said about every account of a tree at once, asked before checks of
/// many accounts: the routing service's case counts per window (days), and the replies
/// published over the longest window that reads them (days), by account id. A window not here
/// is asked per account.
#[derive(Clone, Debug, Default)]
pub struct Prefetched {
    cases: BTreeMap<i64, Result<BTreeMap<String, CaseCounts>, String>>,
    replies: Option<(i64, Result<ByAccount<Answer>, String>)>,
}

/// What another service said of each account, by account id.
type ByAccount<T> = BTreeMap<String, Vec<T>>;

/// The windows (days) of the items of `scheme` whose detectors need `need`.
fn windows(scheme: &Scheme, need: Need) -> BTreeSet<i64> {
    scheme
        .items
        .iter()
        .filter_map(|item| {
            let spec = detect::spec(&item.detector)?;
            let params = detect::resolve(spec, &item.parameters).ok()?;
            (spec.needs == need).then(|| params.get("window_days"))
        })
        .collect()
}

/// Replies read per page of the routing service (its largest page).
const REPLY_PAGE: i32 = 500;

/// The services inspection reads, as configured.
#[derive(Clone, Debug)]
pub struct Sources {
    routing: Option<Peer>,
    vendor: Option<Peer>,
    filing: Option<Peer>,
    /// The organization the service answers for (its system organization): rosters imported
    /// anywhere in its tree are searched.
    root: String,
    web: crate::web::HttpClient,
    probe_timeout: Duration,
}

fn peer(
    endpoint: &str,
    config: &InspectionConfig,
    identity: &Arc<Identity>,
    name: &'static str,
) -> Result<Option<Peer>, govmedia_kit::endpoints::BadTarget> {
    if endpoint.is_empty() {
        return Ok(None);
    }
    Peer::new(
        endpoint,
        Duration::from_millis(config.peer_timeout_ms),
        identity.clone(),
        &config.system_organization,
        name,
    )
    .map(Some)
}

/// The channel to `peer` and the credentials to call it with on the service's own account, or
/// why it cannot be asked (`what` names it, `setting` is where it would be configured).
fn reach(
    peer: Option<&Peer>,
    what: &str,
    setting: &str,
) -> Result<(tonic::transport::Channel, govmedia_kit::client::Credentials), String> {
    let Some(peer) = peer else {
        return Err(not_configured(what, setting));
    };
    let credentials = peer.credentials().map_err(|error| error.to_string())?;
    Ok((peer.channel(), credentials))
}

fn not_configured(what: &str, setting: &str) -> String {
    format!("未配置{what}（inspection.{setting}），未能评估")
}

fn unanswered(what: &str, status: &tonic::Status) -> String {
    format!(
        "{what}未应答（{:?}: {}），未能评估",
        status.code(),
        status.message()
    )
}

impl Sources {
    /// The sources of `config`, called as `identity`; connects on first use.
    pub fn new(
        config: &InspectionConfig,
        identity: &Arc<Identity>,
    ) -> Result<Self, govmedia_kit::endpoints::BadTarget> {
        Ok(Sources {
            routing: peer(&config.routing_endpoint, config, identity, "routing")?,
            vendor: peer(&config.vendor_endpoint, config, identity, "vendor")?,
            filing: peer(&config.filing_endpoint, config, identity, "filing")?,
            root: config.system_organization.clone(),
            web: crate::web::client(),
            probe_timeout: Duration::from_millis(config.probe_timeout_ms),
        })
    }

    /// Asks once, for every account of the subtree of the organization `root`, what the items
    /// of `scheme` need to know at `as_of` and can be asked for a whole tree: the case counts of
    /// each window and the replies published over the longest window that reads them.
    pub async fn prefetch(&self, root: &str, scheme: &Scheme, as_of: DateTime<Utc>) -> Prefetched {
        let mut prefetched = Prefetched::default();
        for days in windows(scheme, Need::Cases) {
            let counts = self.case_statistics(root, as_of, days).await.map(|rows| {
                rows.into_iter()
                    .filter_map(|(key, counts)| {
                        Some((key.strip_prefix("accounts/")?.to_owned(), counts))
                    })
                    .collect()
            });
            prefetched.cases.insert(days, counts);
        }
        if let Some(&days) = windows(scheme, Need::Replies).last() {
            let replies = self.replies(root, None, as_of, days).await.map(|answers| {
                let mut by_account: ByAccount<Answer> = BTreeMap::new();
                for (account, answer) in answers {
                    by_account.entry(account).or_default().push(answer);
                }
                by_account
            });
            prefetched.replies = Some((days, replies));
        }
        prefetched
    }

    /// The citizens' messages received by each account of the subtree of `organization` over
    /// the `days` before `as_of`, by account id (consolidation's use figure).
    pub async fn messages_received(
        &self,
        organization: &str,
        as_of: DateTime<Utc>,
        days: i64,
    ) -> Result<BTreeMap<String, i64>, String> {
        Ok(self
            .case_statistics(organization, as_of, days)
            .await?
            .into_iter()
            .filter_map(|(key, counts)| {
                Some((key.strip_prefix("accounts/")?.to_owned(), counts.received))
            })
            .collect())
    }

    /// Asks what the applicable items of `scheme` (`applies`, in item order) need to know
    /// about `account` at `as_of`, unless `prefetched` holds it; `posts` are its posts of the
    /// lookback, newest first.
    pub async fn gather(
        &self,
        account: &Account,
        scheme: &Scheme,
        applies: &[Option<i32>],
        posts: &[Post],
        as_of: DateTime<Utc>,
        prefetched: &Prefetched,
    ) -> External {
        let mut windows = BTreeSet::new();
        let mut approvals_window: Option<i64> = None;
        let mut replies_window: Option<i64> = None;
        let mut signals = false;
        let mut probe = false;
        let mut roster = false;
        for (item, applies) in scheme.items.iter().zip(applies) {
            let (Some(_), Some(spec)) = (applies, detect::spec(&item.detector)) else {
                continue;
            };
            let Ok(params) = detect::resolve(spec, &item.parameters) else {
                continue;
            };
            match spec.needs {
                Need::Posts => {}
                Need::Cases => {
                    windows.insert(params.get("window_days"));
                }
                // The longest window of each: `None` is less than any `Some`.
                Need::Approvals => {
                    approvals_window = approvals_window.max(Some(params.get("window_days")))
                }
                Need::Replies => {
                    replies_window = replies_window.max(Some(params.get("window_days")))
                }
                Need::VendorSignals => signals = true,
                Need::Probe => probe = true,
                Need::Roster => roster = true,
            }
        }
        let mut external = External::default();
        for days in windows {
            let counts = match prefetched.cases.get(&days) {
                Some(Ok(all)) => Ok(all.get(&account.id).cloned().unwrap_or_default()),
                Some(Err(why)) => Err(why.clone()),
                None => self
                    .case_statistics(&account.organization, as_of, days)
                    .await
                    .map(|rows| {
                        rows.get(&format!("accounts/{}", account.id))
                            .cloned()
                            .unwrap_or_default()
                    }),
            };
            external.cases.insert(days, counts);
        }
        if let Some(days) = approvals_window {
            let since = as_of - chrono::Duration::days(days);
            let recent: Vec<&Post> = posts
                .iter()
                .filter(|post| post.original && post.published > since && post.published <= as_of)
                .take(MAX_APPROVAL_LOOKUPS)
                .collect();
            external.approvals = Some(self.approvals(account, &recent).await);
        }
        if let Some(days) = replies_window {
            external.replies = Some(match &prefetched.replies {
                Some((read, Ok(all))) if *read >= days => {
                    Ok(all.get(&account.id).cloned().unwrap_or_default())
                }
                Some((read, Err(why))) if *read >= days => Err(why.clone()),
                _ => self
                    .replies(
                        &account.organization,
                        Some(account.id.as_str()),
                        as_of,
                        days,
                    )
                    .await
                    .map(|answers| answers.into_iter().map(|(_, answer)| answer).collect()),
            });
        }
        if signals {
            external.vendor = Some(self.signals(account).await);
        }
        // Only a cancelled account can be a zombie: the others are not asked about.
        if roster && account.status == Some(AccountStatus::Cancelled) {
            external.roster = Some(self.listings(account).await);
        }
        if probe && !account.homepage.is_empty() {
            let answer = crate::web::probe(&self.web, &account.homepage, self.probe_timeout)
                .await
                .map(|status| status.as_u16());
            external.probe = Some((account.homepage.clone(), answer));
        }
        external
    }

    /// The case counts of the accounts of the subtree of `organization` over the `days` before
    /// `as_of`, by account name.
    async fn case_statistics(
        &self,
        organization: &str,
        as_of: DateTime<Utc>,
        days: i64,
    ) -> Result<BTreeMap<String, CaseCounts>, String> {
        const WHAT: &str = "留言办理服务";
        let (channel, credentials) = reach(self.routing.as_ref(), WHAT, "routing_endpoint")?;
        let mut client = RoutingServiceClient::with_interceptor(channel, credentials)
            .max_decoding_message_size(MAX_ANSWER_BYTES);
        let statistics = client
            .get_case_statistics(rpb::GetCaseStatisticsRequest {
                organization: format!("organizations/{organization}"),
                period_start: Some(govmedia_kit::clock::to_proto(
                    as_of - chrono::Duration::days(days),
                )),
                period_end: Some(govmedia_kit::clock::to_proto(as_of)),
                grouping: rpb::StatisticsGrouping::Account as i32,
            })
            .await
            .map_err(|status| unanswered(WHAT, &status))?
            .into_inner();
        Ok(statistics
            .rows
            .into_iter()
            .map(|row| {
                (
                    row.key,
                    CaseCounts {
                        received: i64::from(row.received),
                        answered: i64::from(row.answered),
                        overdue: i64::from(row.overdue),
                        rated: i64::from(row.rated),
                        satisfied: i64::from(row.satisfied),
                    },
                )
            })
            .collect())
    }

    /// The replies published through the accounts of the subtree of `organization` (of
    /// `account` alone when given) over the `days` before `as_of`, with their account ids,
    /// unscanned.
    async fn replies(
        &self,
        organization: &str,
        account: Option<&str>,
        as_of: DateTime<Utc>,
        days: i64,
    ) -> Result<Vec<(String, Answer)>, String> {
        const WHAT: &str = "留言办理服务";
        let (channel, credentials) = reach(self.routing.as_ref(), WHAT, "routing_endpoint")?;
        let mut client = RoutingServiceClient::with_interceptor(channel, credentials)
            .max_decoding_message_size(MAX_ANSWER_BYTES);
        let mut answers = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_published_replies(rpb::ListPublishedRepliesRequest {
                    organization: format!("organizations/{organization}"),
                    account: account
                        .map(|id| format!("accounts/{id}"))
                        .unwrap_or_default(),
                    period_start: Some(govmedia_kit::clock::to_proto(
                        as_of - chrono::Duration::days(days),
                    )),
                    period_end: Some(govmedia_kit::clock::to_proto(as_of)),
                    page_size: REPLY_PAGE,
                    page_token,
                })
                .await
                .map_err(|status| unanswered(WHAT, &status))?
                .into_inner();
            for reply in page.replies {
                let Some(account) = reply.account.strip_prefix("accounts/") else {
                    continue;
                };
                answers.push((
                    account.to_owned(),
                    Answer {
                        case: reply.r#case,
                        round: reply.round,
                        text: reply.text,
                        published: reply
                            .published_time
                            .as_ref()
                            .and_then(govmedia_kit::clock::from_proto)
                            .unwrap_or(as_of),
                        department: reply.department,
                        hits: Vec::new(),
                    },
                ));
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        Ok(answers)
    }

    async fn approvals(
        &self,
        account: &Account,
        posts: &[&Post],
    ) -> Result<BTreeMap<String, bool>, String> {
        const WHAT: &str = "先审后发服务";
        let (channel, credentials) = reach(self.routing.as_ref(), WHAT, "routing_endpoint")?;
        let client = RoutingServiceClient::with_interceptor(channel, credentials);
        let name = format!("accounts/{}", account.id);
        // Owned futures: each asks with its own clone of the client.
        let lookups: Vec<_> = posts
            .iter()
            .map(|post| {
                let (mut client, account) = (client.clone(), name.clone());
                let (id, content_hash) = (post.id.clone(), post.content_hash.clone());
                async move {
                    let found = client
                        .lookup_approved_content(rpb::LookupApprovedContentRequest {
                            content_hash,
                            text: String::new(),
                            account,
                        })
                        .await
                        .map_err(|status| unanswered(WHAT, &status))?
                        .into_inner();
                    Ok::<_, String>((id, !found.matches.is_empty()))
                }
            })
            .collect();
        let answers: Vec<Result<(String, bool), String>> = futures::stream::iter(lookups)
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        answers.into_iter().collect()
    }

    /// The rows of the rosters imported anywhere in the service's tree (a city may import one
    /// for all its units) that still list the cancelled account (the filing service's
    /// reconciliation: ZOMBIE). Only a check of a cancelled account asks, and runs and spot
    /// checks take active accounts, so the reconciliation of the whole tree is asked rarely.
    async fn listings(&self, account: &Account) -> Result<Vec<Listing>, String> {
        const WHAT: &str = "备案服务";
        let (channel, credentials) = reach(self.filing.as_ref(), WHAT, "filing_endpoint")?;
        let mut client = FilingServiceClient::with_interceptor(channel, credentials);
        let name = format!("accounts/{}", account.id);
        let mut listings = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .reconcile(fpb::ReconcileRequest {
                    organization: format!("organizations/{}", self.root),
                    r#type: fpb::DiscrepancyType::Zombie as i32,
                    page_size: 500,
                    page_token,
                })
                .await
                .map_err(|status| unanswered(WHAT, &status))?
                .into_inner();
            listings.extend(
                page.discrepancies
                    .into_iter()
                    .filter(|discrepancy| discrepancy.account == name)
                    .map(|discrepancy| Listing {
                        roster: discrepancy.roster_organization,
                        line: discrepancy.roster_line,
                        platform_account_id: discrepancy.platform_account_id,
                        detail: discrepancy.detail,
                    }),
            );
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        Ok(listings)
    }

    /// The suspensions and cancellations applied in `[start, end)` to accounts of the subtree
    /// of `organization`, as the filing service reported them to the government offices
    /// why not, when it cannot tell.
    pub async fn closures(
        &self,
        organization: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<crate::domain::rollup::Closures, String> {
        const WHAT: &str = "备案服务";
        let (channel, credentials) = reach(self.filing.as_ref(), WHAT, "filing_endpoint")?;
        let mut client = FilingServiceClient::with_interceptor(channel, credentials);
        let mut closures = crate::domain::rollup::Closures::default();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_closure_reports(fpb::ListClosureReportsRequest {
                    organization: format!("organizations/{organization}"),
                    page_size: 500,
                    page_token,
                })
                .await
                .map_err(|status| unanswered(WHAT, &status))?
                .into_inner();
            let mut older = false;
            for report in page.reports {
                let applied = report
                    .applied_time
                    .as_ref()
                    .and_then(govmedia_kit::clock::from_proto);
                match applied {
                    Some(at) if at >= end => continue,
                    Some(at) if at < start => {
                        // Newest first: the rest are older still.
                        older = true;
                        break;
                    }
                    None => continue,
                    Some(_) => {}
                }
                match fpb::FilingKind::try_from(report.kind) {
                    Ok(fpb::FilingKind::Suspend) => closures.suspended += 1,
                    Ok(fpb::FilingKind::Cancel) => closures.cancelled += 1,
                    _ => continue,
                }
                if report.enforced {
                    closures.enforced += 1;
                }
            }
            if older || page.next_page_token.is_empty() {
                return Ok(closures);
            }
            page_token = page.next_page_token;
        }
    }

    async fn signals(&self, account: &Account) -> Result<Vec<VendorSignal>, String> {
        const WHAT: &str = "代运营机构服务";
        let (channel, credentials) = reach(self.vendor.as_ref(), WHAT, "vendor_endpoint")?;
        let mut client = VendorServiceClient::with_interceptor(channel, credentials);
        let response = client
            .list_oversight_signals(vpb::ListOversightSignalsRequest {
                organization: format!("organizations/{}", account.organization),
                kind: 0,
            })
            .await
            .map_err(|status| unanswered(WHAT, &status))?
            .into_inner();
        let name = format!("accounts/{}", account.id);
        Ok(response
            .signals
            .into_iter()
            .filter(|signal| signal.account == name)
            .map(|signal| VendorSignal {
                kind: vpb::SignalKind::try_from(signal.kind)
                    .map(|kind| {
                        kind.as_str_name()
                            .trim_start_matches("SIGNAL_KIND_")
                            .to_owned()
                    })
                    .unwrap_or_else(|_| signal.kind.to_string()),
                key: signal.key,
                vendor: signal.vendor,
                description: signal.description,
                facts: signal
                    .evidence
                    .into_iter()
                    .map(|fact| (fact.name, fact.value))
                    .collect(),
            })
            .collect())
    }
}
