use std::collections::BTreeSet;

use govmedia_kit::{
    audit::{self, AuditEntry, ChainError},
    auth::{Principal, Role},
};
use govmedia_test_support::{Backend, TestBackends, backend_test, skip_production};
use sea_orm::{ConnectionTrait, Statement};

fn entry(resource: &str, scope: &str, details: serde_json::Value) -> AuditEntry {
    AuditEntry {
        action: "CreateThing".into(),
        resource: resource.into(),
        scope: scope.into(),
        details,
    }
}

/// Appends `entries` in one committed write, over `chains` chains.
async fn write(db: &govmedia_kit::db::Db, chains: u16, request_id: &str, entries: Vec<AuditEntry>) {
    let txn = db.begin_write().await.expect("txn");
    audit::append(
        &*txn,
        chains,
        &principal(),
        request_id,
        entries,
        govmedia_kit::clock::Clock::system().now(),
    )
    .await
    .expect("append");
    txn.commit().await.expect("commit");
}

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
    // One chain, as a trail written before there were several.
    for i in 0..5 {
        let scope = if i % 2 == 0 {
            "/qinghai/haixi/"
        } else {
            "/qinghai/xining/"
        };
        let details = serde_json::json!({ "i": i, "名称": "格尔木" });
        write(
            &db,
            1,
            &format!("req-{i}"),
            vec![entry(&format!("things/{i}"), scope, details)],
        )
        .await;
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

/// Resources spread over the chains by their names; the history of each is one ordered run of
/// one chain, every chain verifies on its own, and tampering in any chain is found.
async fn every_chain_holds_and_verifies_its_resources(backend: Backend) {
    let backends = TestBackends::new(backend).await;
    let db = crate::open(&backends).await;
    for round in 0..4 {
        for thing in 0..10 {
            let resource = format!("things/{thing}");
            write(
                &db,
                4,
                "",
                vec![entry(
                    &resource,
                    "/x/",
                    serde_json::json!({ "round": round }),
                )],
            )
            .await;
        }
    }
    assert_eq!(audit::verify(db.conn()).await, Ok(40));
    let heads = audit::heads(db.conn()).await.expect("heads");
    assert!(heads.len() > 1, "ten resources over four chains: {heads:?}");
    assert_eq!(heads.iter().map(|head| head.length).sum::<i64>(), 40);
    for thing in 0..10 {
        let resource = format!("things/{thing}");
        let mut history = audit::list(db.conn(), "/", Some(&resource), None, 10)
            .await
            .expect("list");
        history.reverse();
        assert_eq!(history.len(), 4);
        let chain = audit::chain_of(&resource, 4);
        assert!(history.iter().all(|record| record.chain == chain));
        assert!(
            history
                .windows(2)
                .all(|pair| pair[0].chain_seq < pair[1].chain_seq)
        );
        assert!(history.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    }

    // A rewrite in one chain is found, wherever that chain comes in the verification.
    let last = &heads[heads.len() - 1];
    let victim = audit::list(db.conn(), "/", None, None, 40)
        .await
        .expect("list")
        .into_iter()
        .find(|record| record.chain == last.chain && record.chain_seq == 2)
        .expect("a second entry in the last chain");
    db.conn()
        .execute_raw(Statement::from_string(
            db.backend(),
            format!(
                "UPDATE audit_log SET actor = 'mallory' WHERE seq = {}",
                victim.seq
            ),
        ))
        .await
        .expect("tamper");
    assert_eq!(
        audit::verify(db.conn()).await,
        Err(ChainError::Broken(victim.seq))
    );
    // Deleting it instead leaves a gap before the next entry of its chain.
    db.conn()
        .execute_raw(Statement::from_string(
            db.backend(),
            format!("DELETE FROM audit_log WHERE seq = {}", victim.seq),
        ))
        .await
        .expect("delete");
    let next = audit::list(db.conn(), "/", None, None, 40)
        .await
        .expect("list")
        .into_iter()
        .find(|record| record.chain == last.chain && record.chain_seq == 3)
        .expect("a third entry in the last chain");
    assert_eq!(
        audit::verify(db.conn()).await,
        Err(ChainError::Gap(next.seq))
    );
}
backend_test!(
    every_chain_holds_and_verifies_its_resources_on,
    every_chain_holds_and_verifies_its_resources
);

/// Concurrent writes, each about two resources of different chains named in opposite orders by
/// pairs of writers: every chain stays whole, and no pair of writers deadlocks.
async fn concurrent_appends_keep_every_chain_whole(backend: Backend) {
    let backends = TestBackends::new(backend).await;
    let db = crate::open(&backends).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let (first, second) = if i % 2 == 0 {
                ("things/a", "things/b")
            } else {
                ("things/b", "things/a")
            };
            write(
                &db,
                4,
                "",
                vec![
                    entry(first, "/x/", serde_json::json!({ "i": i })),
                    entry(second, "/x/", serde_json::json!({ "i": i })),
                    entry(&format!("things/{i}"), "/x/", serde_json::json!({})),
                ],
            )
            .await;
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_ne!(
        audit::chain_of("things/a", 4),
        audit::chain_of("things/b", 4)
    );
    assert_eq!(audit::verify(db.conn()).await, Ok(24));
}
backend_test!(
    concurrent_appends_keep_every_chain_whole_on,
    concurrent_appends_keep_every_chain_whole
);

/// The point of several chains, on PostgreSQL (SQLite has one writer at a time anyway): a write
/// whose chain another open write holds waits for it, one about another chain does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_to_other_chains_do_not_wait() {
    if skip_production() {
        return;
    }
    let backends = TestBackends::new(Backend::Production).await;
    let db = crate::open(&backends).await;
    let (held, other) = ("things/a", "things/b");
    assert_ne!(audit::chain_of(held, 4), audit::chain_of(other, 4));

    let open = db.begin_write().await.expect("txn");
    let now = govmedia_kit::clock::Clock::system().now();
    audit::append(
        &*open,
        4,
        &principal(),
        "",
        vec![entry(held, "/x/", serde_json::json!({}))],
        now,
    )
    .await
    .expect("append");
    // Another chain: done while the first write is still open (a wait here would never end).
    write(&db, 4, "", vec![entry(other, "/x/", serde_json::json!({}))]).await;
    // The held chain: waits for the open write, then follows it.
    let waiting = tokio::spawn({
        let db = db.clone();
        async move {
            write(
                &db,
                4,
                "",
                vec![entry(held, "/x/", serde_json::json!({ "n": 2 }))],
            )
            .await
        }
    });
    open.commit().await.expect("commit");
    waiting.await.expect("the waiting write");
    let history = audit::list(db.conn(), "/", Some(held), None, 10)
        .await
        .expect("list");
    let positions: Vec<i64> = history.iter().map(|record| record.chain_seq).collect();
    assert_eq!(positions, [2, 1]);
    assert_eq!(history[0].details, r#"{"n":2}"#);
    assert_eq!(audit::verify(db.conn()).await, Ok(3));
}

/// A trail written before there were chains (these three entries are the first of the demo
/// ledger as that version wrote them) becomes chain 0 and verifies unchanged; new entries
/// follow it.
async fn a_trail_from_before_chains_still_verifies(backend: Backend) {
    use sea_orm_migration::MigratorTrait;

    let backends = TestBackends::new(backend).await;
    let db = govmedia_kit::db::Db::connect(&backends.database, "kit")
        .await
        .expect("connect");
    // Every kit migration but the one that brought chains.
    crate::KitOnly::up(db.conn(), Some(4))
        .await
        .expect("migrate");
    let rows = [
        (
            1,
            "2026-12-02T20:25:40.766266+00:00",
            "organizations/qinghai",
            "/qinghai/",
            "demo-org-qinghai",
            r#"{"display_name":"青海省人民政府","kind":1,"level":2,"parent":""}"#,
            "",
            "455b88843f402e891b2e15ddcfdae9189da311d350b01781583f19b7ae910868",
        ),
        (
            2,
            "2026-12-02T20:25:40.767600+00:00",
            "organizations/qinghai-office",
            "/qinghai/qinghai-office/",
            "demo-org-qinghai-office",
            r#"{"display_name":"青海省人民政府办公厅","kind":2,"level":2,"parent":"organizations/qinghai"}"#,
            "455b88843f402e891b2e15ddcfdae9189da311d350b01781583f19b7ae910868",
            "a5dc85c126feba1234ca88718ad0908b9779182f8f27a6cca75d580295458b64",
        ),
        (
            3,
            "2026-12-02T20:25:40.769094+00:00",
            "organizations/haixi",
            "/qinghai/haixi/",
            "demo-org-haixi",
            r#"{"display_name":"海西蒙古族藏族自治州人民政府","kind":1,"level":3,"parent":"organizations/qinghai"}"#,
            "a5dc85c126feba1234ca88718ad0908b9779182f8f27a6cca75d580295458b64",
            "6ebcf79a46f70a759cce076187348bed0ad51c358b299c5c454b297d76063338",
        ),
    ];
    let placeholders = match db.backend() {
        sea_orm::DbBackend::Postgres => "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11",
        _ => "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?",
    };
    for (seq, at, resource, scope, request_id, details, previous, hash) in rows {
        let at = chrono::DateTime::parse_from_rfc3339(at)
            .expect("time")
            .with_timezone(&chrono::Utc);
        db.conn()
            .execute_raw(Statement::from_sql_and_values(
                db.backend(),
                format!(
                    "INSERT INTO audit_log (seq, recorded_at, actor, actor_organization, action, \
                     resource, scope, request_id, details, previous_hash, hash) \
                     VALUES ({placeholders})"
                ),
                [
                    i64::from(seq).into(),
                    at.into(),
                    "govmedia-filing".into(),
                    "qinghai".into(),
                    "CreateOrganization".into(),
                    resource.into(),
                    scope.into(),
                    request_id.into(),
                    details.into(),
                    previous.into(),
                    hash.into(),
                ],
            ))
            .await
            .expect("an entry as the former version wrote it");
    }
    crate::KitOnly::up(db.conn(), None)
        .await
        .expect("migrate to chains");
    assert_eq!(audit::verify(db.conn()).await, Ok(3));
    let heads = audit::heads(db.conn()).await.expect("heads");
    assert_eq!(
        heads,
        [audit::ChainHead {
            chain: 0,
            length: 3,
            hash: "6ebcf79a46f70a759cce076187348bed0ad51c358b299c5c454b297d76063338".into(),
        }]
    );
    // With one chain the next entry follows the old ones; with more, entries also start new
    // chains. Either way the numbering of the trail goes on after the old entries.
    write(
        &db,
        1,
        "",
        vec![entry(
            "organizations/golmud",
            "/qinghai/",
            serde_json::json!({}),
        )],
    )
    .await;
    write(
        &db,
        16,
        "",
        vec![entry(
            "organizations/xining",
            "/qinghai/",
            serde_json::json!({}),
        )],
    )
    .await;
    assert_eq!(audit::verify(db.conn()).await, Ok(5));
    let newest = audit::list(db.conn(), "/", None, None, 2)
        .await
        .expect("list");
    assert_eq!(newest[1].seq, 4);
    assert_eq!((newest[1].chain, newest[1].chain_seq), (0, 4));
    assert_eq!(newest[1].previous_hash, heads[0].hash);
    assert_eq!(newest[0].seq, 5);
}
backend_test!(
    a_trail_from_before_chains_still_verifies_on,
    a_trail_from_before_chains_still_verifies
);
