//! At most one query of each kind in flight per REST source.
//!
//! A query abandoned at its timeout closes its body stream, so its parser thread
//! and connection end promptly, but on their own schedule (a parser may be busy
//! with frames already received). The query's slot is held by its future, its
//! parser thread and its connection task, and freed when the last of them ends;
//! the next query of the same kind waits for it, the wait counting against its
//! own timeout (reason `timeout`), instead of starting a second one beside it.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::model::DataKind;
use crate::source::SourceError;

/// The slot of the query running in this future, if any.
pub(super) type Slot = Option<Arc<OwnedSemaphorePermit>>;

tokio::task_local! {
    static CURRENT: Arc<OwnedSemaphorePermit>;
}

/// One single-permit semaphore per kind of query.
#[derive(Default)]
pub(super) struct InFlight {
    slots: Mutex<BTreeMap<DataKind, Arc<Semaphore>>>,
}

impl InFlight {
    /// Runs `query` once the previous query of `kind` has fully ended.
    pub(super) async fn run<T>(
        &self,
        kind: DataKind,
        query: impl Future<Output = Result<T, SourceError>>,
    ) -> Result<T, SourceError> {
        let semaphore = match self.slots.lock() {
            Ok(mut slots) => slots
                .entry(kind)
                .or_insert_with(|| Arc::new(Semaphore::new(1)))
                .clone(),
            Err(_) => return Err(SourceError::Command("in-flight lock poisoned".into())),
        };
        let permit = semaphore
            .acquire_owned()
            .await
            .map_err(|_| SourceError::Command("in-flight slot closed".into()))?;
        CURRENT.scope(Arc::new(permit), query).await
    }
}

/// The slot of the query being run, for the parser thread and the connection
/// task to hold until they end.
pub(super) fn current() -> Slot {
    CURRENT.try_with(Arc::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_kind_waits_for_its_previous_query_and_no_other() {
        let in_flight = Arc::new(InFlight::default());
        let (held_tx, held_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
        // A query whose parser thread outlives it.
        let first = in_flight.run(DataKind::Jobs, async move {
            let _ = held_tx.send(current());
            Ok(())
        });
        assert!(first.await.is_ok());
        let held = held_rx.await.ok().flatten();
        assert!(held.is_some(), "no slot inside the query");
        let leftover = tokio::spawn(async move {
            let _held = held;
            let _ = release_rx.await;
        });
        // Another kind runs at once.
        let nodes = in_flight.run(DataKind::Nodes, async { Ok(()) });
        assert!(nodes.await.is_ok());
        // The same kind waits until the leftover ends.
        let second = {
            let in_flight = in_flight.clone();
            tokio::spawn(async move { in_flight.run(DataKind::Jobs, async { Ok(()) }).await })
        };
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!second.is_finished(), "ran beside the leftover");
        let _ = release_tx.send(());
        let _ = leftover.await;
        assert!(matches!(second.await, Ok(Ok(()))));
    }
}
