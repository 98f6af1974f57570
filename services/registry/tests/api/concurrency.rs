//! Rules that read and then write hold under concurrent callers (on PostgreSQL writers really
//! run in parallel; on SQLite they are serialized).

use govmedia_proto::{common::v1::Platform, registry::v1 as pb};
use govmedia_test_support::{Backend, backend_test};
use tonic::Code;

use crate::helpers::{
    TestApp, activate_with, create_account, new_account, open_account, seed_tree,
};

async fn one_account_per_platform_holds_under_concurrency(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    // Races are probabilistic: several rounds of eight overlapping first accounts each.
    for platform in [
        Platform::Weibo,
        Platform::Douyin,
        Platform::Toutiao,
        Platform::Kuaishou,
        Platform::Bilibili,
    ] {
        // Connect first, then fire together, so that the calls really overlap.
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(8));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let id = format!("race-{}-{i}", platform as i32);
            let mut client = app.applying(&format!("filings/open-{id}")).await;
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                create_account(
                    &mut client,
                    &id,
                    new_account("golmud-edu", platform, "格尔木教育"),
                )
                .await
            }));
        }
        let mut created = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(_) => created += 1,
                Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}"),
            }
        }
        assert_eq!(
            created, 1,
            "exactly one of eight concurrent first accounts on {platform:?} may exist"
        );
    }
}
backend_test!(
    one_account_per_platform_holds_under_concurrency_on,
    one_account_per_platform_holds_under_concurrency
);

async fn twins_of_one_request_get_one_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let request = pb::CreateAccountRequest {
        account_id: "twin".into(),
        account: Some(new_account("golmud-edu", Platform::Douyin, "格尔木教育")),
        filing: "filings/open-twin".into(),
        request_id: "c0ffee00-0000-4000-8000-000000000001".into(),
    };
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(6));
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let mut client = app.applying("filings/open-twin").await;
        let (request, start) = (request.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            client
                .create_account(request)
                .await
                .map(tonic::Response::into_inner)
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(
            task.await
                .expect("task")
                .expect("every twin gets the first answer"),
        );
    }
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]));
}
backend_test!(
    twins_of_one_request_get_one_answer_on,
    twins_of_one_request_get_one_answer
);

async fn a_platform_id_is_bound_once_under_concurrency(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    let units = ["golmud-edu", "golmud-office", "golmud"];
    for unit in units {
        open_account(
            &app,
            &format!("{unit}-ks"),
            new_account(unit, Platform::Kuaishou, "快手号"),
        )
        .await
        .expect("create");
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(units.len()));
    let mut tasks = Vec::new();
    for unit in units {
        let mut client = app.applying(&format!("filings/open-{unit}-ks")).await;
        let start = start.clone();
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            activate_with(&mut client, &format!("{unit}-ks"), "same-id").await
        }));
    }
    let mut bound = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => bound += 1,
            Err(status) => assert_eq!(status.code(), Code::AlreadyExists, "{status:?}"),
        }
    }
    assert_eq!(bound, 1);
}
backend_test!(
    a_platform_id_is_bound_once_under_concurrency_on,
    a_platform_id_is_bound_once_under_concurrency
);
