//! Index construction: documents in, a finished index directory out.

pub mod assemble;
pub mod builder;
pub mod encoder;
pub mod shard_writer;
pub mod source;

pub use builder::{BuildOptions, BuildProgress, IndexBuilder};
pub use encoder::{load_bpe, ByteEncoder, TextEncoder, BYTE_VOCAB};
pub use source::{ByteRange, Document, DocumentReader, FieldOptions, FileKind, OnError};
