//! Performance assessment: inputs from the accounts a vendor operated, weights and
//! version from the settings, a missing input shown as missing and never as zero; a score
//! below the threshold flags the vendor for clean-out.

use chrono::Duration;
use govmedia_proto::vendor::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

fn ratings(scores: &[(&str, i32)]) -> Vec<pb::SupervisorRating> {
    scores
        .iter()
        .map(|(rater, score)| pb::SupervisorRating {
            rater: (*rater).into(),
            score: *score,
            comment: "季度考核".into(),
        })
        .collect()
}

fn assessment(scores: &[(&str, i32)]) -> pb::AssessPerformanceRequest {
    pb::AssessPerformanceRequest {
        vendor: "vendors/qingyun".into(),
        assessment: Some(pb::PerformanceAssessment {
            period_start: Some(govmedia_kit::clock::to_proto(start_time())),
            period_end: Some(govmedia_kit::clock::to_proto(
                start_time() + Duration::days(90),
            )),
            supervisor_ratings: ratings(scores),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

async fn a_vendor_below_the_threshold_is_flagged_and_missing_inputs_stay_missing(backend: Backend) {
    let suite = Suite::spawn_with(backend, Options { gateway: true }).await;
    approved_vendor(&suite, "qingyun", "青云传媒有限公司", QINGYUN_CODE).await;
    let created = delegate(
        &mut suite.operator().await,
        "edu-2026",
        delegation("qingyun", &["golmud-edu-wechat"], pb::DelegationScope::Both),
    )
    .await
    .expect("delegate");
    decide(&suite, &created.handovers[0].start_filing, true).await;
    delegation_when(&suite, "edu-2026", "the account to be operated", |d| {
        d.status == pb::DelegationStatus::Active as i32
    })
    .await;
    let mut golmud = suite.golmud().await;
    // A period is assessed once it is over.
    assert_invalid(
        golmud
            .assess_performance(assessment(&[("王处长", 50)]))
            .await,
        "assessment.period_end",
    );
    suite.time.advance(Duration::days(91));

    let low = golmud
        .assess_performance(assessment(&[("王处长", 50), ("李科长", 40)]))
        .await
        .expect("assess")
        .into_inner();
    assert!(low.scored);
    assert_eq!(low.score, 45.0, "only the ratings were available");
    assert!(
        (low.unused_weight - 0.8).abs() < 1e-9,
        "{}",
        low.unused_weight
    );
    assert!(low.below_threshold);
    assert_eq!(low.formula_version, "2026-1");
    assert_eq!(low.accounts, ["accounts/golmud-edu-wechat"]);
    assert_eq!(low.inputs.len(), 4);
    let missing: Vec<_> = low.inputs.iter().filter(|i| !i.available).collect();
    assert_eq!(missing.len(), 3);
    for input in missing {
        assert_eq!(input.value, 0.0);
        assert!(input.source.contains("not evaluated"), "{}", input.source);
    }
    let flagged = get(&mut golmud, "qingyun").await.expect("get");
    assert!(
        flagged.clean_out_flag.starts_with("performance:"),
        "{}",
        flagged.clean_out_flag
    );
    let signals = golmud
        .list_oversight_signals(pb::ListOversightSignalsRequest {
            kind: pb::SignalKind::VendorBelowThreshold as i32,
            ..Default::default()
        })
        .await
        .expect("signals")
        .into_inner()
        .signals;
    assert_eq!(signals.len(), 1);

    // Nothing to score says nothing: the flag stays.
    let empty = golmud
        .assess_performance(assessment(&[]))
        .await
        .expect("assess without ratings")
        .into_inner();
    assert!(!empty.scored && !empty.below_threshold);
    assert!((empty.unused_weight - 1.0).abs() < 1e-9);
    assert_eq!(
        get(&mut golmud, "qingyun")
            .await
            .expect("get")
            .clean_out_flag,
        flagged.clean_out_flag
    );
    // A passing assessment clears it.
    golmud
        .assess_performance(assessment(&[("王处长", 90)]))
        .await
        .expect("assess again");
    assert_eq!(
        get(&mut golmud, "qingyun")
            .await
            .expect("get")
            .clean_out_flag,
        ""
    );

    // The vendor reads its own results, newest first; another vendor does not.
    let own = suite
        .as_vendor("qingyun")
        .await
        .list_performance_assessments(pb::ListPerformanceAssessmentsRequest {
            vendor: "vendors/qingyun".into(),
            ..Default::default()
        })
        .await
        .expect("own results")
        .into_inner();
    assert_eq!(own.assessments.len(), 3);
    assert_eq!(own.assessments[2].name, low.name);
    assert_error(
        suite
            .as_vendor("haixi-media")
            .await
            .list_performance_assessments(pb::ListPerformanceAssessmentsRequest {
                vendor: "vendors/qingyun".into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );

    // Bad input changes nothing.
    let mut out_of_range = assessment(&[("王处长", 101)]);
    assert_invalid(
        golmud.assess_performance(out_of_range.clone()).await,
        "assessment.supervisor_ratings[0].score",
    );
    out_of_range = assessment(&[("王处长", 70), ("王处长", 80)]);
    assert_invalid(
        golmud.assess_performance(out_of_range).await,
        "assessment.supervisor_ratings[1].rater",
    );
    let mut backwards = assessment(&[("王处长", 70)]);
    if let Some(a) = backwards.assessment.as_mut() {
        std::mem::swap(&mut a.period_start, &mut a.period_end);
    }
    assert_invalid(
        golmud.assess_performance(backwards).await,
        "assessment.period_end",
    );
    assert_error(
        suite
            .xining()
            .await
            .assess_performance(assessment(&[("韩处长", 10)]))
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let after = suite
        .as_vendor("qingyun")
        .await
        .list_performance_assessments(pb::ListPerformanceAssessmentsRequest {
            vendor: "vendors/qingyun".into(),
            ..Default::default()
        })
        .await
        .expect("own results")
        .into_inner();
    assert_eq!(after.assessments.len(), 3);
}

backend_test!(
    a_vendor_below_the_threshold_is_flagged_and_missing_inputs_stay_missing_on,
    a_vendor_below_the_threshold_is_flagged_and_missing_inputs_stay_missing
);
