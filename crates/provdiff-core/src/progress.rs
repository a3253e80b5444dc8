//! How a download or a git transfer reports how far it has come, so the command line can draw a
//! progress bar without the libraries knowing about terminals.

use std::fmt;
use std::sync::Arc;

/// How much of a transfer has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Transferred {
    /// Bytes received so far.
    pub bytes: u64,
    /// The bytes expected in all, when the other side says (`Content-Length`).
    pub total_bytes: Option<u64>,
    /// Objects received and expected in all (git transfers).
    pub objects: Option<(u64, u64)>,
}

/// Called, from whatever thread does the transfer, each time more of it has arrived.
#[derive(Clone)]
pub struct ProgressSink(Arc<dyn Fn(Transferred) + Send + Sync>);

impl ProgressSink {
    pub fn new(report: impl Fn(Transferred) + Send + Sync + 'static) -> Self {
        Self(Arc::new(report))
    }

    pub fn report(&self, transferred: Transferred) {
        (self.0)(transferred)
    }
}

impl fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressSink")
    }
}
