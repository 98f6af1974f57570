//! Reports over a subtree: headcount, coverage and the audit trail.

use std::collections::HashMap;

use govmedia_kit::{
    audit,
    auth::Principal,
    clock,
    error::Violations,
    paging::{Page, fingerprint},
    validate,
};
use govmedia_proto::registry::v1 as pb;

use super::{RegistryApi, convert, read_scope, scope_field};
use crate::{domain::AccountStatus, error::RegistryError, store};

pub(super) async fn count_accounts(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::CountAccountsRequest,
) -> Result<pb::CountAccountsResponse, RegistryError> {
    let mut v = Violations::new();
    let organization = scope_field(&mut v, "organization", &req.organization);
    let mut grouping = store::accounts::Grouping::default();
    for (index, dimension) in req.group_by.iter().enumerate() {
        let field = format!("group_by[{index}]");
        let slot = match pb::CountDimension::try_from(*dimension) {
            Ok(pb::CountDimension::Level) => &mut grouping.level,
            Ok(pb::CountDimension::Platform) => &mut grouping.platform,
            Ok(pb::CountDimension::Kind) => &mut grouping.kind,
            Ok(pb::CountDimension::Status) => &mut grouping.status,
            Ok(pb::CountDimension::Unspecified) => {
                v.add(field, "COUNT_DIMENSION_UNSPECIFIED is not a dimension");
                continue;
            }
            Err(_) => {
                v.add(field, format!("{dimension} is not a known value"));
                continue;
            }
        };
        if std::mem::replace(slot, true) {
            v.add(field, "repeats a dimension");
        }
    }
    v.finish()?;
    let scope = read_scope(api.conn(), principal, organization).await?;
    let count_time = api.now();
    let groups: Vec<pb::AccountCount> =
        store::accounts::headcount(api.conn(), &scope.path, grouping)
            .await?
            .into_iter()
            .map(|(level, platform, kind, status, count)| pb::AccountCount {
                level,
                platform,
                kind,
                status,
                count,
            })
            .collect();
    let total = groups.iter().map(|group| group.count).sum();
    Ok(pb::CountAccountsResponse {
        groups,
        total,
        count_time: Some(clock::to_proto(count_time)),
    })
}

pub(super) async fn coverage_gaps(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::ListCoverageGapsRequest,
) -> Result<pb::ListCoverageGapsResponse, RegistryError> {
    let mut v = Violations::new();
    let organization = scope_field(&mut v, "organization", &req.organization);
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[&principal.organization, &req.organization]),
    );
    v.finish()?;
    let scope = read_scope(api.conn(), principal, organization).await?;
    let mut orgs = store::organizations::coverage_gaps(
        api.conn(),
        &scope.path,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(&mut orgs, |org| org.id.clone());
    let ids: Vec<String> = orgs.iter().map(|org| org.id.clone()).collect();
    let mut counts: HashMap<(String, i32), i64> = HashMap::new();
    for (org, status, n) in store::accounts::status_counts(api.conn(), &ids).await? {
        counts.insert((org, status), n);
    }
    let count = |org: &str, status: AccountStatus| {
        counts
            .get(&(org.to_owned(), status as i32))
            .copied()
            .unwrap_or(0)
    };
    Ok(pb::ListCoverageGapsResponse {
        gaps: orgs
            .iter()
            .map(|org| pb::CoverageGap {
                organization: Some(convert::organization(org)),
                filed_accounts: count(&org.id, AccountStatus::Filed),
                suspended_accounts: count(&org.id, AccountStatus::Suspended),
            })
            .collect(),
        next_page_token,
        total_size: store::organizations::count_coverage_gaps(api.conn(), &scope.path).await?
            as i64,
    })
}

pub(super) async fn audit_records(
    api: &RegistryApi,
    principal: &Principal,
    req: pb::ListAuditRecordsRequest,
) -> Result<pb::ListAuditRecordsResponse, RegistryError> {
    let mut v = Violations::new();
    let organization = scope_field(&mut v, "organization", &req.organization);
    if !req.resource.is_empty() {
        validate::text(&mut v, "resource", &req.resource, 300, false);
    }
    let page = Page::parse(
        &mut v,
        req.page_size,
        &req.page_token,
        fingerprint(&[&principal.organization, &req.organization, &req.resource]),
    );
    v.finish()?;
    let before = page.after_number()?;
    let scope = read_scope(api.conn(), principal, organization).await?;
    let resource = (!req.resource.is_empty()).then_some(req.resource.as_str());
    let mut records = audit::list(
        api.conn(),
        &scope.path,
        resource,
        before,
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(&mut records, |record| record.seq.to_string());
    Ok(pb::ListAuditRecordsResponse {
        records: records.iter().map(convert::audit_record).collect(),
        next_page_token,
    })
}
