use std::collections::BTreeSet;

use govmedia_kit::{
    audit,
    auth::{Principal, Role},
    error::ErrorCode,
    events::outbox::{self, OutboxSignal},
    unit::Writer,
};
use govmedia_proto::common::v1::{AuditStamp, ErrorReason};
use govmedia_test_support::{Backend, TestBackends, backend_test};
use sea_orm::ConnectionTrait as _;

fn principal(subject: &str) -> Principal {
    Principal {
        subject: subject.into(),
        organization: "golmud".into(),
        roles: BTreeSet::from([Role::Operator]),
        issuer: "govmedia".into(),
        service: None,
        basis: None,
    }
}

async fn a_request_id_runs_the_change_once(backend: Backend) {
    let backends = TestBackends::new(backend).await;
    let db = crate::open(&backends).await;
    let writer = Writer::new(
        db.clone(),
        OutboxSignal::default(),
        "kit-test",
        govmedia_kit::clock::Clock::system(),
    );
    let request = AuditStamp {
        actor: "first".into(),
        ..AuditStamp::default()
    };

    let mut unit = writer
        .begin("DoThing", &principal("alice"), "req-1", &request)
        .await
        .expect("begin");
    assert!(unit.replay::<AuditStamp>().await.expect("replay").is_none());
    unit.publish("things/1", &request).await.expect("publish");
    unit.audit("things/1", "/golmud/", serde_json::json!({"n": 1}));
    let response = AuditStamp {
        actor: "response".into(),
        ..AuditStamp::default()
    };
    unit.commit(response.clone()).await.expect("commit");

    // Same key, same request, same caller: the first response, and no second change.
    let unit = writer
        .begin("DoThing", &principal("alice"), "req-1", &request)
        .await
        .expect("begin");
    assert_eq!(
        unit.replay::<AuditStamp>().await.expect("replay"),
        Some(response)
    );
    drop(unit);

    // Same key, other body: refused.
    let other = AuditStamp {
        actor: "second".into(),
        ..AuditStamp::default()
    };
    let unit = writer
        .begin("DoThing", &principal("alice"), "req-1", &other)
        .await
        .expect("begin");
    let error = unit.replay::<AuditStamp>().await.expect_err("reused");
    assert_eq!(error.code(), ErrorCode::InvalidArgument);
    assert_eq!(error.reason(), ErrorReason::RequestIdReused);
    drop(unit);

    // Another caller's keys are its own: the same id tells it nothing about alice's request,
    // even when it is called alice too, in another unit or vouched for by another issuer.
    for other in [
        principal("mallory"),
        Principal {
            organization: "xining".into(),
            ..principal("alice")
        },
        Principal {
            issuer: "https://idp.example.gov.cn".into(),
            ..principal("alice")
        },
    ] {
        let unit = writer
            .begin("DoThing", &other, "req-1", &request)
            .await
            .expect("begin");
        assert!(
            unit.replay::<AuditStamp>().await.expect("replay").is_none(),
            "{other:?}"
        );
        drop(unit);
    }

    assert_eq!(outbox::backlog(&db).await.expect("backlog"), 1);
    assert_eq!(audit::verify(db.conn()).await, Ok(1));
}
backend_test!(
    a_request_id_runs_the_change_once_on,
    a_request_id_runs_the_change_once
);

async fn a_dropped_unit_changes_nothing(backend: Backend) {
    let backends = TestBackends::new(backend).await;
    let db = crate::open(&backends).await;
    let writer = Writer::new(
        db.clone(),
        OutboxSignal::default(),
        "kit-test",
        govmedia_kit::clock::Clock::system(),
    );
    let request = AuditStamp::default();
    {
        let mut unit = writer
            .begin("DoThing", &principal("alice"), "req-2", &request)
            .await
            .expect("begin");
        unit.publish("things/2", &request).await.expect("publish");
        unit.audit("things/2", "/golmud/", serde_json::json!({}));
        // dropped: a validation failure after the first writes
    }
    assert_eq!(outbox::backlog(&db).await.expect("backlog"), 0);
    assert_eq!(audit::verify(db.conn()).await, Ok(0));
    let unit = writer
        .begin("DoThing", &principal("alice"), "req-2", &request)
        .await
        .expect("begin");
    assert!(unit.replay::<AuditStamp>().await.expect("replay").is_none());
}
backend_test!(
    a_dropped_unit_changes_nothing_on,
    a_dropped_unit_changes_nothing
);

