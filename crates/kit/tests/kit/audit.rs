use std::collections::BTreeSet;

use govmedia_kit::{
    audit::{self, AuditEntry, ChainError},
    auth::{Principal, Role},
};
use govmedia_test_support::{Backend, TestBackends, backend_test};
use sea_orm::{ConnectionTrait, Statement};

fn principal() -> Principal {
    Principal {
        subject: "auditor-test".into(),
        organization: "golmud".into(),
        roles: BTreeSet::from([Role::Auditor]),
        issuer: "govmedia".into(),
        service: None,
        basis: None,
    }
}

async fn the_chain_detects_rewrites_and_deletions(backend: Backend) {
    let backends = TestBackends::new(backend).await;
    let db = crate::open(&backends).await;
    for i in 0..5 {
        let txn = db.begin_write().await.expect("txn");
        audit::append(
            &*txn,
            &principal(),
            &format!("req-{i}"),
            AuditEntry {
                action: "CreateThing".into(),
                resource: format!("things/{i}"),
                scope: if i % 2 == 0 {
                    "/qinghai/haixi/"
                } else {
                    "/qinghai/xining/"
                }
                .into(),
                details: serde_json::json!({ "i": i, "名称": "格尔木" }),
            },
            govmedia_kit::clock::Clock::system().now(),
        )
        .await
        .expect("append");
        txn.commit().await.expect("commit");
    }
    assert_eq!(audit::verify(db.conn()).await, Ok(5));

    let haixi = audit::list(db.conn(), "/qinghai/haixi/", None, None, 10)
        .await
        .expect("list");
    assert_eq!(haixi.iter().map(|r| r.seq).collect::<Vec<_>>(), [5, 3, 1]);
    let older = audit::list(db.conn(), "/qinghai/", None, Some(3), 10)
        .await
        .expect("list");
    assert_eq!(older.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 1]);
    let one = audit::list(db.conn(), "/", Some("things/4"), None, 10)
        .await
        .expect("list");
    assert_eq!(one.len(), 1);

    // Silently rewriting an entry breaks the chain at that entry.
    db.conn()
        .execute_raw(Statement::from_string(
            db.backend(),
            "UPDATE audit_log SET details = '{}' WHERE seq = 3",
        ))
        .await
        .expect("tamper");
    assert_eq!(audit::verify(db.conn()).await, Err(ChainError::Broken(3)));

    // Deleting an entry leaves a gap.
    db.conn()
        .execute_raw(Statement::from_string(
            db.backend(),
            "DELETE FROM audit_log WHERE seq = 2",
        ))
        .await
        .expect("delete");
    assert_eq!(audit::verify(db.conn()).await, Err(ChainError::Gap(3)));
}
backend_test!(
    the_chain_detects_rewrites_and_deletions_on,
    the_chain_detects_rewrites_and_deletions
);

async fn concurrent_appends_keep_one_chain(backend: Backend) {
    let backends = TestBackends::new(backend).await;
    let db = crate::open(&backends).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let txn = db.begin_write().await.expect("txn");
            audit::append(
                &*txn,
                &principal(),
                "",
                AuditEntry {
                    action: "Concurrent".into(),
                    resource: format!("things/{i}"),
                    scope: "/x/".into(),
                    details: serde_json::json!({}),
                },
                govmedia_kit::clock::Clock::system().now(),
            )
            .await
            .expect("append");
            txn.commit().await.expect("commit");
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(audit::verify(db.conn()).await, Ok(8));
}
backend_test!(
    concurrent_appends_keep_one_chain_on,
    concurrent_appends_keep_one_chain
);
