//! Reports as documents. The quarterly bulletin (R-20): one HTML file that opens in any browser without
//! network access (inline CSS and SVG charts, no script, a Content-Security-Policy that forbids
//! every outside resource), and an XLSX workbook of the kit's bilingual tables, one sheet per
//! section. Every number of the HTML sits in an element marked `data-metric` (and, for the
//! category and deduction rows, `data-category` or `data-item`), so a reader — or a test in a
//! real browser — finds the same numbers GetBulletin gives. The annual rollup (R-24): a
//! workbook of the kit's bilingual sheets.

use std::fmt::Write;

use govmedia_kit::table::{Column, Sheet, XlsxError, xlsx_sheets};

use crate::domain::{
    bulletin::{Bulletin, Edition},
    rollup::Rollup,
};

/// Media type of the HTML document.
pub const HTML_MEDIA_TYPE: &str = "text/html; charset=utf-8";

/// Text for HTML: the five characters that could open markup or an attribute, escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `2026-Q4` in the bulletins' words: `2026年第四季度`.
pub fn quarter_zh(bulletin: &Bulletin) -> String {
    let n = ["一", "二", "三", "四"]
        .get(bulletin.quarter.quarter.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("");
    format!("{}年第{n}季度", bulletin.quarter.year)
}

/// The title of the bulletin.
pub fn title(bulletin: &Bulletin) -> String {
    format!(
        "{}{}政务新媒体检查情况通报",
        bulletin.display_name,
        quarter_zh(bulletin)
    )
}

/// A horizontal bar chart of `rows` (label, value) as inline SVG, titled `caption`.
fn bars(caption: &str, rows: &[(String, f64, &str)]) -> String {
    const WIDTH: f64 = 640.0;
    const LABEL: f64 = 180.0;
    const ROW: f64 = 28.0;
    let max = rows
        .iter()
        .map(|(_, value, _)| *value)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let height = ROW * rows.len().max(1) as f64 + 8.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}"><title>{}</title>"#,
        escape(caption)
    );
    if rows.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="0" y="20" font-size="14" fill="#555">无</text>"##
        );
    }
    for (i, (label, value, color)) in rows.iter().enumerate() {
        let y = ROW * i as f64 + 4.0;
        let width = ((WIDTH - LABEL - 60.0) * value / max).max(1.0);
        let _ = write!(
            svg,
            r##"<text x="0" y="{ty}" font-size="13" fill="#222">{label}</text><rect x="{LABEL}" y="{y}" width="{width:.1}" height="20" fill="{color}"/><text x="{vx:.1}" y="{ty}" font-size="13" fill="#222">{value}</text>"##,
            ty = y + 15.0,
            label = escape(label),
            vx = LABEL + width + 6.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The bulletin as one HTML document.
pub fn bulletin_html(bulletin: &Bulletin) -> String {
    let internal = bulletin.edition == Edition::Internal;
    let title = title(bulletin);
    let mut page = String::with_capacity(16 * 1024);
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 2em auto; max-width: 56em; color: #222; line-height: 1.6; }}
h1 {{ font-size: 1.6em; text-align: center; }}
h2 {{ font-size: 1.2em; border-bottom: 1px solid #ccc; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1em; }}
th, td {{ border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; }}
.meta {{ text-align: center; color: #555; }}
.draft {{ border: 2px solid #b00; color: #b00; padding: 0.5em; text-align: center; font-weight: bold; }}
</style>
</head>
<body data-organization="{organization}" data-period="{period}" data-edition="{edition}" data-draft="{draft}">
<h1>{title}</h1>
<p class="meta">{edition_zh} · 统计截至 {as_of}</p>
"#,
        title = escape(&title),
        organization = escape(&format!("organizations/{}", bulletin.organization)),
        period = bulletin.quarter,
        edition = bulletin.edition.as_str(),
        draft = bulletin.draft,
        edition_zh = if internal { "内部版" } else { "公开版" },
        as_of = bulletin
            .as_of
            .with_timezone(&govmedia_kit::calendar::SHANGHAI)
            .format("%Y-%m-%d %H:%M (+08:00)"),
    );
    if bulletin.draft {
        page.push_str(
            "<p class=\"draft\" id=\"draft\">草稿：本季度尚未结束，数据仅供内部参考，不得公开</p>\n",
        );
    }
    // 一、总体情况
    let _ = write!(
        page,
        r#"<section id="summary">
<h2>一、总体情况</h2>
<table>
<tr><th>检查账号数</th><td class="n" data-metric="accounts_checked">{checked}</td></tr>
<tr><th>合格</th><td class="n" data-metric="passed">{passed}</td></tr>
<tr><th>不合格</th><td class="n" data-metric="failed">{failed}</td></tr>
<tr><th>未能完成评估</th><td class="n" data-metric="incomplete">{incomplete}</td></tr>
<tr><th>合格率</th><td class="n" data-metric="pass_rate" data-value="{rate}">{percent:.1}%</td></tr>
</table>
{chart}
</section>
"#,
        checked = bulletin.checked,
        passed = bulletin.passed,
        failed = bulletin.failed,
        incomplete = bulletin.incomplete,
        rate = bulletin.pass_rate(),
        percent = bulletin.pass_rate() * 100.0,
        chart = bars(
            "检查结果",
            &[
                ("合格".to_owned(), f64::from(bulletin.passed), "#2e7d32"),
                ("不合格".to_owned(), f64::from(bulletin.failed), "#c62828"),
                (
                    "未能完成评估".to_owned(),
                    f64::from(bulletin.incomplete),
                    "#9e9e9e"
                ),
            ],
        ),
    );
    // 二、单项否决
    page.push_str("<section id=\"vetoes\">\n<h2>二、单项否决问题</h2>\n<table>\n<tr><th>问题类别</th><th>账号数</th></tr>\n");
    for veto in &bulletin.vetoes {
        let _ = writeln!(
            page,
            r#"<tr><td>{}</td><td class="n" data-metric="veto" data-category="{}">{}</td></tr>"#,
            veto.category.zh(),
            veto.category.as_str(),
            veto.accounts
        );
    }
    page.push_str("</table>\n");
    let rows: Vec<(String, f64, &str)> = bulletin
        .vetoes
        .iter()
        .map(|veto| {
            (
                veto.category.zh().to_owned(),
                f64::from(veto.accounts),
                "#c62828",
            )
        })
        .collect();
    page.push_str(&bars("单项否决问题", &rows));
    page.push_str("\n</section>\n");
    // 三、扣分
    page.push_str("<section id=\"deductions\">\n<h2>三、扣分情况</h2>\n<table>\n<tr><th>指标</th><th>扣分账号数</th><th>合计扣分</th></tr>\n");
    for deduction in &bulletin.deductions {
        let _ = writeln!(
            page,
            r#"<tr><td>{}</td><td class="n" data-metric="deduction_accounts" data-item="{}">{}</td><td class="n" data-metric="deduction_points" data-item="{}">{:.2}</td></tr>"#,
            escape(&deduction.title),
            escape(&deduction.item),
            deduction.accounts,
            escape(&deduction.item),
            deduction.points
        );
    }
    page.push_str("</table>\n</section>\n");
    // 四、整改
    let r = bulletin.rectification;
    let _ = write!(
        page,
        r#"<section id="rectification">
<h2>四、整改情况</h2>
<table>
<tr><th>本季度下发整改通知</th><td class="n" data-metric="rectification_opened">{}</td></tr>
<tr><th>已整改到位（核验办结）</th><td class="n" data-metric="rectification_verified">{}</td></tr>
<tr><th>整改中</th><td class="n" data-metric="rectification_in_progress">{}</td></tr>
<tr><th>逾期未整改</th><td class="n" data-metric="rectification_overdue">{}</td></tr>
</table>
{}
</section>
"#,
        r.opened,
        r.verified,
        r.in_progress,
        r.overdue,
        bars(
            "整改情况",
            &[
                ("已整改到位".to_owned(), f64::from(r.verified), "#2e7d32"),
                ("整改中".to_owned(), f64::from(r.in_progress), "#f9a825"),
                ("逾期未整改".to_owned(), f64::from(r.overdue), "#c62828"),
            ],
        )
    );
    // 五、通报批评
    let _ = writeln!(
        page,
        "<section id=\"criticised\">\n<h2>五、通报批评</h2>\n<p>本季度通报批评单位 <span data-metric=\"criticised_units\">{}</span> 个。</p>\n<ul>",
        bulletin.criticised.len()
    );
    for unit in &bulletin.criticised {
        let _ = writeln!(
            page,
            "<li>{}：{}</li>",
            escape(&unit.display_name),
            escape(&unit.notices.join("；"))
        );
    }
    page.push_str("</ul>\n</section>\n");
    // 六、不合格账号
    let _ = writeln!(
        page,
        "<section id=\"failing\">\n<h2>六、检查不合格账号</h2>\n<table>\n<tr><th>单位</th><th>账号</th><th>问题类别</th>{}</tr>",
        if internal { "<th>问题</th>" } else { "" }
    );
    for account in &bulletin.failing {
        let mut categories: Vec<String> = account
            .categories
            .iter()
            .map(|c| c.zh().to_owned())
            .collect();
        if categories.is_empty()
            && let Some(score) = account.score
        {
            categories.push(format!("得分 {score:.2} 未达标"));
        }
        let _ = write!(
            page,
            r#"<tr data-account="{}"><td>{}</td><td>{}</td><td>{}</td>"#,
            escape(&format!("accounts/{}", account.account)),
            escape(&account.organization_display_name),
            escape(&account.display_name),
            categories.join("、"),
        );
        if internal {
            let _ = write!(page, "<td>{}</td>", escape(&account.problems.join("；")));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n</section>\n");
    if internal && !bulletin.notes.is_empty() {
        page.push_str("<section id=\"notes\">\n<h2>附：统计说明（内部）</h2>\n<ul>\n");
        for note in &bulletin.notes {
            let _ = writeln!(page, "<li>{}</li>", escape(note));
        }
        page.push_str("</ul>\n</section>\n");
    }
    page.push_str("</body>\n</html>\n");
    page
}

const SUMMARY: &[Column] = &[
    Column {
        key: "metric",
        zh: "指标",
        en: "Metric",
    },
    Column {
        key: "value",
        zh: "数值",
        en: "Value",
    },
];

const VETOES: &[Column] = &[
    Column {
        key: "category",
        zh: "问题类别",
        en: "Category",
    },
    Column {
        key: "category_code",
        zh: "类别代码",
        en: "Category code",
    },
    Column {
        key: "accounts",
        zh: "账号数",
        en: "Accounts",
    },
];

const DEDUCTIONS: &[Column] = &[
    Column {
        key: "item",
        zh: "指标代码",
        en: "Item",
    },
    Column {
        key: "title",
        zh: "指标",
        en: "Title",
    },
    Column {
        key: "accounts",
        zh: "扣分账号数",
        en: "Accounts",
    },
    Column {
        key: "points",
        zh: "合计扣分",
        en: "Points",
    },
];

const CRITICISED: &[Column] = &[
    Column {
        key: "organization",
        zh: "单位代码",
        en: "Organization",
    },
    Column {
        key: "display_name",
        zh: "单位",
        en: "Unit",
    },
    Column {
        key: "notices",
        zh: "通报",
        en: "Notices",
    },
];

const FAILING: &[Column] = &[
    Column {
        key: "organization",
        zh: "单位",
        en: "Unit",
    },
    Column {
        key: "account",
        zh: "账号代码",
        en: "Account",
    },
    Column {
        key: "display_name",
        zh: "账号",
        en: "Account name",
    },
    Column {
        key: "categories",
        zh: "问题类别",
        en: "Categories",
    },
    Column {
        key: "problems",
        zh: "问题（内部）",
        en: "Problems (internal)",
    },
];

/// The bulletin as a workbook: 概况 Summary, 单项否决 Vetoes, 扣分 Deductions, 通报批评
/// Criticised, 不合格账号 Failing (the problems column only in the internal edition).
pub fn bulletin_xlsx(bulletin: &Bulletin) -> Result<Vec<u8>, XlsxError> {
    let r = bulletin.rectification;
    let summary = vec![
        vec!["通报 Bulletin".to_owned(), title(bulletin)],
        vec!["季度 Quarter".to_owned(), bulletin.quarter.to_string()],
        vec![
            "版本 Edition".to_owned(),
            format!(
                "{}{}",
                bulletin.edition.as_str(),
                if bulletin.draft {
                    " (草稿 DRAFT)"
                } else {
                    ""
                }
            ),
        ],
        vec!["统计截至 As of".to_owned(), bulletin.as_of.to_rfc3339()],
        vec![
            "检查账号数 Accounts checked".to_owned(),
            bulletin.checked.to_string(),
        ],
        vec!["合格 Passed".to_owned(), bulletin.passed.to_string()],
        vec!["不合格 Failed".to_owned(), bulletin.failed.to_string()],
        vec![
            "未能完成评估 Incomplete".to_owned(),
            bulletin.incomplete.to_string(),
        ],
        vec![
            "合格率 Pass rate".to_owned(),
            format!("{:.4}", bulletin.pass_rate()),
        ],
        vec![
            "下发整改通知 Orders opened".to_owned(),
            r.opened.to_string(),
        ],
        vec!["核验办结 Verified".to_owned(), r.verified.to_string()],
        vec!["整改中 In progress".to_owned(), r.in_progress.to_string()],
        vec!["逾期 Overdue".to_owned(), r.overdue.to_string()],
        vec![
            "通报批评单位 Units criticised".to_owned(),
            bulletin.criticised.len().to_string(),
        ],
    ];
    let internal = bulletin.edition == Edition::Internal;
    let sheets = [
        Sheet {
            name: "概况 Summary",
            columns: SUMMARY,
            rows: summary,
        },
        Sheet {
            name: "单项否决 Vetoes",
            columns: VETOES,
            rows: bulletin
                .vetoes
                .iter()
                .map(|veto| {
                    vec![
                        veto.category.zh().to_owned(),
                        veto.category.as_str().to_owned(),
                        veto.accounts.to_string(),
                    ]
                })
                .collect(),
        },
        Sheet {
            name: "扣分 Deductions",
            columns: DEDUCTIONS,
            rows: bulletin
                .deductions
                .iter()
                .map(|d| {
                    vec![
                        d.item.clone(),
                        d.title.clone(),
                        d.accounts.to_string(),
                        format!("{:.2}", d.points),
                    ]
                })
                .collect(),
        },
        Sheet {
            name: "通报批评 Criticised",
            columns: CRITICISED,
            rows: bulletin
                .criticised
                .iter()
                .map(|unit| {
                    vec![
                        format!("organizations/{}", unit.organization),
                        unit.display_name.clone(),
                        unit.notices.join("；"),
                    ]
                })
                .collect(),
        },
        Sheet {
            name: "不合格账号 Failing",
            columns: if internal {
                FAILING
            } else {
                &FAILING[..FAILING.len() - 1]
            },
            rows: bulletin
                .failing
                .iter()
                .map(|account| {
                    let mut row = vec![
                        account.organization_display_name.clone(),
                        format!("accounts/{}", account.account),
                        account.display_name.clone(),
                        account
                            .categories
                            .iter()
                            .map(|c| c.zh())
                            .collect::<Vec<_>>()
                            .join("、"),
                    ];
                    if internal {
                        row.push(account.problems.join("；"));
                    }
                    row
                })
                .collect(),
        },
    ];
    xlsx_sheets(&sheets)
}

const ROLLUP_FINDINGS: &[Column] = &[
    Column {
        key: "category",
        zh: "问题类别",
        en: "Category",
    },
    Column {
        key: "category_code",
        zh: "类别代码",
        en: "Category code",
    },
    Column {
        key: "findings",
        zh: "问题数",
        en: "Findings",
    },
];

const ROLLUP_NOTICES: &[Column] = &[
    Column {
        key: "notice",
        zh: "通报代码",
        en: "Notice",
    },
    Column {
        key: "period",
        zh: "季度",
        en: "Quarter",
    },
    Column {
        key: "organization",
        zh: "被通报单位",
        en: "Unit",
    },
    Column {
        key: "title",
        zh: "标题",
        en: "Title",
    },
];

/// The annual rollup as a workbook: 年度汇总 Summary (with the paragraph for the disclosure
/// report), 问题分类 Findings, 通报批评 Notices.
pub fn rollup_xlsx(rollup: &Rollup) -> Result<Vec<u8>, XlsxError> {
    let [passed, failed, incomplete] = rollup.checks;
    let o = rollup.orders;
    let mut summary = vec![
        vec!["单位 Unit".to_owned(), rollup.display_name.clone()],
        vec!["年度 Year".to_owned(), rollup.year.to_string()],
        vec![
            "全年 Complete".to_owned(),
            if rollup.complete {
                "是 yes"
            } else {
                "否 no (截至统计日 so far)"
            }
            .to_owned(),
        ],
        vec!["统计截至 As of".to_owned(), rollup.as_of.to_rfc3339()],
        vec![
            "检查账号数 Accounts checked".to_owned(),
            rollup.accounts_checked.to_string(),
        ],
        vec![
            "检查次数 Checks".to_owned(),
            rollup.check_count().to_string(),
        ],
        vec!["合格 Passed".to_owned(), passed.to_string()],
        vec!["不合格 Failed".to_owned(), failed.to_string()],
        vec!["未能完成评估 Incomplete".to_owned(), incomplete.to_string()],
        vec![
            "发现问题 Findings".to_owned(),
            rollup.finding_count().to_string(),
        ],
        vec!["整改通知 Orders opened".to_owned(), o.opened.to_string()],
        vec!["整改到位 Verified".to_owned(), o.verified.to_string()],
        vec!["整改中 In progress".to_owned(), o.in_progress.to_string()],
        vec!["逾期未整改 Overdue".to_owned(), o.overdue.to_string()],
        vec![
            "逾期回复 Late answers".to_owned(),
            o.late_answers.to_string(),
        ],
        vec![
            "退回整改 Rejected answers".to_owned(),
            o.rejected_answers.to_string(),
        ],
    ];
    match &rollup.closures {
        Ok(c) => {
            summary.push(vec!["关停 Suspended".to_owned(), c.suspended.to_string()]);
            summary.push(vec!["注销 Cancelled".to_owned(), c.cancelled.to_string()]);
            summary.push(vec![
                "强制关停注销 Enforced".to_owned(),
                c.enforced.to_string(),
            ]);
        }
        Err(why) => summary.push(vec!["关停注销 Closures".to_owned(), why.clone()]),
    }
    summary.push(vec![
        "通报批评 Notices".to_owned(),
        rollup.notices.len().to_string(),
    ]);
    summary.push(vec!["年度报告表述 Summary".to_owned(), rollup.summary()]);
    let sheets = [
        Sheet {
            name: "年度汇总 Summary",
            columns: SUMMARY,
            rows: summary,
        },
        Sheet {
            name: "问题分类 Findings",
            columns: ROLLUP_FINDINGS,
            rows: rollup
                .findings
                .iter()
                .map(|(category, n)| {
                    vec![
                        category.zh().to_owned(),
                        category.as_str().to_owned(),
                        n.to_string(),
                    ]
                })
                .collect(),
        },
        Sheet {
            name: "通报批评 Notices",
            columns: ROLLUP_NOTICES,
            rows: rollup
                .notices
                .iter()
                .map(|notice| {
                    vec![
                        format!("criticismNotices/{}", notice.id),
                        notice.period.clone(),
                        format!("organizations/{}", notice.organization),
                        notice.title.clone(),
                    ]
                })
                .collect(),
        },
    ];
    xlsx_sheets(&sheets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_stays_text() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        let svg = bars("图", &[("<b>".to_owned(), 3.0, "#000")]);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
    }
}
