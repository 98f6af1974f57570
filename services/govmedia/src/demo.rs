//! The `--demo` dataset: Qinghai province → Haixi prefecture → Golmud city, its departments,
//! townships and a few dozen accounts (platform ids and people are fictional). It is loaded as
//! a client of the public API, so it passes the same validation, rules, events and audit trail
//! as any other data. It stands for a ledger kept before govmedia: `govmedia dev` holds every
//! service's keys, and loads it with the filing service's own identity, each account's
//! lifecycle citing a `filings/demo-…` filing as an applied filing would.

use std::fmt;

use anyhow::Context as _;
use govmedia_proto::{
    common::v1::{AccountKind, AdministrativeLevel, Platform},
    inspection::v1 as ipb,
    registry::v1::{self as pb, OrganizationKind},
    vendor::v1 as vpb,
};
use govmedia_registry_client::{Client, RegistryClient};
use serde::Deserialize;
use tonic::Code;

/// The root organization of the demo tree; `govmedia dev` issues its tokens for it.
pub const ROOT: &str = "qinghai";

const DATA: &str = include_str!("../demo/golmud.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dataset {
    organizations: Vec<Org>,
    accounts: Vec<Account>,
    custody: Vec<Custody>,
    vendors: Vec<DemoVendor>,
    posts: Vec<DemoPost>,
}

/// A post of a demo account, as a collector delivers it; its time relative to the load.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPost {
    account: String,
    platform_post_id: String,
    published_days_ago: f64,
    #[serde(default)]
    title: String,
    text: String,
    #[serde(default)]
    links: Vec<String>,
    media: String,
    original: bool,
    #[serde(default)]
    relayed_from: String,
    reads: i64,
}

