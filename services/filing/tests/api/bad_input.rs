//! Malformed requests: the right code, a field violation naming the field, and nothing changed.

use govmedia_proto::{
    common::v1::Platform,
    filing::v1::{self as pb, FilingKind},
    registry::v1 as rpb,
};
use govmedia_test_support::{Backend, backend_test};

use crate::helpers::*;

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|path| (*path).to_owned()).collect(),
    })
}

async fn malformed_filings_are_refused_field_by_field(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut operator = suite.operator().await;
    let open = || open_filing(Platform::Weibo, "格尔木教育");
    let with_account = |change: &dyn Fn(&mut rpb::Account)| {
        let mut filing = open();
        change(filing.account.as_mut().expect("account"));
        filing
    };
    let cases: Vec<(&str, pb::CreateFilingRequest, &str)> = vec![
        ("no filing", pb::CreateFilingRequest::default(), "filing"),
        (
            "bad id",
            pb::CreateFilingRequest {
                filing_id: "Not An Id".into(),
                filing: Some(open()),
                request_id: String::new(),
            },
            "filing_id",
        ),
        (
            "bad request id",
            pb::CreateFilingRequest {
                filing: Some(open()),
                request_id: "has spaces in it".into(),
                ..Default::default()
            },
            "request_id",
        ),
        (
            "no kind",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing { kind: 0, ..open() }),
                ..Default::default()
            },
            "filing.kind",
        ),
        (
            "unknown kind",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing { kind: 9, ..open() }),
                ..Default::default()
            },
            "filing.kind",
        ),
        (
            "no organization",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    organization: String::new(),
                    ..open()
                }),
                ..Default::default()
            },
            "filing.organization",
        ),
        (
            "no reason",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    reason: "  ".into(),
                    ..open()
                }),
                ..Default::default()
            },
            "filing.reason",
        ),
        (
            "reason too long",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    reason: "理".repeat(501),
                    ..open()
                }),
                ..Default::default()
            },
            "filing.reason",
        ),
        (
            "OPEN without account",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    account: None,
                    ..open()
                }),
                ..Default::default()
            },
            "filing.account",
        ),
        (
            "no platform",
            pb::CreateFilingRequest {
                filing: Some(with_account(&|a| a.platform = 0)),
                ..Default::default()
            },
            "filing.account.platform",
        ),
        (
            "no display name",
            pb::CreateFilingRequest {
                filing: Some(with_account(&|a| a.display_name.clear())),
                ..Default::default()
            },
            "filing.account.display_name",
        ),
        (
            "bad phone",
            pb::CreateFilingRequest {
                filing: Some(with_account(&|a| {
                    a.responsible_person.as_mut().expect("contact").phone = "call me".into();
                })),
                ..Default::default()
            },
            "filing.account.responsible_person.phone",
        ),
        (
            "vendor without vendor",
            pb::CreateFilingRequest {
                filing: Some(with_account(&|a| {
                    a.operator = Some(rpb::Operator {
                        r#type: rpb::OperatorType::Vendor as i32,
                        vendor: String::new(),
                    });
                })),
                ..Default::default()
            },
            "filing.account.operator.vendor",
        ),
        (
            "plain http homepage",
            pb::CreateFilingRequest {
                filing: Some(with_account(&|a| {
                    a.homepage_url = "http://example.gov.cn".into();
                })),
                ..Default::default()
            },
            "filing.account.homepage_url",
        ),
        (
            "platform id with spaces",
            pb::CreateFilingRequest {
                filing: Some(with_account(&|a| {
                    a.platform_account_id = "gh 123".into();
                })),
                ..Default::default()
            },
            "filing.account.platform_account_id",
        ),
        (
            "account of another unit",
            pb::CreateFilingRequest {
                filing: Some(with_account(&|a| {
                    a.organization = "organizations/golmud-health".into();
                })),
                ..Default::default()
            },
            "filing.account.organization",
        ),
        (
            "change mask on OPEN",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    change_mask: mask(&["display_name"]),
                    ..open()
                }),
                ..Default::default()
            },
            "filing.change_mask",
        ),
        (
            "bad attachment hash",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    attachments: vec![pb::Attachment {
                        sha256: "ABC".into(),
                        ..attachment("申请表.pdf")
                    }],
                    ..open()
                }),
                ..Default::default()
            },
            "filing.attachments[0].sha256",
        ),
        (
            "empty attachment",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    attachments: vec![pb::Attachment {
                        size_bytes: 0,
                        ..attachment("申请表.pdf")
                    }],
                    ..open()
                }),
                ..Default::default()
            },
            "filing.attachments[0].size_bytes",
        ),
        (
            "too many attachments",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    attachments: vec![attachment("a.pdf"); 21],
                    ..open()
                }),
                ..Default::default()
            },
            "filing.attachments",
        ),
        (
            "CHANGE without target",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    target_account: String::new(),
                    account: Some(rpb::Account {
                        display_name: "x".into(),
                        ..Default::default()
                    }),
                    change_mask: mask(&["display_name"]),
                    ..filing_about(FilingKind::Change, "edu-weibo")
                }),
                ..Default::default()
            },
            "filing.target_account",
        ),
        (
            "CHANGE without mask",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    account: Some(rpb::Account::default()),
                    ..filing_about(FilingKind::Change, "edu-weibo")
                }),
                ..Default::default()
            },
            "filing.change_mask",
        ),
        (
            "CHANGE naming a field twice",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    account: Some(rpb::Account {
                        display_name: "x".into(),
                        ..Default::default()
                    }),
                    change_mask: mask(&["display_name", "display_name"]),
                    ..filing_about(FilingKind::Change, "edu-weibo")
                }),
                ..Default::default()
            },
            "filing.change_mask",
        ),
        (
            "CHANGE of the platform",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    account: Some(rpb::Account::default()),
                    change_mask: mask(&["platform"]),
                    ..filing_about(FilingKind::Change, "edu-weibo")
                }),
                ..Default::default()
            },
            "filing.change_mask",
        ),
        (
            "CHANGE to an empty name",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    account: Some(rpb::Account::default()),
                    change_mask: mask(&["display_name"]),
                    ..filing_about(FilingKind::Change, "edu-weibo")
                }),
                ..Default::default()
            },
            "filing.account.display_name",
        ),
        (
            "SUSPEND with account data",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    account: Some(rpb::Account::default()),
                    ..filing_about(FilingKind::Suspend, "edu-weibo")
                }),
                ..Default::default()
            },
            "filing.account",
        ),
        (
            "CANCEL of a malformed account name",
            pb::CreateFilingRequest {
                filing: Some(pb::Filing {
                    target_account: "edu-weibo".into(),
                    ..filing_about(FilingKind::Cancel, "edu-weibo")
                }),
                ..Default::default()
            },
            "filing.target_account",
        ),
    ];
    for (what, request, field) in cases {
        let status = assert_invalid(operator.create_filing(request).await, field);
        assert!(
            !status.message().to_lowercase().contains("sql"),
            "{what}: {status:?}"
        );
    }
    assert_eq!(suite.filing_count().await, 0);
    assert_eq!(suite.audit_count().await, 0);
}
backend_test!(
    malformed_filings_are_refused_field_by_field_on,
    malformed_filings_are_refused_field_by_field
);

