//! Citizens' personal data: sealed at rest, masked in every response, event and log line,
//! revealed in full only to the dispatcher or the department, with a reason, on the audit trail.

use govmedia_proto::routing::v1 as pb;
use govmedia_test_support::{Backend, backend_test, next_event};
use prost::Message as _;
use sea_orm::{ConnectionTrait, Statement};
use tonic::Code;

use crate::helpers::*;

/// The citizen's number as given, and one written in the text.
const PHONE: &str = "13812345678";
const PHONE_IN_TEXT: &str = "13900001111";
const HANDLE: &str = "张三丰";
/// The number of a citizen whose message comes in a collector's stream.
const STREAMED_PHONE: &str = "13600003333";
/// Everything that must never be stored or logged in clear (the number in the text also as it
/// was written there).
const SECRETS: [&str; 5] = [
    PHONE,
    PHONE_IN_TEXT,
    HANDLE,
    "139-0000-1111",
    STREAMED_PHONE,
];

/// Every form a value could take in storage: as text, and as the hex of its bytes (PostgreSQL
/// shows `bytea` columns, like the outbox's payloads, that way).
fn forms(value: &str) -> [String; 2] {
    let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
    [value.to_owned(), hex]
}

/// Every byte the routing database holds: the SQLite file and its journal, or every row of
/// every table of the service's PostgreSQL schema as JSON.
async fn stored_bytes(suite: &Suite, backend: Backend) -> String {
    match backend {
        Backend::Embedded => {
            let url = suite.backends.database.url.clone().expect("url");
            let path = url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .expect("path")
                .to_owned();
            let mut all = Vec::new();
            for file in [
                path.clone(),
                format!("{path}-wal"),
                format!("{path}-journal"),
            ] {
                if let Ok(bytes) = std::fs::read(&file) {
                    all.extend(bytes);
                }
            }
            // Text as it is stored, and the bytes as hex for anything stored as a blob.
            let hex: String = all.iter().map(|b| format!("{b:02x}")).collect();
            format!("{}\n{hex}", String::from_utf8_lossy(&all))
        }
        Backend::Production => {
            let conn = suite.routing_db.conn();
            let backend = conn.get_database_backend();
            let tables = conn
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT table_name::text AS name FROM information_schema.tables \
                     WHERE table_schema = current_schema()",
                ))
                .await
                .expect("tables");
            assert!(tables.len() >= 8, "the routing schema's tables");
            let mut all = String::new();
            for table in tables {
                let name: String = table.try_get("", "name").expect("name");
                let rows = conn
                    .query_all_raw(Statement::from_string(
                        backend,
                        format!("SELECT row_to_json(t)::text AS row FROM \"{name}\" t"),
                    ))
                    .await
                    .expect("rows");
                for row in rows {
                    let text: String = row.try_get("", "row").expect("row");
                    all.push_str(&text);
                    all.push('\n');
                }
            }
            all
        }
    }
}

backend_test!(
    the_phone_number_is_stored_nowhere_in_clear_and_revealed_on_the_record_on,
    sealed
);

async fn sealed(backend: Backend) {
    // Before the services start, so that every line they log is read below.
    let logs = govmedia_test_support::captured_logs();
    let suite = Suite::spawn(backend, "2026-06-01T09:00:00+08:00").await;
    let mut collector = suite.collector().await;
    let taken = submit(
        &mut collector,
        message(
            "golmud-wechat",
            "wx-5001",
            "小区供暖不热，请联系我 +86 139-0000-1111 或座机",
            "2026-06-01T08:00:00+08:00",
        ),
    )
    .await
    .expect("taken");
    let name = case_of(&taken).name;
    let response = format!("{:?}", taken);
    for secret in [PHONE, PHONE_IN_TEXT, HANDLE] {
        assert!(
            !response.contains(secret),
            "the intake response shows {secret}"
        );
    }
    let event = next_event(&suite.bus, "routing", "privacy-test", |e| e.subject == name).await;
    let changed = pb::CaseChanged::decode(event.payload.as_slice()).expect("event");
    let shown = format!("{changed:?}");
    assert!(shown.contains("138****5678"));
    for secret in [PHONE, PHONE_IN_TEXT, HANDLE, "139-0000-1111"] {
        assert!(!shown.contains(secret), "the event shows {secret}");
        assert!(
            !String::from_utf8_lossy(&event.payload).contains(secret),
            "the event bytes show {secret}"
        );
    }

    // A message of a collector's stream takes the same care.
    let mut streamed = message(
        "golmud-wechat",
        "wx-5002",
        "公交站牌被撞坏了，电话13600003333",
        "2026-06-01T08:05:00+08:00",
    );
    streamed.citizen_handle = "李四".into();
    streamed.citizen_contact = STREAMED_PHONE.into();
    let batch = collector
        .submit_messages(tokio_stream::iter([pb::SubmitMessagesRequest {
            message: Some(streamed),
        }]))
        .await
        .expect("the stream is taken")
        .into_inner();
    assert_eq!(batch.accepted, 1, "{batch:?}");
    assert!(!format!("{batch:?}").contains(STREAMED_PHONE));

    // Someone outside the case may not see it in full; the dispatcher may, with a reason.
    let audited = suite.audit_count().await;
    let mut health = suite.health_handler().await;
    assert_error(
        health
            .reveal_contact(pb::RevealContactRequest {
                name: name.clone(),
                reason: "想看看".into(),
            })
            .await,
        Code::PermissionDenied,
        "OUTSIDE_JURISDICTION",
    );
    let mut dispatcher = suite.dispatcher().await;
    assert_invalid(
        dispatcher
            .reveal_contact(pb::RevealContactRequest {
                name: name.clone(),
                reason: String::new(),
            })
            .await,
        "reason",
    );
    assert_eq!(
        suite.audit_count().await,
        audited,
        "refusals reveal nothing"
    );
    let revealed = dispatcher
        .reveal_contact(pb::RevealContactRequest {
            name: name.clone(),
            reason: "回电核实供暖地址".into(),
        })
        .await
        .expect("revealed")
        .into_inner();
    assert_eq!(revealed.messages.len(), 1);
    assert_eq!(revealed.messages[0].citizen_contact, PHONE);
    assert_eq!(revealed.messages[0].citizen_handle, HANDLE);
    assert_eq!(revealed.messages[0].phones_in_text, [PHONE_IN_TEXT]);
    assert_eq!(
        suite.audit_count().await,
        audited + 1,
        "the read is audited"
    );

    // After all that, the database holds none of it in clear.
    let stored = stored_bytes(&suite, backend).await;
    assert!(stored.contains("138****5678"), "the scan reads the cases");
    for secret in SECRETS {
        for form in forms(secret) {
            assert!(
                !stored.contains(&form),
                "the database holds {secret} as {form}"
            );
        }
    }

    // Nor does any log line, at any level an operator may turn on (the log holds every line of
    // this test binary so far: the other tests' messages too).
    let logged = logs.text();
    assert!(
        logged.contains("/govmedia.routing.v1.RoutingService/RevealContact"),
        "the capture reads this test's calls"
    );
    for secret in SECRETS {
        assert!(!logged.contains(secret), "a log line holds {secret}");
    }
}