/// An outsourcing vendor, registered by a management department's supervisor, vetted by two
/// outside assessors and approved. Times are relative to the load, so the data stays current.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoVendor {
    id: String,
    name: String,
    credit_code: String,
    /// The management department whose jurisdiction registers it.
    registered_by: String,
    /// The supervisor there who does.
    supervisor: String,
    contacts: Vec<VendorContact>,
    qualifications: Vec<DemoQualification>,
    /// The four dimension scores of its vetting, in the contract's order.
    scores: [i32; 4],
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VendorContact {
    name: String,
    title: String,
    phone: String,
    email: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoQualification {
    #[serde(rename = "type")]
    kind: String,
    number: String,
    issuer: String,
    issued_days_ago: i64,
    valid_days_left: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Org {
    id: String,
    parent: Option<String>,
    name: String,
    level: String,
    kind: String,
    #[serde(default)]
    management_department: bool,
    /// Said only where it differs from R-04's default (county-and-above governments and
    /// their departments).
    must_have_account: Option<bool>,
    credit_code: Option<String>,
    region_code: Option<String>,
    principal_leader: String,
    designated_deputy: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Person {
    name: String,
    title: String,
    phone: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Account {
    id: String,
    organization: String,
    platform: String,
    name: String,
    kind: String,
    status: String,
    platform_account_id: Option<String>,
    responsible: Person,
    verified_subject: String,
    followers: i64,
    last_post_days_ago: Option<i64>,
    vendor: Option<String>,
    justification: Option<String>,
    homepage_url: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Custody {
    account: String,
    custodian: String,
    title: String,
    phone: String,
    email: Option<String>,
    rotated_days_ago: Option<i64>,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

/// What was loaded.
#[derive(Debug)]
pub struct Summary {
    organizations: usize,
    accounts: usize,
    vendors: usize,
    posts: usize,
    already_present: bool,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.already_present {
            write!(f, "Demo data is already present; left as it is.")
        } else {
            write!(
                f,
                "Demo data loaded: {} organizations (Qinghai → Haixi → Golmud), {} accounts, {} vendors, {} posts of the last four weeks.",
                self.organizations, self.accounts, self.vendors, self.posts
            )
        }
    }
}

fn enum_value(
    name: &str,
    prefix: &str,
    parse: impl Fn(&str) -> Option<i32>,
) -> anyhow::Result<i32> {
    parse(&format!("{prefix}{name}"))
        .with_context(|| format!("unknown {prefix}{name} in the demo data"))
}

fn days_ago(days: i64) -> prost_types::Timestamp {
    govmedia_kit::clock::to_proto(chrono::Utc::now() - chrono::Duration::days(days))
}

/// Loads the dataset into the registry behind `client` (which speaks as the filing service,
/// rooted at [`ROOT`]), the vendor service through `vendors` and the inspection service
/// through `posts`, unless its root is already there.
pub async fn load(
    client: &RegistryClient,
    vendors: &Loader,
    posts: &Loader,
) -> anyhow::Result<Summary> {
    let data: Dataset =
        serde_json::from_str(DATA).context("the embedded demo data is malformed")?;
    let mut registry = client.as_service().raw()?;
    match registry
        .get_organization(pb::GetOrganizationRequest {
            name: format!("organizations/{ROOT}"),
        })
        .await
    {
        Ok(_) => {
            return Ok(Summary {
                organizations: 0,
                accounts: 0,
                vendors: 0,
                posts: 0,
                already_present: true,
            });
        }
        Err(status) if matches!(status.code(), Code::NotFound | Code::PermissionDenied) => {}
        Err(status) => return Err(status).context("checking for existing demo data"),
    }
    for org in &data.organizations {
        create_organization(&mut registry, org)
            .await
            .with_context(|| format!("organization {}", org.id))?;
    }
    for account in &data.accounts {
        create_account(client, &mut registry, account)
            .await
            .with_context(|| format!("account {}", account.id))?;
    }
    for custody in &data.custody {
        record_custody(&mut registry, custody)
            .await
            .with_context(|| format!("custody of {}", custody.account))?;
    }
    for vendor in &data.vendors {
        vendors
            .create(vendor)
            .await
            .with_context(|| format!("vendor {}", vendor.id))?;
    }
    posts.deliver(&data.posts).await.context("the demo posts")?;
    Ok(Summary {
        organizations: data.organizations.len(),
        accounts: data.accounts.len(),
        vendors: data.vendors.len(),
        posts: data.posts.len(),
        already_present: false,
    })
}

/// A service as the demo's people reach it: with the identity the gateway would mint for each
/// of them.
pub struct Loader {
    channel: tonic::transport::Channel,
    /// The gateway's identity, which vouches for people.
    gateway: govmedia_kit::identity::Identity,
}

impl Loader {
    /// A loader for the service at `endpoint`, vouching with `gateway`.
    pub fn new(endpoint: &str, gateway: govmedia_kit::identity::Identity) -> anyhow::Result<Self> {
        Ok(Self {
            channel: govmedia_kit::client::lazy(endpoint, std::time::Duration::from_secs(30))?,
            gateway,
        })
    }

    /// The credentials of `subject`, a supervisor of `organization`, calling `service`.
    fn credentials(
        &self,
        subject: &str,
        organization: &str,
        service: &str,
    ) -> anyhow::Result<govmedia_kit::client::Credentials> {
        let principal = govmedia_kit::auth::Principal {
            subject: subject.to_owned(),
            organization: organization.to_owned(),
            roles: [govmedia_kit::auth::Role::Supervisor].into(),
            issuer: "govmedia".to_owned(),
            service: None,
            basis: None,
        };
        let token = self.gateway.mint(&principal, service)?;
        Ok(govmedia_kit::client::Credentials::bearer(&token)?)
    }

    /// A vendor-service client speaking as `subject`, a supervisor of `organization`.
    fn supervisor(&self, subject: &str, organization: &str) -> anyhow::Result<Vendors> {
        Ok(
            vpb::vendor_service_client::VendorServiceClient::with_interceptor(
                self.channel.clone(),
                self.credentials(subject, organization, govmedia_vendor::NAME)?,
            ),
        )
    }

    /// Delivers `posts` to the inspection service as the collector of the province's management
    /// department, one stream.
    async fn deliver(&self, posts: &[DemoPost]) -> anyhow::Result<()> {
        let mut client = ipb::inspection_service_client::InspectionServiceClient::with_interceptor(
            self.channel.clone(),
            self.credentials(
                "demo-collector",
                "qinghai-office",
                govmedia_inspection::NAME,
            )?,
        );
        let now = chrono::Utc::now();
        let mut requests = Vec::with_capacity(posts.len());
        for post in posts {
            let published =
                now - chrono::Duration::seconds((post.published_days_ago * 86_400.0) as i64);
            requests.push(ipb::SubmitPostsRequest {
                post: Some(ipb::IncomingPost {
                    account: format!("accounts/{}", post.account),
                    platform_post_id: post.platform_post_id.clone(),
                    published_time: Some(govmedia_kit::clock::to_proto(published)),
                    title: post.title.clone(),
                    text: post.text.clone(),
                    links: post.links.clone(),
                    media_kind: enum_value(&post.media, "MEDIA_KIND_", |s| {
                        ipb::MediaKind::from_str_name(s).map(|v| v as i32)
                    })?,
                    reads: post.reads,
                    original: post.original,
                    relayed_from: post.relayed_from.clone(),
                    ..Default::default()
                }),
            });
        }
        let response = client
            .submit_posts(tokio_stream::iter(requests))
            .await?
            .into_inner();
        if let Some(refused) = response.results.iter().find(|r| r.response.is_none()) {
            anyhow::bail!(
                "post {} was refused: {}",
                refused.index,
                refused.error_message
            );
        }
        Ok(())
    }

    /// Registers, documents, vets and approves `vendor`.
    async fn create(&self, vendor: &DemoVendor) -> anyhow::Result<()> {
        let mut client = self.supervisor(&vendor.supervisor, &vendor.registered_by)?;
        let name = format!("vendors/{}", vendor.id);
        client
            .create_vendor(vpb::CreateVendorRequest {
                vendor_id: vendor.id.clone(),
                vendor: Some(vpb::Vendor {
                    display_name: vendor.name.clone(),
                    unified_social_credit_code: vendor.credit_code.clone(),
                    contacts: vendor
                        .contacts
                        .iter()
                        .map(|contact| vpb::VendorContact {
                            display_name: contact.name.clone(),
                            title: contact.title.clone(),
                            phone: contact.phone.clone(),
                            email: contact.email.clone(),
                        })
                        .collect(),
                    ..Default::default()
                }),
                request_id: format!("demo-vendor-{}", vendor.id),
            })
            .await?;
        for (index, qualification) in vendor.qualifications.iter().enumerate() {
            let now = chrono::Utc::now();
            client
                .add_qualification(vpb::AddQualificationRequest {
                    vendor: name.clone(),
                    qualification: Some(vpb::Qualification {
                        r#type: enum_value(&qualification.kind, "QUALIFICATION_TYPE_", |s| {
                            vpb::QualificationType::from_str_name(s).map(|v| v as i32)
                        })?,
                        number: qualification.number.clone(),
                        issuer: qualification.issuer.clone(),
                        valid_from: Some(days_ago(qualification.issued_days_ago)),
                        valid_until: Some(govmedia_kit::clock::to_proto(
                            now + chrono::Duration::days(qualification.valid_days_left),
                        )),
                        file: Some(vpb::FileReference {
                            uri: format!("dms://demo/{}/{}.pdf", vendor.id, qualification.number),
                            sha256: demo_sha256(&qualification.number),
                        }),
                        ..Default::default()
                    }),
                    etag: String::new(),
                    request_id: format!("demo-vendor-{}-q{index}", vendor.id),
                })
                .await?;
        }
        let dimensions = [
            vpb::VettingDimension::Dissemination,
            vpb::VettingDimension::MediaOperation,
            vpb::VettingDimension::PoliticalSensitivity,
            vpb::VettingDimension::PolicyUnderstanding,
        ];
        client
            .record_vetting(vpb::RecordVettingRequest {
                vendor: name.clone(),
                vetting: Some(vpb::Vetting {
                    assessors: vec![
                        vpb::Assessor {
                            display_name: "赵立新".into(),
                            affiliation: "青海大学新闻传播学院".into(),
                            affiliation_credit_code: "12630000MB0QHU001A".into(),
                        },
                        vpb::Assessor {
                            display_name: "钱文静".into(),
                            affiliation: "海西州委网信办".into(),
                            affiliation_credit_code: String::new(),
                        },
                    ],
                    scores: dimensions
                        .iter()
                        .zip(vendor.scores)
                        .map(|(dimension, score)| vpb::DimensionScore {
                            dimension: *dimension as i32,
                            score,
                            comment: "材料审查与现场考察".into(),
                        })
                        .collect(),
                    summary: "具备政务新媒体代运营能力,同意准入".into(),
                    ..Default::default()
                }),
                request_id: format!("demo-vendor-{}-vetting", vendor.id),
            })
            .await?;
        client
            .approve_vendor(vpb::ApproveVendorRequest {
                name,
                etag: String::new(),
                request_id: format!("demo-vendor-{}-approve", vendor.id),
            })
            .await?;
        Ok(())
    }
}

type Vendors = vpb::vendor_service_client::VendorServiceClient<
    tonic::codegen::InterceptedService<
        tonic::transport::Channel,
        govmedia_kit::client::Credentials,
    >,
>;

/// The SHA-256 of a demo document's stand-in text (there is no scanned file behind it).
fn demo_sha256(number: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(format!("govmedia demo document {number}"))
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

async fn create_organization(registry: &mut Client, org: &Org) -> anyhow::Result<()> {
    registry
        .create_organization(pb::CreateOrganizationRequest {
            organization_id: org.id.clone(),
            organization: Some(pb::Organization {
                parent: org
                    .parent
                    .as_deref()
                    .map(|p| format!("organizations/{p}"))
                    .unwrap_or_default(),
                display_name: org.name.clone(),
                level: enum_value(&org.level, "ADMINISTRATIVE_LEVEL_", |s| {
                    AdministrativeLevel::from_str_name(s).map(|v| v as i32)
                })?,
                kind: enum_value(&org.kind, "ORGANIZATION_KIND_", |s| {
                    OrganizationKind::from_str_name(s).map(|v| v as i32)
                })?,
                management_department: org.management_department,
                must_have_account: org.must_have_account,
                principal_leader: org.principal_leader.clone(),
                designated_deputy: org.designated_deputy.clone().unwrap_or_default(),
                unified_social_credit_code: org.credit_code.clone().unwrap_or_default(),
                region_code: org.region_code.clone().unwrap_or_default(),
                ..Default::default()
            }),
            request_id: format!("demo-org-{}", org.id),
        })
        .await?;
    Ok(())
}

async fn create_account(
    client: &RegistryClient,
    registry: &mut Client,
    account: &Account,
) -> anyhow::Result<()> {
    let name = format!("accounts/{}", account.id);
    let filing = |what: &str| format!("filings/demo-{what}-{}", account.id);
    client
        .applying(&filing("open"))
        .raw()?
        .create_account(pb::CreateAccountRequest {
            account_id: account.id.clone(),
            account: Some(pb::Account {
                organization: format!("organizations/{}", account.organization),
                platform: enum_value(&account.platform, "PLATFORM_", |s| {
                    Platform::from_str_name(s).map(|v| v as i32)
                })?,
                display_name: account.name.clone(),
                kind: enum_value(&account.kind, "ACCOUNT_KIND_", |s| {
                    AccountKind::from_str_name(s).map(|v| v as i32)
                })?,
                operator: Some(match &account.vendor {
                    Some(vendor) => pb::Operator {
                        r#type: pb::OperatorType::Vendor as i32,
                        vendor: format!("vendors/{vendor}"),
                    },
                    None => pb::Operator {
                        r#type: pb::OperatorType::Self_ as i32,
                        vendor: String::new(),
                    },
                }),
                responsible_person: Some(pb::Contact {
                    name: account.responsible.name.clone(),
                    title: account.responsible.title.clone(),
                    phone: account.responsible.phone.clone(),
                }),
                verified_subject: account.verified_subject.clone(),
                justification: account.justification.clone().unwrap_or_default(),
                homepage_url: account.homepage_url.clone().unwrap_or_default(),
                ..Default::default()
            }),
            filing: filing("open"),
            request_id: String::new(),
        })
        .await?;
    if account.status == "FILED" {
        return Ok(());
    }
    client
        .applying(&filing("open"))
        .raw()?
        .activate_account(pb::ActivateAccountRequest {
            name: name.clone(),
            platform_account_id: account.platform_account_id.clone().unwrap_or_default(),
            filing: filing("open"),
            ..Default::default()
        })
        .await?;
    registry
        .report_account_activity(pb::ReportAccountActivityRequest {
            name: name.clone(),
            last_post_time: account.last_post_days_ago.map(days_ago),
            follower_count: Some(account.followers),
            request_id: String::new(),
        })
        .await?;
    let reason = account.reason.clone().unwrap_or_default();
    match account.status.as_str() {
        "ACTIVE" => {}
        "SUSPENDED" => {
            client
                .applying(&filing("suspend"))
                .raw()?
                .suspend_account(pb::SuspendAccountRequest {
                    name,
                    filing: filing("suspend"),
                    reason,
                    ..Default::default()
                })
                .await?;
        }
        "CANCELLED" => {
            client
                .applying(&filing("cancel"))
                .raw()?
                .cancel_account(pb::CancelAccountRequest {
                    name,
                    filing: filing("cancel"),
                    reason,
                    ..Default::default()
                })
                .await?;
        }
        other => anyhow::bail!("unknown status {other} in the demo data"),
    }
    Ok(())
}

async fn record_custody(registry: &mut Client, custody: &Custody) -> anyhow::Result<()> {
    let name = format!("accounts/{}/credentialCustody", custody.account);
    let mut paths = vec![
        "custodian_name",
        "custodian_title",
        "custodian_active",
        "bound_phone",
    ];
    if custody.email.is_some() {
        paths.push("bound_email");
    }
    registry
        .update_credential_custody(pb::UpdateCredentialCustodyRequest {
            credential_custody: Some(pb::CredentialCustody {
                name: name.clone(),
                custodian_name: custody.custodian.clone(),
                custodian_title: custody.title.clone(),
                custodian_active: custody.active,
                bound_phone: custody.phone.clone(),
                bound_email: custody.email.clone().unwrap_or_default(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.into_iter().map(str::to_owned).collect(),
            }),
            allow_missing: true,
            request_id: String::new(),
        })
        .await?;
    if let Some(days) = custody.rotated_days_ago {
        registry
            .record_credential_rotation(pb::RecordCredentialRotationRequest {
                name,
                rotate_time: Some(days_ago(days)),
                request_id: String::new(),
            })
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dataset_parses_and_names_known_values() {
        let data: Dataset = serde_json::from_str(DATA).expect("demo data");
        assert!(data.organizations.len() >= 20);
        assert!(data.accounts.len() >= 30);
        for account in &data.accounts {
            enum_value(&account.platform, "PLATFORM_", |s| {
                Platform::from_str_name(s).map(|v| v as i32)
            })
            .expect("platform");
            assert!(
                data.organizations
                    .iter()
                    .any(|o| o.id == account.organization),
                "{}",
                account.id
            );
        }
        for post in &data.posts {
            enum_value(&post.media, "MEDIA_KIND_", |s| {
                ipb::MediaKind::from_str_name(s).map(|v| v as i32)
            })
            .expect("media kind");
            assert!(
                data.accounts.iter().any(|a| a.id == post.account),
                "{}",
                post.platform_post_id
            );
        }
    }
}