async fn malformed_steps_change_nothing(backend: Backend) {
    let suite = Suite::spawn(backend).await;
    let mut operator = suite.operator().await;
    let created = create(
        &mut operator,
        "edu-weibo",
        open_filing(Platform::Weibo, "格尔木教育"),
    )
    .await
    .expect("create");
    let audit = suite.audit_count().await;

    assert_invalid(
        operator
            .submit_filing(pb::SubmitFilingRequest::default())
            .await,
        "name",
    );
    assert_invalid(
        operator
            .submit_filing(pb::SubmitFilingRequest {
                name: "edu-weibo".into(),
                ..Default::default()
            })
            .await,
        "name",
    );
    assert_invalid(
        operator
            .submit_filing(pb::SubmitFilingRequest {
                name: filing_name("edu-weibo"),
                comment: "\u{7}".into(),
                ..Default::default()
            })
            .await,
        "comment",
    );
    assert_error(
        operator
            .submit_filing(pb::SubmitFilingRequest {
                name: filing_name("edu-weibo"),
                etag: "999".into(),
                ..Default::default()
            })
            .await,
        tonic::Code::Aborted,
        "ETAG_MISMATCH",
    );
    // Returning and rejecting need a comment.
    assert_invalid(
        suite
            .leader()
            .await
            .return_filing(pb::ReturnFilingRequest {
                name: filing_name("edu-weibo"),
                ..Default::default()
            })
            .await,
        "comment",
    );
    assert_invalid(
        suite
            .supervisor()
            .await
            .reject_filing(pb::RejectFilingRequest {
                name: filing_name("edu-weibo"),
                ..Default::default()
            })
            .await,
        "comment",
    );

    // Updates: a mask is required and names only editable fields; the result must still be a
    // valid filing.
    let update = |paths: &[&str], filing: pb::Filing| pb::UpdateFilingRequest {
        filing: Some(filing),
        update_mask: mask(paths),
        request_id: String::new(),
    };
    let named = pb::Filing {
        name: filing_name("edu-weibo"),
        ..pb::Filing::default()
    };
    assert_invalid(
        operator.update_filing(update(&[], named.clone())).await,
        "update_mask",
    );
    assert_invalid(
        operator
            .update_filing(update(&["kind"], named.clone()))
            .await,
        "update_mask",
    );
    assert_invalid(
        operator
            .update_filing(update(&["organization"], named.clone()))
            .await,
        "update_mask",
    );
    assert_invalid(
        operator
            .update_filing(update(&["reason"], named.clone()))
            .await,
        "filing.reason",
    );
    assert_invalid(
        operator
            .update_filing(update(&["account"], named.clone()))
            .await,
        "filing.account",
    );
    assert_error(
        operator
            .update_filing(update(
                &["reason"],
                pb::Filing {
                    name: filing_name("nothing"),
                    reason: "x".into(),
                    ..Default::default()
                },
            ))
            .await,
        tonic::Code::NotFound,
        "NOT_FOUND",
    );

    // Listing: unknown enum values, a bad scope, a bad page size.
    for (request, field) in [
        (
            pb::ListFilingsRequest {
                kind: 42,
                ..Default::default()
            },
            "kind",
        ),
        (
            pb::ListFilingsRequest {
                state: -1,
                ..Default::default()
            },
            "state",
        ),
        (
            pb::ListFilingsRequest {
                organization: "golmud-edu".into(),
                ..Default::default()
            },
            "organization",
        ),
        (
            pb::ListFilingsRequest {
                page_size: -5,
                ..Default::default()
            },
            "page_size",
        ),
    ] {
        assert_invalid(operator.list_filings(request).await, field);
    }

    // Binding: a platform id with white space.
    assert_invalid(
        operator
            .bind_platform_account(pb::BindPlatformAccountRequest {
                name: filing_name("edu-weibo"),
                platform_account_id: "gh 1".into(),
                request_id: String::new(),
            })
            .await,
        "platform_account_id",
    );

    assert_eq!(suite.audit_count().await, audit, "nothing changed");
    assert_eq!(get(&mut operator, "edu-weibo").await.etag, created.etag);
}
backend_test!(
    malformed_steps_change_nothing_on,
    malformed_steps_change_nothing
);
