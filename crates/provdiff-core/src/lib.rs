//! provdiff's shared vocabulary: the file trees that are compared, the findings a comparison or a
//! verification produces, and the verdict they add up to.
//!
//! Every other provdiff crate speaks these types, so this crate holds data and pure functions
//! only. **Architecture Invariant:** no I/O, no dependency on another provdiff crate.

pub mod digest;
pub mod finding;
pub mod progress;
pub mod publish;
pub mod source;
pub mod tree;
pub mod verdict;

pub use digest::Sha512;
pub use finding::{Code, Finding, Severity};
pub use progress::{ProgressSink, Transferred};
pub use publish::{PublishContext, PublishTool, ToolFile, WorkspacePackage};
pub use source::{Overlay, SourceEntry, SourceError, SourceKind, SourceTree};
pub use tree::{EntryKind, FileEntry, FileTree};
pub use verdict::{EncodingLevel, Verdict};
