//! Where the work after an acknowledgement runs, for every platform: a
//! runtime of its own, so acknowledgements never queue behind it, and at
//! most `limit` requests at a time. Past that, a request is answered "busy"
//! (or, for events, refused so that the platform delivers it again later)
//! instead of piling up without bound.

use std::sync::Arc;

/// The work runtime and its permits.
#[derive(Debug, Clone)]
pub struct Work {
    handle: tokio::runtime::Handle,
    permits: Arc<tokio::sync::Semaphore>,
}

impl Work {
    pub fn new(handle: tokio::runtime::Handle, limit: usize) -> Work {
        Work {
            handle,
            permits: Arc::new(tokio::sync::Semaphore::new(limit)),
        }
    }

    /// Start `job` unless `limit` jobs are running; false when busy.
    pub fn try_run(&self, job: impl std::future::Future<Output = ()> + Send + 'static) -> bool {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return false;
        };
        self.handle.spawn(async move {
            job.await;
            drop(permit);
        });
        true
    }
}
