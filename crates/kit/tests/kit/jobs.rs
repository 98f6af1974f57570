//! Durable jobs and leader leases on both backends: one effect per job across replicas, a dead
//! holder's work taken over once its lease runs out, backoff, the DEAD state and revival.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::Utc;
use govmedia_kit::{
    CancellationToken,
    clock::ManualClock,
    db::Db,
    events::EventBus,
    jobs::{self, JobState, Outcome, Queue, RetryPolicy},
    lease::{self, Leases},
};
use govmedia_test_support::{Backend, TestBackends, backend_test};

const QUEUE: &str = "test-work";

fn policy(max_attempts: i32) -> RetryPolicy {
    RetryPolicy {
        initial: Duration::from_secs(10),
        max: Duration::from_secs(60),
        max_attempts,
    }
}

fn queue(db: &Db, clock: &ManualClock, owner: &str, max_attempts: i32) -> Queue {
    Queue::new(
        db.clone(),
        clock.clock(),
        QUEUE,
        owner,
        Duration::from_secs(30),
        policy(max_attempts),
    )
}

async fn enqueue(db: &Db, clock: &ManualClock, keys: impl IntoIterator<Item = String>) {
    let txn = db.begin_write().await.expect("txn");
    for key in keys {
        jobs::enqueue(&*txn, QUEUE, &key, clock.clock().now())
            .await
            .expect("enqueue");
    }
    txn.commit().await.expect("commit");
}

async fn setup(backend: Backend) -> (TestBackends, Db, ManualClock) {
    let backends = TestBackends::new(backend).await;
    let db = crate::open(&backends).await;
    (backends, db, ManualClock::new(Utc::now()))
}

async fn two_replicas_do_each_job_once(backend: Backend) {
    let (_backends, db, clock) = setup(backend).await;
    enqueue(&db, &clock, (0..40).map(|i| format!("k{i}"))).await;
    // The same work queued again is the same job.
    enqueue(&db, &clock, (0..40).map(|i| format!("k{i}"))).await;
    assert_eq!(
        jobs::count(db.conn(), QUEUE, JobState::Ready)
            .await
            .expect("count"),
        40
    );
    let done: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let start = Arc::new(tokio::sync::Barrier::new(2));
    let mut replicas = Vec::new();
    for owner in ["replica-a", "replica-b"] {
        let (queue, done, start) = (queue(&db, &clock, owner, 5), done.clone(), start.clone());
        replicas.push(tokio::spawn(async move {
            start.wait().await;
            let mut handle = |job: jobs::Job| {
                let done = done.clone();
                async move {
                    *done.lock().expect("lock").entry(job.key).or_default() += 1;
                    tokio::task::yield_now().await;
                    Outcome::Done
                }
            };
            queue.work(3, &mut handle).await.expect("work");
        }));
    }
    for replica in replicas {
        replica.await.expect("replica");
    }
    let done = done.lock().expect("lock").clone();
    assert_eq!(done.len(), 40);
    assert!(done.values().all(|times| *times == 1), "{done:?}");
    for state in [JobState::Ready, JobState::Running, JobState::Dead] {
        assert_eq!(
            jobs::count(db.conn(), QUEUE, state).await.expect("count"),
            0
        );
    }
}
backend_test!(
    two_replicas_do_each_job_once_on,
    two_replicas_do_each_job_once
);

async fn a_dead_holders_jobs_are_taken_over_after_its_lease(backend: Backend) {
    let (_backends, db, clock) = setup(backend).await;
    enqueue(&db, &clock, (0..3).map(|i| format!("k{i}"))).await;
    // A replica claims the jobs and dies (is killed) before it settles them.
    let killed = queue(&db, &clock, "killed", 5);
    let held = killed.claim(10).await.expect("claim");
    assert_eq!(held.len(), 3);
    let survivor = queue(&db, &clock, "survivor", 5);
    assert!(
        survivor.claim(10).await.expect("claim").is_empty(),
        "leased"
    );
    clock.advance(chrono::Duration::seconds(31));
    let taken = survivor.claim(10).await.expect("claim");
    assert_eq!(taken.len(), 3, "the lease ran out");
    assert!(taken.iter().all(|job| job.attempts == 2));
    for job in &taken {
        assert!(survivor.settle(job, &Outcome::Done).await.expect("settle"));
    }
    // The killed replica coming back records nothing over its successor.
    assert!(
        !killed
            .settle(&held[0], &Outcome::Done)
            .await
            .expect("settle")
    );
    assert_eq!(
        jobs::count(db.conn(), QUEUE, JobState::Ready)
            .await
            .expect("count"),
        0
    );
}
backend_test!(
    a_dead_holders_jobs_are_taken_over_after_its_lease_on,
    a_dead_holders_jobs_are_taken_over_after_its_lease
);