/// Two twins of one request (same key, body and caller) in flight at once: the second waits on
/// the key until the first commits, then gets the first one's response; its own change is rolled
/// back. Only PostgreSQL can hold two
/// write transactions at once; SQLite serialises writers, so the race cannot happen there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_twin_gets_the_first_response() {
    if govmedia_test_support::skip_production() {
        return;
    }
    let backends = TestBackends::new(Backend::Production).await;
    let db = crate::open(&backends).await;
    let writer = Writer::new(
        db.clone(),
        OutboxSignal::default(),
        "kit-test",
        govmedia_kit::clock::Clock::system(),
    );
    let request = AuditStamp::default();
    let response = |actor: &str| AuditStamp {
        actor: actor.into(),
        ..AuditStamp::default()
    };

    let mut first = writer
        .begin("DoThing", &principal("alice"), "req-3", &request)
        .await
        .expect("begin");
    assert!(
        first
            .replay::<AuditStamp>()
            .await
            .expect("replay")
            .is_none()
    );
    // The twin (a retry that reached another replica) arrives while the first is open: it
    // waits on the key, then answers as the first did, whether its handler asks for a replay
    // or goes on to commit.
    let twin = tokio::spawn({
        let writer = writer.clone();
        let request = request.clone();
        async move {
            let mut second = writer
                .begin("DoThing", &principal("alice"), "req-3", &request)
                .await
                .expect("begin");
            let replayed = second.replay::<AuditStamp>().await.expect("replay");
            second.publish("things/3", &request).await.expect("publish");
            let committed = second
                .commit(AuditStamp {
                    actor: "second".into(),
                    ..AuditStamp::default()
                })
                .await
                .expect("commit");
            (replayed, committed)
        }
    });
    first.publish("things/3", &request).await.expect("publish");
    let committed = first.commit(response("first")).await.expect("commit");
    let (replayed, twin_committed) = twin.await.expect("twin");
    assert_eq!(committed, response("first"));
    assert_eq!(
        replayed,
        Some(response("first")),
        "the twin replays the first response"
    );
    assert_eq!(twin_committed, response("first"));
    assert_eq!(outbox::backlog(&db).await.expect("backlog"), 1);
}

/// A unit that records many things (a monitoring run's group of checks) writes its events and
/// audit entries a few hundred rows to a statement: every one is kept, the events in the order
/// they were published, and the audit trail verifies.
async fn a_unit_of_many_writes_keeps_every_event_in_order_and_every_entry(backend: Backend) {
    let backends = TestBackends::new(backend).await;
    let db = crate::open(&backends).await;
    let writer = Writer::new(
        db.clone(),
        OutboxSignal::default(),
        "kit-test",
        govmedia_kit::clock::Clock::system(),
    );
    let request = AuditStamp::default();
    // More than two statements' worth, so that the last one is partial.
    const MANY: usize = 1_201;
    let mut unit = writer
        .begin("DoThings", &principal("alice"), "", &request)
        .await
        .expect("begin");
    for i in 0..MANY {
        unit.publish(&format!("things/{i}"), &request)
            .await
            .expect("publish");
        unit.audit(
            &format!("things/{i}"),
            "/golmud/",
            serde_json::json!({ "n": i }),
        );
    }
    unit.commit(()).await.expect("commit");

    assert_eq!(outbox::backlog(&db).await.expect("backlog"), MANY as u64);
    let backend_kind = db.conn().get_database_backend();
    let subjects: Vec<String> = db
        .conn()
        .query_all_raw(sea_orm::Statement::from_string(
            backend_kind,
            "SELECT subject FROM outbox_events ORDER BY seq",
        ))
        .await
        .expect("outbox")
        .iter()
        .map(|row| row.try_get::<String>("", "subject").expect("subject"))
        .collect();
    let published: Vec<String> = (0..MANY).map(|i| format!("things/{i}")).collect();
    assert_eq!(subjects, published);
    assert_eq!(audit::verify(db.conn()).await, Ok(MANY as u64));
    let seventh = audit::list(db.conn(), "/golmud/", Some("things/7"), None, 10)
        .await
        .expect("list");
    assert_eq!(seventh.len(), 1);
    assert_eq!(seventh[0].details, r#"{"n":7}"#);
}
backend_test!(
    a_unit_of_many_writes_keeps_every_event_in_order_and_every_entry_on,
    a_unit_of_many_writes_keeps_every_event_in_order_and_every_entry
);
