use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use govmedia_kit::{
    CancellationToken,
    auth::{Principal, Role},
    clock::Clock,
    config::EventSettings,
    db::Db,
    events::{
        EventBus, EventEnvelope,
        consumer::{self, ConsumerSpec, EventHandler, HandlerError, Outcome},
        outbox::{self, OutboxSignal},
    },
    unit::{Unit, Writer},
};
use govmedia_proto::common::v1::AuditStamp;
use govmedia_test_support::{Backend, TestBackends, backend_test, eventually};
use prost::Name;
use sea_orm::{ConnectionTrait, Statement};

const STREAM: &str = "kit-test";

/// Records each applied event in a table, so double application is visible (primary key) and
/// counts can be read back.
#[derive(Clone, Default)]
struct Recorder {
    fail_next: Arc<AtomicUsize>,
    /// Events about `things/poison` cannot be applied while this is set.
    poisoned: Arc<std::sync::atomic::AtomicBool>,
}

impl EventHandler for Recorder {
    async fn handle(&self, unit: &mut Unit, event: &EventEnvelope) -> Result<(), HandlerError> {
        if self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(HandlerError::transient("injected failure"));
        }
        if event.subject == "things/poison" && self.poisoned.load(Ordering::SeqCst) {
            return Err(HandlerError::permanent("cannot read this payload"));
        }
        let sql = format!(
            "INSERT INTO effects (event_id) VALUES ('{}')",
            event.id.replace('\'', "")
        );
        unit.txn()
            .execute_raw(Statement::from_string(
                unit.txn().get_database_backend(),
                sql,
            ))
            .await?;
        // Through the unit of work: the effect is audited with it.
        unit.audit(
            &event.subject,
            "/",
            serde_json::json!({ "event": event.id }),
        );
        Ok(())
    }
}

fn writer(db: &Db) -> Writer {
    Writer::new(
        db.clone(),
        OutboxSignal::default(),
        "kit-consumer",
        Clock::system(),
    )
}

async fn setup(backend: Backend) -> (TestBackends, Db, EventBus) {
    let backends = TestBackends::new(backend).await;
    let db = crate::open(&backends).await;
    db.conn()
        .execute_raw(Statement::from_string(
            db.backend(),
            "CREATE TABLE effects (event_id VARCHAR(64) PRIMARY KEY)",
        ))
        .await
        .expect("effects table");
    let bus = EventBus::from_settings(&backends.redis, backends.events.max_stream_len)
        .await
        .expect("bus");
    match (backend, &bus) {
        (Backend::Embedded, EventBus::Memory(_)) | (Backend::Production, EventBus::Redis(_)) => {}
        _ => panic!("wrong bus for {backend:?}"),
    }
    (backends, db, bus)
}

