//! The escalation ladder on the working-day calendar, fired once per rung and deadline by
//! whichever scheduler gets there, across the 2026 National Day holiday.

use govmedia_proto::routing::v1 as pb;
use govmedia_test_support::{Backend, backend_test};

use crate::helpers::*;

/// The ESCALATED steps of the case, by level, once `wanted` of them are there.
async fn escalated(client: &Routing, name: &str, wanted: usize) -> (pb::Case, Vec<String>) {
    govmedia_test_support::eventually(
        "the escalations to fire",
        std::time::Duration::from_secs(20),
        || {
            let mut client = client.clone();
            let name = name.to_owned();
            async move {
                let case = client
                    .get_case(pb::GetCaseRequest { name })
                    .await
                    .ok()?
                    .into_inner();
                let levels: Vec<String> = case
                    .steps
                    .iter()
                    .filter(|s| s.action == pb::CaseAction::Escalated as i32)
                    .map(|s| s.comment.clone())
                    .collect();
                (levels.len() >= wanted).then_some((case, levels))
            }
        },
    )
    .await
}

backend_test!(
    the_ladder_fires_each_rung_once_on_its_working_day_on,
    ladder
);

async fn ladder(backend: Backend) {
    let suite = Suite::spawn_with(backend, "2026-09-29T09:00:00+08:00", false).await;
    let mut collector = suite.collector().await;
    let name = case_of(
        &submit(
            &mut collector,
            message(
                "golmud-wechat",
                "wx-9001",
                "小区电梯停运一周了",
                "2026-09-29T08:30:00+08:00",
            ),
        )
        .await
        .expect("taken"),
    )
    .name;
    let dispatcher = suite.dispatcher().await;

    // Nobody dispatches it by the end of 30 September: the dispatcher's clock is overdue.
    suite.time.set(at("2026-10-01T00:00:01+08:00"));
    let (case, levels) = escalated(&dispatcher, &name, 1).await;
    assert_eq!(levels, ["DISPATCH_OVERDUE"]);
    assert!(case.dispatcher_overdue && !case.department_overdue);
    assert_eq!(case.escalation, pb::EscalationLevel::DispatchOverdue as i32);

    // Dispatched and signed for on the holiday: five working days are 8, 9, 10 (the adjusted
    // Saturday), 12 and 13 October.
    let mut dispatcher_client = dispatcher.clone();
    dispatcher_client
        .dispatch_case(pb::DispatchCaseRequest {
            name: name.clone(),
            department: "organizations/golmud-edu".into(),
            ..Default::default()
        })
        .await
        .expect("dispatched");
    let case = suite
        .edu_handler()
        .await
        .sign_for_case(pb::SignForCaseRequest {
            name: name.clone(),
            ..Default::default()
        })
        .await
        .expect("signed")
        .into_inner();
    assert_eq!(
        time_of(case.handling_due_time.as_ref()),
        at("2026-10-14T00:00:00+08:00")
    );
    assert_eq!(case.escalation, 0, "a new deadline starts its ladder over");

    // On 16 October the warning (a day before), 催办 (at the deadline) and 督办 (two working
    // days after it) have fired; 通报 (five after) has not.
    suite.time.set(at("2026-10-16T00:00:01+08:00"));
    let (case, levels) = escalated(&dispatcher, &name, 4).await;
    assert_eq!(
        levels,
        ["DISPATCH_OVERDUE", "WARNING", "URGED", "SUPERVISED"]
    );
    assert!(case.department_overdue);
    assert_eq!(case.escalation, pb::EscalationLevel::Supervised as i32);

    // Another replica, and this one restarted, find nothing left to fire.
    let (other, restarted) = (suite.escalator(), suite.escalator());
    let (a, b) = tokio::join!(other.pass(), restarted.pass());
    assert_eq!((a.expect("pass"), b.expect("pass")), (0, 0));

    // 通报 on 21 October, fired once whoever races for it.
    suite.time.set(at("2026-10-21T00:00:01+08:00"));
    let (a, b) = tokio::join!(other.pass(), restarted.pass());
    let fired_here = a.expect("pass") + b.expect("pass");
    assert!(fired_here <= 1);
    let (case, levels) = escalated(&dispatcher, &name, 5).await;
    assert_eq!(
        levels,
        [
            "DISPATCH_OVERDUE",
            "WARNING",
            "URGED",
            "SUPERVISED",
            "NOTIFIED"
        ]
    );
    assert_eq!(case.escalation, pb::EscalationLevel::Notified as i32);

    // An approved reply stops the ladder: nothing more fires, however late it gets.
    let mut edu = suite.edu_handler().await;
    edu.draft_reply(pb::DraftReplyRequest {
        name: name.clone(),
        text: "已协调物业和维保单位，电梯本周内恢复运行。".into(),
        ..Default::default()
    })
    .await
    .expect("drafted");
    suite
        .edu_leader()
        .await
        .review_reply(pb::ReviewReplyRequest {
            name: name.clone(),
            approve: true,
            ..Default::default()
        })
        .await
        .expect("approved");
    suite.time.set(at("2026-12-31T00:00:00+08:00"));
    assert_eq!(other.pass().await.expect("pass"), 0);
}
