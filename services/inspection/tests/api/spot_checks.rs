//! Spot checks: a stratified draw that the recorded seed reproduces, each account drawn checked.

use govmedia_proto::inspection::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::*;

fn request(id: &str, ratio: f64, seed: Option<u64>) -> pb::StartSpotCheckRequest {
    pb::StartSpotCheckRequest {
        spot_check_id: id.into(),
        organization: "organizations/qinghai".into(),
        period: "2026-Q4".into(),
        ratio,
        seed,
        request_id: format!("spot-{id}"),
        ..Default::default()
    }
}

backend_test!(
    a_spot_check_draws_by_region_and_platform_reproducibly,
    spot_checks
);

async fn spot_checks(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let mut province = suite.root_supervisor().await;
    let first = province
        .start_spot_check(request("q4-a", 0.5, None))
        .await
        .expect("spot check")
        .into_inner();
    // Haixi's two WeChat accounts give one, its mini-program one, Xining's Weibo one; the
    // cancelled Douyin account is not in the population.
    let drawn: Vec<(String, i32, i32, usize)> = first
        .strata
        .iter()
        .map(|s| (s.region.clone(), s.platform, s.population, s.drawn.len()))
        .collect();
    assert_eq!(
        drawn,
        [
            ("organizations/haixi".to_owned(), 1, 2, 1),
            ("organizations/haixi".to_owned(), 10, 1, 1),
            ("organizations/xining".to_owned(), 3, 1, 1),
        ]
    );
    assert_eq!(first.checks.len(), 3);
    assert_eq!(first.passed + first.failed + first.incomplete, 3);
    assert_eq!(first.ratio, 0.5);
    let check = province
        .get_check(pb::GetCheckRequest {
            name: first.checks[0].clone(),
        })
        .await
        .expect("check")
        .into_inner();
    assert_eq!(check.scheme, "schemes/national");

    // The recorded seed draws the same accounts again.
    let again = province
        .start_spot_check(request("q4-b", 0.5, Some(first.seed)))
        .await
        .expect("again")
        .into_inner();
    let accounts = |spot: &pb::SpotCheck| -> Vec<String> {
        spot.strata.iter().flat_map(|s| s.drawn.clone()).collect()
    };
    assert_eq!(accounts(&again), accounts(&first));
    // The same request id answers with the first result, running nothing again.
    let replay = province
        .start_spot_check(request("q4-b", 0.5, Some(first.seed)))
        .await
        .expect("replay")
        .into_inner();
    assert_eq!(replay.checks, again.checks);

    // Full coverage checks every ACTIVE account.
    let mut full = request("q4-full", 0.0, None);
    full.full_coverage = true;
    let full = province
        .start_spot_check(full)
        .await
        .expect("full")
        .into_inner();
    assert_eq!(full.checks.len(), 4);
    assert_eq!(full.ratio, 1.0);

    // Bad ratios, periods and ids change nothing; another city is out of reach.
    for ratio in [1.5, -0.1, f64::NAN] {
        assert_invalid(
            province.start_spot_check(request("bad", ratio, None)).await,
            "ratio",
        );
    }
    let mut period = request("bad", 0.5, None);
    period.period = "2026-Q5".into();
    assert_invalid(province.start_spot_check(period).await, "period");
    let mut taken = request("q4-a", 0.5, None);
    taken.request_id = "another-request".into();
    let taken = province.start_spot_check(taken).await;
    assert_error(taken, Code::AlreadyExists, "ALREADY_EXISTS");
    let mut golmud = suite.supervisor().await;
    let outside = golmud.start_spot_check(request("q4-x", 0.5, None)).await;
    assert_eq!(outside.expect_err("outside").code(), Code::PermissionDenied);
    let listed = province
        .list_spot_checks(pb::ListSpotChecksRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.spot_checks.len(), 3);
    let hidden = golmud
        .get_spot_check(pb::GetSpotCheckRequest {
            name: first.name.clone(),
        })
        .await;
    assert_error(hidden, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
}