async fn effects(db: &Db) -> i64 {
    let row = db
        .conn()
        .query_one_raw(Statement::from_string(
            db.backend(),
            "SELECT COUNT(*) AS n FROM effects",
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

async fn commit_events(db: &Db, n: usize) {
    let txn = db.begin_write().await.expect("txn");
    for i in 0..n {
        let payload = AuditStamp {
            actor: format!("actor-{i}"),
            ..AuditStamp::default()
        };
        outbox::enqueue(
            &*txn,
            STREAM,
            &format!("things/{i}"),
            &payload,
            govmedia_kit::clock::Clock::system().now(),
        )
        .await
        .expect("enqueue");
    }
    txn.commit().await.expect("commit");
}

fn spec(consumer: &str) -> ConsumerSpec {
    ConsumerSpec {
        stream: STREAM.into(),
        group: "tests".into(),
        consumer: consumer.into(),
        method: "RecordEffect",
        principal: Principal {
            subject: "govmedia-kit-test".into(),
            organization: "kit".into(),
            roles: [Role::System].into(),
            issuer: "govmedia:kit-test".into(),
            service: Some("kit-test".into()),
            basis: None,
        },
    }
}

async fn relayed_events_are_applied_once(backend: Backend) {
    let (_backends, db, bus) = setup(backend).await;
    commit_events(&db, 3).await;
    // Events of a transaction that rolls back never leave.
    {
        let txn = db.begin_write().await.expect("txn");
        outbox::enqueue(
            &*txn,
            STREAM,
            "things/rolled-back",
            &AuditStamp::default(),
            govmedia_kit::clock::Clock::system().now(),
        )
        .await
        .expect("enqueue");
    }
    assert_eq!(outbox::backlog(&db).await.expect("backlog"), 3);
    assert_eq!(
        outbox::relay_once(&db, &bus, 100, &govmedia_kit::clock::Clock::system())
            .await
            .expect("relay"),
        3
    );
    assert_eq!(outbox::backlog(&db).await.expect("backlog"), 0);
    assert_eq!(
        outbox::relay_once(&db, &bus, 100, &govmedia_kit::clock::Clock::system())
            .await
            .expect("relay"),
        0
    );

    let mut sub = bus.subscriber().await.expect("subscriber");
    sub.ensure_group(STREAM, "tests").await.expect("group");
    let deliveries = sub
        .read(STREAM, "tests", "c1", 10, Duration::from_millis(500))
        .await
        .expect("read");
    assert_eq!(deliveries.len(), 3);
    assert_eq!(deliveries[0].envelope.r#type, AuditStamp::full_name());
    assert_eq!(deliveries[0].envelope.subject, "things/0");

    let handler = Recorder::default();
    for delivery in &deliveries {
        let outcome = consumer::process(
            &writer(&db),
            &mut sub,
            &spec("c1"),
            &EventSettings::default(),
            &handler,
            delivery,
        )
        .await
        .expect("process");
        assert_eq!(outcome, Outcome::Applied);
    }
    // The same event again (a redelivery after a lost ack) is recognised and not applied.
    let outcome = consumer::process(
        &writer(&db),
        &mut sub,
        &spec("c1"),
        &EventSettings::default(),
        &handler,
        &deliveries[0],
    )
    .await
    .expect("process");
    assert_eq!(outcome, Outcome::Duplicate);
    assert_eq!(effects(&db).await, 3);
    assert_eq!(sub.pending(STREAM, "tests").await.expect("pending"), 0);
}
backend_test!(
    relayed_events_are_applied_once_on,
    relayed_events_are_applied_once
);

async fn entries_of_a_crashed_consumer_are_redelivered(backend: Backend) {
    let (backends, db, bus) = setup(backend).await;
    commit_events(&db, 2).await;
    outbox::relay_once(&db, &bus, 100, &govmedia_kit::clock::Clock::system())
        .await
        .expect("relay");

    // Consumer "crashed" takes both entries and dies without acknowledging them.
    let mut crashed = bus.subscriber().await.expect("subscriber");
    crashed.ensure_group(STREAM, "tests").await.expect("group");
    let taken = crashed
        .read(STREAM, "tests", "crashed", 10, Duration::from_millis(500))
        .await
        .expect("read");
    assert_eq!(taken.len(), 2);
    drop(crashed);

    let mut survivor = bus.subscriber().await.expect("subscriber");
    assert!(
        survivor
            .read(STREAM, "tests", "survivor", 10, Duration::from_millis(50))
            .await
            .expect("read")
            .is_empty(),
        "pending entries are not new entries"
    );
    let idle = Duration::from_millis(backends.events.claim_idle_ms);
    tokio::time::sleep(idle).await;
    let claimed = survivor
        .claim_stale(STREAM, "tests", "survivor", idle, 10)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    let handler = Recorder::default();
    for delivery in &claimed {
        consumer::process(
            &writer(&db),
            &mut survivor,
            &spec("survivor"),
            &EventSettings::default(),
            &handler,
            delivery,
        )
        .await
        .expect("process");
    }
    assert_eq!(effects(&db).await, 2);
    assert_eq!(survivor.pending(STREAM, "tests").await.expect("pending"), 0);
}
backend_test!(
    entries_of_a_crashed_consumer_are_redelivered_on,
    entries_of_a_crashed_consumer_are_redelivered
);

async fn running_relay_and_consumer_survive_handler_failures(backend: Backend) {
    let (backends, db, bus) = setup(backend).await;
    let cancel = CancellationToken::new();
    let signal = OutboxSignal::default();
    let relay = outbox::spawn_relay(
        db.clone(),
        bus.clone(),
        backends.events.clone(),
        govmedia_kit::clock::Clock::system(),
        signal.clone(),
        (
            govmedia_kit::lease::Leases::for_bus(&bus),
            "kit-test-outbox-relay".to_owned(),
            "kit-test".to_owned(),
        ),
        cancel.clone(),
    );
    let handler = Recorder::default();
    handler.fail_next.store(2, Ordering::SeqCst);
    let consumer = tokio::spawn(consumer::run_consumer(
        writer(&db),
        bus.clone(),
        spec("runner"),
        backends.events.clone(),
        handler,
        cancel.clone(),
    ));

    commit_events(&db, 5).await;
    signal.notify();
    // The two failed deliveries stay pending and are claimed again after the idle time.
    eventually("all five events applied", Duration::from_secs(30), || {
        let db = db.clone();
        async move { (effects(&db).await == 5).then_some(()) }
    })
    .await;
    cancel.cancel();
    relay.await.expect("relay task");
    consumer.await.expect("consumer task");
    assert_eq!(effects(&db).await, 5);
    assert_eq!(outbox::backlog(&db).await.expect("backlog"), 0);
}
backend_test!(
    running_relay_and_consumer_survive_handler_failures_on,
    running_relay_and_consumer_survive_handler_failures
);

async fn events_wait_in_the_outbox_while_the_bus_is_down(backend: Backend) {
    if backend == Backend::Embedded {
        return; // the in-process bus cannot be down
    }
    let (_backends, db, _bus) = setup(backend).await;
    commit_events(&db, 2).await;
    // A bus pointing at a closed port refuses; the events stay unpublished.
    let down = EventBus::from_settings(
        &govmedia_kit::config::RedisSettings {
            url: Some("redis://127.0.0.1:1".into()),
            key_prefix: "unused:".into(),
        },
        100,
    )
    .await;
    assert!(down.is_err(), "a closed port must not connect");
    assert_eq!(outbox::backlog(&db).await.expect("backlog"), 2);
}
backend_test!(
    events_wait_in_the_outbox_while_the_bus_is_down_on,
    events_wait_in_the_outbox_while_the_bus_is_down
);

/// Housekeeping forgets relayed outbox rows and processed-event ids past their retention, and
/// nothing younger or unrelayed.
async fn housekeeping_forgets_only_what_is_past_its_retention(backend: Backend) {
    let (backends, db, bus) = setup(backend).await;
    let clock = govmedia_kit::clock::ManualClock::new(chrono::Utc::now());
    commit_events(&db, 3).await;
    assert_eq!(
        outbox::relay_once(&db, &bus, 2, &clock.clock())
            .await
            .expect("relay"),
        2
    );
    let mut sub = bus.subscriber().await.expect("subscriber");
    sub.ensure_group(STREAM, "tests").await.expect("group");
    let deliveries = sub
        .read(STREAM, "tests", "c1", 10, Duration::from_millis(500))
        .await
        .expect("read");
    for delivery in &deliveries {
        consumer::process(
            &writer(&db),
            &mut sub,
            &spec("c1"),
            &EventSettings::default(),
            &Recorder::default(),
            delivery,
        )
        .await
        .expect("process");
    }
    let settings = &backends.events;
    govmedia_kit::server::housekeeping(&db, &clock.clock(), settings).await;
    assert_eq!(outbox::backlog(&db).await.expect("backlog"), 1);
    assert_eq!(effects(&db).await, 2, "nothing young is forgotten");

    clock.advance(chrono::Duration::hours(
        i64::try_from(settings.processed_retention_hours).expect("hours") + 1,
    ));
    govmedia_kit::server::housekeeping(&db, &clock.clock(), settings).await;
    let count = |table: &str| {
        let db = db.clone();
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        async move {
            db.conn()
                .query_one_raw(Statement::from_string(db.backend(), sql))
                .await
                .expect("count")
                .expect("row")
                .try_get::<i64>("", "n")
                .expect("n")
        }
    };
    assert_eq!(count("outbox_events").await, 1, "the unrelayed event stays");
    assert_eq!(count("processed_events").await, 0);
}
backend_test!(
    housekeeping_forgets_only_what_is_past_its_retention_on,
    housekeeping_forgets_only_what_is_past_its_retention
);

/// An event a consumer cannot apply does not block the stream: it becomes a dead letter (at
/// once when the handler says it never can, after `max_deliveries` failures otherwise), is
/// listed, and is applied when replayed after the cause is mended.
async fn events_a_consumer_cannot_apply_become_dead_letters_and_replay(backend: Backend) {
    let (_backends, db, bus) = setup(backend).await;
    let txn = db.begin_write().await.expect("txn");
    for subject in ["things/ok", "things/poison", "things/flaky"] {
        outbox::enqueue(
            &*txn,
            STREAM,
            subject,
            &AuditStamp::default(),
            Clock::system().now(),
        )
        .await
        .expect("enqueue");
    }
    txn.commit().await.expect("commit");
    outbox::relay_once(&db, &bus, 100, &Clock::system())
        .await
        .expect("relay");
    let mut sub = bus.subscriber().await.expect("subscriber");
    sub.ensure_group(STREAM, "tests").await.expect("group");
    let deliveries = sub
        .read(STREAM, "tests", "c1", 10, Duration::from_millis(500))
        .await
        .expect("read");
    assert_eq!(deliveries.len(), 3);
    let handler = Recorder::default();
    handler.poisoned.store(true, Ordering::SeqCst);
    let settings = EventSettings {
        max_deliveries: 2,
        ..EventSettings::default()
    };
    let mut outcomes = Vec::new();
    for delivery in &deliveries {
        if delivery.envelope.subject == "things/flaky" {
            handler.fail_next.store(1, Ordering::SeqCst);
        }
        outcomes.push(
            consumer::process(
                &writer(&db),
                &mut sub,
                &spec("c1"),
                &settings,
                &handler,
                delivery,
            )
            .await
            .expect("process"),
        );
    }
    assert_eq!(outcomes, [Outcome::Applied, Outcome::Dead, Outcome::Failed]);
    // The flaky one fails once more (its second and last delivery) and is given up too.
    handler.fail_next.store(1, Ordering::SeqCst);
    let flaky = &deliveries[2];
    assert_eq!(
        consumer::process(
            &writer(&db),
            &mut sub,
            &spec("c1"),
            &settings,
            &handler,
            flaky
        )
        .await
        .expect("process"),
        Outcome::Dead
    );
    assert_eq!(
        sub.pending(STREAM, "tests").await.expect("pending"),
        0,
        "the stream moved on"
    );
    let dead = consumer::dead_letters(&db, 10).await.expect("dead");
    assert_eq!(dead.len(), 2);
    let poison = dead
        .iter()
        .find(|letter| letter.subject == "things/poison")
        .expect("poison");
    assert_eq!(poison.last_error, "cannot read this payload");
    assert_eq!(effects(&db).await, 1);

    // Replayed while the cause remains: dead again. Mended: applied, and forgotten.
    assert!(
        consumer::replay(&db, &poison.event_id)
            .await
            .expect("replay")
    );
    assert!(
        !consumer::replay(&db, "no-such-event")
            .await
            .expect("replay")
    );
    consumer::replay_requested(&writer(&db), &spec("c1"), &handler)
        .await
        .expect("replay");
    assert_eq!(
        consumer::dead_letters(&db, 10).await.expect("dead").len(),
        2
    );
    handler.poisoned.store(false, Ordering::SeqCst);
    for letter in consumer::dead_letters(&db, 10).await.expect("dead") {
        consumer::replay(&db, &letter.event_id)
            .await
            .expect("replay");
    }
    assert_eq!(
        consumer::replay_requested(&writer(&db), &spec("c1"), &handler)
            .await
            .expect("replay"),
        2
    );
    assert!(
        consumer::dead_letters(&db, 10)
            .await
            .expect("dead")
            .is_empty()
    );
    assert_eq!(effects(&db).await, 3);
    assert_eq!(govmedia_kit::audit::verify(db.conn()).await, Ok(3));
}
backend_test!(
    events_a_consumer_cannot_apply_become_dead_letters_and_replay_on,
    events_a_consumer_cannot_apply_become_dead_letters_and_replay
);
