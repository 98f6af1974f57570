//! The monitoring runs: the first is full, the next only what changed, a lexicon change makes
//! the next one full again; only the root's supervisors ask for them.

use std::time::Duration;

use govmedia_proto::inspection::v1 as pb;
use govmedia_test_support::{Backend, backend_test, eventually};
use tonic::Code;

use crate::helpers::*;

/// Asks for a run and waits until it has ended.
async fn run(client: &mut Inspection, full: bool, request_id: &str) -> pb::MonitoringRun {
    let asked = client
        .start_monitoring_run(pb::StartMonitoringRunRequest {
            full,
            request_id: request_id.into(),
        })
        .await
        .expect("run asked for")
        .into_inner();
    assert_eq!(asked.state, pb::RunState::Pending as i32);
    let name = asked.name.clone();
    eventually("the monitoring run to end", Duration::from_secs(60), || {
        let (mut client, name) = (client.clone(), name.clone());
        async move {
            let run = client
                .get_monitoring_run(pb::GetMonitoringRunRequest { name })
                .await
                .expect("run")
                .into_inner();
            (run.state == pb::RunState::Done as i32 || run.state == pb::RunState::Failed as i32)
                .then_some(run)
        }
    })
    .await
}

backend_test!(runs_check_everything_first_then_what_changed, monitoring);

async fn monitoring(backend: Backend) {
    let suite = Suite::spawn(backend, NOW).await;
    let mut collector = suite.collector().await;
    stream(
        &mut collector,
        vec![post(
            "golmud-wechat",
            "wx-1",
            "2026-11-29T09:00:00+08:00",
            "供暖通知",
        )],
    )
    .await;
    let mut province = suite.root_supervisor().await;
    let first = run(&mut province, false, "run-1").await;
    assert_eq!(first.state, pb::RunState::Done as i32, "{first:?}");
    assert_eq!(first.mode, pb::RunMode::Full as i32);
    assert_eq!(first.mode_reason, "the first run");
    assert_eq!((first.accounts_active, first.accounts_checked), (4, 4));
    assert_eq!(first.new_posts, 1);
    assert_eq!(first.scheme, "schemes/national");
    assert_eq!(first.passed + first.failed + first.incomplete, 4);

    // An hour later one account has posted: only it is checked.
    suite.time.advance(chrono::Duration::hours(1));
    stream(
        &mut collector,
        vec![post(
            "golmud-edu-wechat",
            "edu-1",
            "2026-11-30T10:30:00+08:00",
            "期末考试安排",
        )],
    )
    .await;
    let second = run(&mut province, false, "run-2").await;
    assert_eq!(second.mode, pb::RunMode::Incremental as i32, "{second:?}");
    assert_eq!((second.accounts_checked, second.new_posts), (1, 1));
    let checks = province
        .list_checks(pb::ListChecksRequest {
            account: "accounts/golmud-edu-wechat".into(),
            ..Default::default()
        })
        .await
        .expect("checks")
        .into_inner()
        .checks;
    assert_eq!(checks.len(), 2);

    // The lexicons change: the next run scans everything again.
    province
        .put_lexicon(pb::PutLexiconRequest {
            name: "lexicons/qinghai".into(),
            text: "@version q-1\nbanned | high | 供暖费减免骗局\n".into(),
            request_id: "lexicon-1".into(),
        })
        .await
        .expect("lexicon");
    suite.time.advance(chrono::Duration::hours(1));
    let third = run(&mut province, false, "run-3").await;
    assert_eq!(third.mode, pb::RunMode::Full as i32);
    assert_eq!(third.mode_reason, "the lexicons changed since the last run");
    assert_eq!(third.accounts_checked, 4);
    assert_ne!(third.lexicon_fingerprint, second.lexicon_fingerprint);

    // Nothing changed: nothing to check.
    suite.time.advance(chrono::Duration::hours(1));
    let quiet = run(&mut province, false, "run-4").await;
    assert_eq!(quiet.accounts_checked, 0);

    // The lexicon is taken out of force: the next run is full again. The starter lexicon and
    // other people's requests are refused.
    let deleted = province
        .delete_lexicon(pb::DeleteLexiconRequest {
            name: "lexicons/qinghai".into(),
        })
        .await
        .expect("deleted")
        .into_inner();
    assert_eq!(deleted.version, "q-1");
    assert_invalid(
        province
            .delete_lexicon(pb::DeleteLexiconRequest {
                name: "lexicons/starter".into(),
            })
            .await,
        "name",
    );
    let gone = province
        .delete_lexicon(pb::DeleteLexiconRequest {
            name: "lexicons/qinghai".into(),
        })
        .await;
    assert_error(gone, Code::NotFound, "NOT_FOUND");
    suite.time.advance(chrono::Duration::hours(1));
    let after_delete = run(&mut province, false, "run-5").await;
    assert_eq!(after_delete.mode, pb::RunMode::Full as i32);

    let listed = province
        .list_monitoring_runs(pb::ListMonitoringRunsRequest::default())
        .await
        .expect("runs")
        .into_inner()
        .monitoring_runs;
    assert_eq!(listed.len(), 5);
    assert_eq!(listed[0].name, after_delete.name);

    // A city's supervisor neither starts nor reads runs, nor deletes lexicons.
    let mut golmud = suite.supervisor().await;
    let refused = golmud
        .delete_lexicon(pb::DeleteLexiconRequest {
            name: "lexicons/other".into(),
        })
        .await;
    assert_error(refused, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    let refused = golmud
        .start_monitoring_run(pb::StartMonitoringRunRequest::default())
        .await;
    assert_error(refused, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
    let hidden = golmud
        .get_monitoring_run(pb::GetMonitoringRunRequest {
            name: first.name.clone(),
        })
        .await;
    assert_error(hidden, Code::PermissionDenied, "OUTSIDE_JURISDICTION");
}
