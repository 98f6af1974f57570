//! When the database fails, callers get INTERNAL with a trace id to quote, never database text.

use govmedia_kit::auth::Role;
use govmedia_proto::registry::v1 as pb;
use govmedia_test_support::{Backend, backend_test};
use sea_orm::{ConnectionTrait, Statement};
use tonic::Code;

use crate::helpers::{TestApp, assert_error, seed_tree};

async fn a_broken_database_leaks_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    seed_tree(&app).await;
    crate::helpers::open_account(
        &app,
        "edu-wechat",
        crate::helpers::new_account(
            "golmud-edu",
            govmedia_proto::common::v1::Platform::WechatOfficialAccount,
            "格尔木教育",
        ),
    )
    .await
    .expect("create");
    app.db
        .conn()
        .execute_raw(Statement::from_string(
            app.db.backend(),
            "DROP TABLE credential_custody",
        ))
        .await
        .expect("drop");
    let mut operator = app.client("golmud-edu", &[Role::Leader]).await;
    let status = assert_error(
        operator
            .list_credential_alerts(pb::ListCredentialAlertsRequest::default())
            .await,
        Code::Internal,
        "INTERNAL",
    );
    let message = status.message().to_lowercase();
    assert!(message.starts_with("internal error while"), "{message}");
    for leak in ["credential_custody", "relation", "table", "sql", "select"] {
        assert!(!message.contains(leak), "{message:?} leaks {leak:?}");
    }
}
backend_test!(
    a_broken_database_leaks_nothing_on,
    a_broken_database_leaks_nothing
);
