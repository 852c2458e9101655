//! # anygram-core
//!
//! The engine behind anygram: exact n-gram search over token corpora of any size.
//!
//! **Build.** Documents are tokenized ([`build::TextEncoder`]) and laid out per shard as one
//! token stream `SEP doc0 SEP doc1 ... SEP`, where the separator is the token width's largest
//! value, so no n-gram match ever crosses a document boundary. Each shard's suffix array comes
//! from libsais; only suffixes that start with a real token are kept (they are exactly the first
//! `num_tokens` entries, since the separator sorts last) and every pointer is bit-packed into
//! `ceil(log2(stream length))` bits. A prefix table gives the suffix-array range of every first
//! token (or first two, for byte-level indexes) directly. The manifest is written last.
//!
//! **Query.** [`Index`] opens one or more index directories (mapped or in RAM) and answers
//! `count`/`find` by a prefix-table lookup plus a binary search per shard, merged by the pure
//! functions of [`merge`]; documents come back by rank, pointer or number ([`docs`]).
//!
//! `ARCHITECTURE.md` at the repository root describes every file and algorithm in more detail.

pub mod attribution;
pub mod build;
pub mod cnf;
pub mod contamination;
pub mod creativity;
pub mod deadline;
pub mod dedup;
pub mod doc_files;
pub mod docs;
pub mod draft;
pub mod error;
pub mod executor;
pub mod fm;
pub mod fold;
pub mod format;
pub mod generate;
pub mod grow;
pub mod index;
pub mod lm;
pub mod merge;
pub mod meta_blocks;
pub mod packed;
mod prefetch;
pub mod query;
pub mod request;
pub mod sa_shard;
pub mod shard;
pub mod shard_index;
pub mod storage;
pub mod suffix_array;
pub mod summary;
pub mod token;

pub use deadline::Deadline;
pub use docs::DocResult;
pub use error::{AnygramError, Result};
pub use index::Index;
pub use merge::FindResult;
pub use query::Segment;
pub use shard::OpenOptions;
pub use shard_index::{AnyShard, ShardIndex};
pub use token::TokenWidth;