async fn failures_back_off_die_and_revive_without_blocking_others(backend: Backend) {
    let (_backends, db, clock) = setup(backend).await;
    enqueue(
        &db,
        &clock,
        ["bad".to_owned(), "good-1".to_owned(), "good-2".to_owned()],
    )
    .await;
    let queue = queue(&db, &clock, "replica", 2);
    let mut handle = |job: jobs::Job| async move {
        if job.key == "bad" {
            Outcome::Retry("the other side is down".to_owned())
        } else {
            Outcome::Done
        }
    };
    queue.work(10, &mut handle).await.expect("work");
    // The good jobs are done; the bad one waits for its backoff (5..10 s after the first try).
    assert_eq!(
        jobs::count(db.conn(), QUEUE, JobState::Ready)
            .await
            .expect("count"),
        1
    );
    let bad = jobs::get(db.conn(), &jobs::job_id(QUEUE, "bad"))
        .await
        .expect("get")
        .expect("bad job");
    let wait = bad.run_at - clock.clock().now();
    assert!(
        wait >= chrono::Duration::seconds(5) && wait <= chrono::Duration::seconds(10),
        "{wait}"
    );
    assert_eq!(bad.last_error, "the other side is down");
    queue.work(10, &mut handle).await.expect("work");
    assert_eq!(
        jobs::get(db.conn(), &bad.id)
            .await
            .expect("get")
            .expect("job")
            .attempts,
        1,
        "not due yet"
    );
    // The second failure spends the attempts: DEAD, listed, with why.
    clock.advance(chrono::Duration::seconds(11));
    queue.work(10, &mut handle).await.expect("work");
    let dead = jobs::dead(db.conn(), Some(QUEUE), 10).await.expect("dead");
    assert_eq!(dead.len(), 1);
    assert!(
        dead[0].last_error.contains("gave up after 2 attempts"),
        "{:?}",
        dead[0]
    );
    // An operator revives it; a wait does not count as an attempt.
    let txn = db.begin_write().await.expect("txn");
    assert!(
        jobs::revive(&*txn, &bad.id, clock.clock().now())
            .await
            .expect("revive")
    );
    txn.commit().await.expect("commit");
    let mut waiting = |_job: jobs::Job| async { Outcome::Wait(Duration::from_secs(1)) };
    queue.work(10, &mut waiting).await.expect("work");
    let revived = jobs::get(db.conn(), &bad.id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!((revived.state, revived.attempts), (JobState::Ready, 0));
}
backend_test!(
    failures_back_off_die_and_revive_without_blocking_others_on,
    failures_back_off_die_and_revive_without_blocking_others
);

async fn leases(backend: Backend) -> (TestBackends, Leases) {
    let backends = TestBackends::new(backend).await;
    let bus = EventBus::from_settings(&backends.redis, 100)
        .await
        .expect("bus");
    (backends, Leases::for_bus(&bus))
}

async fn a_lease_has_one_holder_and_passes_on_when_it_expires(backend: Backend) {
    let (_backends, leases) = leases(backend).await;
    let ttl = Duration::from_millis(300);
    let first = leases.acquire("sweep", "a", ttl).await.expect("acquire");
    assert!(first.is_some());
    assert_eq!(
        leases.acquire("sweep", "b", ttl).await.expect("acquire"),
        None
    );
    assert!(leases.renew("sweep", "a", ttl).await.expect("renew"));
    assert!(!leases.renew("sweep", "b", ttl).await.expect("renew"));
    // The holder dies: nothing renews, and the lease runs out.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let second = leases.acquire("sweep", "b", ttl).await.expect("acquire");
    assert!(
        second > first,
        "fencing tokens grow: {first:?} then {second:?}"
    );
    assert!(
        !leases.renew("sweep", "a", ttl).await.expect("renew"),
        "a lost it"
    );
    leases.release("sweep", "b").await.expect("release");
    assert!(leases.acquire("sweep", "a", ttl).await.expect("acquire") > second);
}
backend_test!(
    a_lease_has_one_holder_and_passes_on_when_it_expires_on,
    a_lease_has_one_holder_and_passes_on_when_it_expires
);

async fn leading_work_moves_to_another_replica_when_its_holder_stops(backend: Backend) {
    let (_backends, leases) = leases(backend).await;
    let running = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let started = Arc::new(tokio::sync::Notify::new());
    let spawn = |owner: &'static str, shutdown: CancellationToken| {
        let (leases, running, started) = (leases.clone(), running.clone(), started.clone());
        tokio::spawn(async move {
            lease::lead(
                leases,
                "reminders",
                owner,
                Duration::from_millis(300),
                shutdown,
                |_token, lost| {
                    let (running, started) = (running.clone(), started.clone());
                    async move {
                        running.lock().expect("lock").push(owner);
                        started.notify_one();
                        lost.cancelled().await;
                        running.lock().expect("lock").retain(|o| *o != owner);
                    }
                },
            )
            .await;
        })
    };
    let (stop_a, stop_b) = (CancellationToken::new(), CancellationToken::new());
    let a = spawn("a", stop_a.clone());
    started.notified().await;
    let b = spawn("b", stop_b.clone());
    // b keeps trying; the work runs in one place only.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(running.lock().expect("lock").len(), 1);
    }
    let first = running.lock().expect("lock")[0];
    if first == "a" {
        stop_a.cancel();
        a.await.expect("a");
    } else {
        stop_b.cancel();
        b.await.expect("b");
    }
    let notified = started.notified();
    tokio::time::timeout(Duration::from_secs(10), notified)
        .await
        .expect("the other replica takes the work over");
    let now = running.lock().expect("lock").clone();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0], first);
    stop_a.cancel();
    stop_b.cancel();
}
backend_test!(
    leading_work_moves_to_another_replica_when_its_holder_stops_on,
    leading_work_moves_to_another_replica_when_its_holder_stops
);
