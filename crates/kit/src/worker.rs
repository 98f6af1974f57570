//! The loop every background worker of the suite runs: a pass, then a wait for the next
//! interval, a wake-up or shutdown. A failed pass is logged and tried again at the next turn;
//! it never ends the worker, because what it works on (a queue table) is still there.

use std::{fmt::Display, future::Future, time::Duration};

use tokio::sync::Notify;

use crate::CancellationToken;

/// Runs `pass` now and then after every `interval` or `wake` notification, until `shutdown`.
/// `what` names the work in the log line of a failed pass, e.g. "applying accepted filings".
pub async fn repeat<F, Fut, T, E>(
    what: &str,
    interval: Duration,
    wake: Option<&Notify>,
    shutdown: CancellationToken,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Display,
{
    loop {
        if let Err(error) = pass().await {
            tracing::warn!(%error, "{what} failed; trying again later");
        }
        let woken = async {
            match wake {
                Some(wake) => wake.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = woken => {}
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Runs CPU-heavy work (a spreadsheet export, a large parse) on the blocking pool, so that it
/// never stalls the async executor the service's other calls run on. A panic in `work` becomes
/// INTERNAL about `what`.
pub async fn blocking<T, F>(what: &str, work: F) -> Result<T, crate::error::ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| crate::error::ApiError::internal(what, &error))
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    #[tokio::test]
    async fn passes_run_on_wake_and_stop_on_shutdown_even_after_errors() {
        let passes = Arc::new(AtomicUsize::new(0));
        let wake = Arc::new(Notify::new());
        let shutdown = CancellationToken::new();
        let worker = tokio::spawn({
            let (passes, wake, shutdown) = (passes.clone(), wake.clone(), shutdown.clone());
            async move {
                repeat(
                    "counting",
                    Duration::from_secs(3600),
                    Some(&wake),
                    shutdown,
                    || {
                        let n = passes.fetch_add(1, Ordering::SeqCst);
                        async move {
                            if n % 2 == 0 {
                                Err("odd failure")
                            } else {
                                Ok(())
                            }
                        }
                    },
                )
                .await;
            }
        });
        for expected in 1..=3 {
            while passes.load(Ordering::SeqCst) < expected {
                tokio::task::yield_now().await;
            }
            wake.notify_one();
        }
        while passes.load(Ordering::SeqCst) < 4 {
            tokio::task::yield_now().await;
        }
        shutdown.cancel();
        worker.await.expect("the worker stops on shutdown");
    }
}
