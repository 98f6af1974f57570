//! The clean-out report (清理, R-42): the accounts a vendor's delegations handed to it, by
//! unit, as JSON or as the kit's bilingual workbook.

use govmedia_kit::{
    auth::Principal,
    error::{ApiError, Violations},
    table::{self, Column},
    validate, worker,
};
use govmedia_proto::vendor::v1 as pb;
use serde_json::{Value, json};

use super::{Caller, VendorApi, convert, unvalidated, visible};
use crate::{domain::HandoverState, error::VendorError, store};

/// The columns of the report, in order.
const COLUMNS: [Column; 9] = [
    Column {
        key: "organization",
        zh: "单位",
        en: "Organization",
    },
    Column {
        key: "account",
        zh: "账号",
        en: "Account",
    },
    Column {
        key: "delegation",
        zh: "委托",
        en: "Delegation",
    },
    Column {
        key: "handover",
        zh: "交接状态",
        en: "Handover",
    },
    Column {
        key: "start_filing",
        zh: "交接备案",
        en: "Start filing",
    },
    Column {
        key: "end_filing",
        zh: "收回备案",
        en: "Return filing",
    },
    Column {
        key: "detail",
        zh: "说明",
        en: "Detail",
    },
    Column {
        key: "vendor_status",
        zh: "机构状态",
        en: "Vendor status",
    },
    Column {
        key: "clean_out_flag",
        zh: "清理标记",
        en: "Clean-out flag",
    },
];

/// Name of the sheet in the workbook.
const SHEET: &str = "清理 Clean-out";

pub(super) async fn clean_out(
    api: &VendorApi,
    principal: &Principal,
    req: pb::ExportCleanOutReportRequest,
) -> Result<pb::ExportCleanOutReportResponse, VendorError> {
    let mut v = Violations::new();
    let id = validate::resource_id(&mut v, "vendor", &req.vendor, "vendors", true);
    let format = validate::enum_value(&mut v, "format", req.format, true, |value| {
        pb::ReportFormat::try_from(value)
            .ok()
            .filter(|format| *format != pb::ReportFormat::Unspecified)
    });
    v.finish()?;
    let (Some(id), Some(format)) = (id, format) else {
        return Err(unvalidated("vendor"));
    };
    let jurisdiction = api.jurisdiction(principal).await?;
    let conn = api.conn();
    let vendor = visible(conn, &Caller::Official(jurisdiction.clone()), &id).await?;
    // Every account a delegation in the caller's jurisdiction handed to the vendor or is
    // handing to it; one that never reached it is not affected.
    let mut rows: Vec<Vec<String>> = Vec::new();
    for delegation in store::delegations::of_vendor(conn, &vendor.id).await? {
        if !delegation.organization_path.starts_with(&jurisdiction.path) {
            continue;
        }
        for handover in &delegation.handovers {
            if handover.state == HandoverState::Refused {
                continue;
            }
            rows.push(vec![
                convert::organization_name(&delegation.organization),
                convert::account_name(&handover.account),
                delegation.name(),
                handover.state.to_string(),
                convert::filing_name(&handover.start_filing),
                handover
                    .end_filing
                    .as_deref()
                    .map(convert::filing_name)
                    .unwrap_or_default(),
                handover.detail.clone(),
                vendor.status.to_string(),
                vendor.clean_out_flag.clone(),
            ]);
        }
    }
    // And every account the ledger says the vendor operates without a delegation handing it
    // over (a CHANGE filed by hand): clean-out concerns it all the same.
    let delegated: std::collections::HashSet<String> =
        rows.iter().map(|row| row[1].clone()).collect();
    for account in api
        .registry
        .as_caller(principal)
        .accounts_operated_by(&jurisdiction.id, &vendor.id)
        .await?
    {
        if delegated.contains(&account.name) {
            continue;
        }
        rows.push(vec![
            account.organization.clone(),
            account.name.clone(),
            String::new(),
            "UNDELEGATED".to_owned(),
            String::new(),
            String::new(),
            "the ledger names the vendor as operator, but no delegation hands the account to it"
                .to_owned(),
            vendor.status.to_string(),
            vendor.clean_out_flag.clone(),
        ]);
    }
    rows.sort();
    let accounts = rows.len();
    let units = {
        let mut names: Vec<&String> = rows.iter().map(|row| &row[0]).collect();
        names.dedup();
        names.len()
    };
    let stamp = api.writer.clock().now().format("%Y%m%dT%H%MZ");
    let base = format!("govmedia-clean-out-{}-{stamp}", vendor.id);
    let (file_name, media_type, content) = match format {
        pb::ReportFormat::Xlsx => {
            let content = worker::blocking("writing the clean-out workbook", move || {
                table::xlsx(SHEET, &COLUMNS, &rows)
                    .map_err(|error| ApiError::internal("writing the clean-out workbook", &error))
            })
            .await??;
            (format!("{base}.xlsx"), table::XLSX_MEDIA_TYPE, content)
        }
        pb::ReportFormat::Json | pb::ReportFormat::Unspecified => {
            let document = json!({
                "vendor": vendor.name(),
                "vendor_status": vendor.status.as_str(),
                "clean_out_flag": vendor.clean_out_flag,
                "generated_time": api.writer.clock().now(),
                "units": by_unit(&rows),
            });
            (
                format!("{base}.json"),
                table::JSON_MEDIA_TYPE,
                serde_json::to_vec_pretty(&document).unwrap_or_default(),
            )
        }
    };
    Ok(pb::ExportCleanOutReportResponse {
        file_name,
        media_type: media_type.to_owned(),
        content,
        accounts: accounts as i32,
        units: units as i32,
    })
}

/// The rows (sorted by unit) grouped by unit, each account an object keyed by the columns.
fn by_unit(rows: &[Vec<String>]) -> Vec<Value> {
    let mut units: Vec<Value> = Vec::new();
    let mut current: Option<(String, Vec<Value>)> = None;
    for row in rows {
        let account: serde_json::Map<String, Value> = COLUMNS[1..7]
            .iter()
            .zip(&row[1..7])
            .map(|(column, value)| (column.key.to_owned(), Value::String(value.clone())))
            .collect();
        match &mut current {
            Some((unit, accounts)) if *unit == row[0] => accounts.push(Value::Object(account)),
            _ => {
                if let Some((unit, accounts)) = current.take() {
                    units.push(json!({ "organization": unit, "accounts": accounts }));
                }
                current = Some((row[0].clone(), vec![Value::Object(account)]));
            }
        }
    }
    if let Some((unit, accounts)) = current {
        units.push(json!({ "organization": unit, "accounts": accounts }));
    }
    units
}
