//! The only code that calls the filing service: filing and submitting the CHANGE filings that
//! hand a delegation's accounts over (operator → the vendor) and back (operator → the unit). The
//! service files them under its own identity (SYSTEM, rooted at `vendor.system_organization`),
//! in the unit's name; the unit's leader consents and the management department decides, as for
//! any filing.

use std::{sync::Arc, time::Duration};

use govmedia_kit::{
    auth::Principal,
    client::{Credentials, Peer},
    identity::Identity,
};
use govmedia_proto::{
    filing::v1::{self as pb, filing_service_client::FilingServiceClient},
    registry::v1 as rpb,
};
use tonic::{Code, Status, codegen::InterceptedService, transport::Channel};

use crate::config::VendorConfig;

/// The filing service's name as an audience of identities.
pub const AUDIENCE: &str = "filing";

type Client = FilingServiceClient<InterceptedService<Channel, Credentials>>;

/// A handover filing to make.
#[derive(Clone, Debug)]
pub struct HandoverFiling {
    /// Its id (derived from the delegation, the account and the phase).
    pub id: String,
    /// The unit, `organizations/{id}` form built here from the id.
    pub organization: String,
    /// The account's id.
    pub account: String,
    /// The vendor's id to hand it to, or `None` to hand it back to the unit.
    pub vendor: Option<String>,
    /// Why, in the unit's words (names the delegation).
    pub reason: String,
}

/// The vendor service's client of the filing service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Filings(Peer);

impl Filings {
    /// A client of the filing service at `config.filing_endpoint`, speaking as the service's
    /// own identity rooted at `config.system_organization`; connects on first use.
    pub fn new(
        config: &VendorConfig,
        identity: Arc<Identity>,
    ) -> Result<Self, govmedia_kit::endpoints::BadTarget> {
        Ok(Self(Peer::new(
            &config.filing_endpoint,
            Duration::from_millis(config.filing_timeout_ms),
            identity,
            &config.system_organization,
            AUDIENCE,
        )?))
    }

    /// The service's own principal, as the filing service sees it.
    pub fn own_principal(&self) -> Principal {
        self.0.own_principal()
    }

    fn client(&self) -> Result<Client, Status> {
        Ok(FilingServiceClient::with_interceptor(
            self.0.channel(),
            self.0.credentials().map_err(Status::from)?,
        ))
    }

    /// Files `filing` and submits it to the unit's leader. Idempotent: the filing's id and the
    /// request ids are derived from it, so a retry after a lost answer finds the work done.
    pub async fn file(&self, filing: &HandoverFiling) -> Result<(), Status> {
        let mut client = self.client()?;
        let operator = match &filing.vendor {
            Some(vendor) => rpb::Operator {
                r#type: rpb::OperatorType::Vendor as i32,
                vendor: format!("vendors/{vendor}"),
            },
            None => rpb::Operator {
                r#type: rpb::OperatorType::Self_ as i32,
                vendor: String::new(),
            },
        };
        let created = client
            .create_filing(pb::CreateFilingRequest {
                filing_id: filing.id.clone(),
                filing: Some(pb::Filing {
                    organization: format!("organizations/{}", filing.organization),
                    kind: pb::FilingKind::Change as i32,
                    target_account: format!("accounts/{}", filing.account),
                    change_mask: Some(prost_types::FieldMask {
                        paths: vec!["operator".to_owned()],
                    }),
                    account: Some(rpb::Account {
                        operator: Some(operator),
                        ..Default::default()
                    }),
                    reason: filing.reason.clone(),
                    ..Default::default()
                }),
                request_id: filing.id.clone(),
            })
            .await;
        match created {
            Ok(_) => {}
            // Created by an earlier attempt whose idempotency key has since been forgotten.
            Err(status) if status.code() == Code::AlreadyExists => {}
            Err(status) => return Err(status),
        }
        let name = format!("filings/{}", filing.id);
        match client
            .submit_filing(pb::SubmitFilingRequest {
                name: name.clone(),
                request_id: format!("{}:submit", filing.id),
                ..Default::default()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(status) if status.code() == Code::FailedPrecondition => {
                // Submitted (or further) already, by an attempt whose answer was lost?
                let current = client
                    .get_filing(pb::GetFilingRequest { name })
                    .await?
                    .into_inner();
                let state = pb::FilingState::try_from(current.state).unwrap_or_default();
                if matches!(state, pb::FilingState::Draft | pb::FilingState::Returned) {
                    Err(status)
                } else {
                    Ok(())
                }
            }
            Err(status) => Err(status),
        }
    }

    /// Withdraws the filing `id` this service filed (as its creator), before a decision.
    /// NOT_FOUND when it was never filed; FAILED_PRECONDITION when it was decided already.
    pub async fn withdraw(&self, id: &str) -> Result<(), Status> {
        let mut client = self.client()?;
        let name = format!("filings/{id}");
        match client
            .withdraw_filing(pb::WithdrawFilingRequest {
                name: name.clone(),
                comment: "代运营委托已终止,撤回交接备案".to_owned(),
                request_id: format!("{id}:withdraw"),
                ..Default::default()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(status) if status.code() == Code::FailedPrecondition => {
                // Withdrawn already by an attempt whose answer was lost?
                let current = client
                    .get_filing(pb::GetFilingRequest { name })
                    .await?
                    .into_inner();
                if current.state == pb::FilingState::Withdrawn as i32 {
                    Ok(())
                } else {
                    Err(status)
                }
            }
            Err(status) => Err(status),
        }
    }
}
