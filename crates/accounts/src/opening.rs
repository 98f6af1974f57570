//! One unit, one account per platform: a further account on a platform where the unit
//! has live accounts needs a justification, and every one of those accounts healthy (ACTIVE and
//! posting within the health window of the unit's region). The registry rules it
//! (`EvaluateAccountOpening`, and again when it registers an account); this module says what
//! the refusal looks like, wherever it is raised.

use govmedia_kit::error::{ApiError, ErrorCode, PreconditionViolation};
use govmedia_proto::common::v1::ErrorReason;

/// Why an opening is refused under R-03.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The platform's proto name, e.g. `PLATFORM_WEIBO`.
    pub platform: String,
    /// The unit's live accounts there (`accounts/{id}`), each with why it blocks, if it does.
    pub existing: Vec<(String, Option<String>)>,
    /// A justification is needed and none was given.
    pub justification_missing: bool,
}

impl Refusal {
    /// The one R-03 error: FAILED_PRECONDITION (ACCOUNT_LIMIT_PER_PLATFORM), with a
    /// JUSTIFICATION_REQUIRED violation naming `justification_field` (where the caller wrote it,
    /// e.g. `account.justification` or `filing.account.justification`) when one is missing,
    /// and an ACCOUNT_NOT_HEALTHY violation for every account that blocks.
    pub fn api_error(&self, justification_field: &str) -> ApiError {
        let mut error = ApiError::new(
            ErrorCode::FailedPrecondition,
            ErrorReason::AccountLimitPerPlatform,
            format!(
                "the unit already has {} live account(s) on {}",
                self.existing.len(),
                self.platform
            ),
        )
        .with_metadata("platform", self.platform.clone())
        .localized(
            "同一单位在同一平台原则上只开设一个账号;确需再开设的,须说明理由,且现有账号均须正常运行",
        );
        if self.justification_missing {
            error = error.with_precondition(PreconditionViolation {
                kind: "JUSTIFICATION_REQUIRED".to_owned(),
                subject: justification_field.to_owned(),
                description: "a further account on the platform needs a justification".to_owned(),
            });
        }
        for (account, problem) in &self.existing {
            if let Some(problem) = problem {
                error = error.with_precondition(PreconditionViolation {
                    kind: "ACCOUNT_NOT_HEALTHY".to_owned(),
                    subject: account.clone(),
                    description: problem.clone(),
                });
            }
        }
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_what_is_missing_and_what_blocks() {
        let refusal = Refusal {
            platform: "PLATFORM_WEIBO".into(),
            existing: vec![
                ("accounts/a".into(), Some("status is SUSPENDED".into())),
                ("accounts/b".into(), None),
            ],
            justification_missing: true,
        };
        let error = refusal.api_error("filing.account.justification");
        assert_eq!(error.code(), ErrorCode::FailedPrecondition);
        assert_eq!(error.reason(), ErrorReason::AccountLimitPerPlatform);
        assert!(error.message().contains("2 live account(s)"));
    }
}
