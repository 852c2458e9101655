//! One shard on disk: its token stream, suffix array, document offsets, prefix table and
//! metadata, opened (mapped or in RAM) and checked against the manifest.

use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use crate::doc_files::DocFiles;
use crate::error::{AnygramError, Result};
use crate::format::{self, ShardManifest};
use crate::packed::{self, PackedSlice};
use crate::storage::FileBytes;
use crate::token::Token;

/// How to open the files of an index.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// Read every file into RAM instead of mapping it.
    pub load_to_ram: bool,
    /// Recompute every file's checksum (reads the whole index once).
    pub verify_checksums: bool,
    /// Map with page tables filled in at open (no page faults during queries).
    pub populate: bool,
}

/// A shard ready for queries. Cheap to share between threads: all state is read-only.
pub struct Shard<T: Token> {
    pub(crate) dir: PathBuf,
    tokens: FileBytes,
    sa: FileBytes,
    prefix: FileBytes,
    pub(crate) docs: DocFiles,
    pub(crate) num_tokens: u64,
    pub(crate) num_docs: u64,
    sa_bits: u32,
    pub(crate) prefix_len: u32,
    /// Symbols of the prefix table: every real token id plus the separator.
    pub(crate) alphabet: u64,
    verify: bool,
    _token: PhantomData<T>,
}

/// Number of tokens in the stored stream: every real token, one separator before each
/// document, and one closing separator.
pub fn stream_len(num_tokens: u64, num_docs: u64) -> u64 {
    num_tokens + num_docs + 1
}

/// Entries of the prefix table of a shard (`alphabet^prefix_len + 1` cumulative counts).
pub fn prefix_table_len(alphabet: u64, prefix_len: u32) -> u64 {
    alphabet.pow(prefix_len) + 1
}

/// Prefix length for a vocabulary: two tokens when the table stays small (byte-level indexes),
/// else one.
pub fn prefix_len_for(vocab_size: u64) -> u32 {
    let alphabet = vocab_size + 1;
    if alphabet * alphabet <= (1 << 17) {
        2
    } else {
        1
    }
}

/// Opens a file the manifest lists (`entry`) in `dir`, checking its size and, when asked, its
/// checksum: a missing, truncated or replaced file is `CorruptIndex`.
pub fn open_listed(
    dir: &Path,
    name: &str,
    entry: &format::FileEntry,
    opts: OpenOptions,
) -> Result<FileBytes> {
    let path = dir.join(name);
    let bytes = match FileBytes::open(&path, opts.load_to_ram, opts.populate) {
        Err(AnygramError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(AnygramError::corrupt(
                &path,
                "file listed in the manifest is missing",
            ))
        }
        other => other?,
    };
    if bytes.len() as u64 != entry.size {
        return Err(AnygramError::corrupt(
            &path,
            format!(
                "file has {} bytes, the manifest says {} (truncated or replaced?)",
                bytes.len(),
                entry.size
            ),
        ));
    }
    if opts.verify_checksums {
        let sum = format::checksum(bytes.as_bytes());
        if sum != entry.xxh3 {
            return Err(AnygramError::corrupt(
                &path,
                format!("checksum {sum} differs from the manifest's {}", entry.xxh3),
            ));
        }
    }
    Ok(bytes)
}

impl<T: Token> Shard<T> {
    pub fn open(
        index_dir: &Path,
        m: &ShardManifest,
        vocab_size: u64,
        opts: OpenOptions,
    ) -> Result<Shard<T>> {
        let dir = index_dir.join(&m.dir);
        let open = |name: &str| open_listed(&dir, name, &m.files[name], opts);
        let shard = Shard {
            tokens: open(format::TOKENS_FILE)?,
            sa: open(format::SA_FILE)?,
            prefix: open(format::PREFIX_FILE)?,
            docs: DocFiles::open(&dir, m, opts)?,
            dir,
            num_tokens: m.num_tokens,
            num_docs: m.num_docs,
            sa_bits: m.sa_bits,
            prefix_len: m.prefix_len,
            alphabet: vocab_size + 1,
            verify: opts.verify_checksums,
            _token: PhantomData,
        };
        shard.check()?;
        Ok(shard)
    }

    /// Structural checks that make every later access safe and cheap: sizes, boundaries,
    /// monotone offsets. Linear in documents and prefix-table size, never in tokens.
    fn check(&self) -> Result<()> {
        let bad = |file: &str, detail: String| AnygramError::corrupt(self.dir.join(file), detail);
        let n = self.num_tokens;
        let d = self.num_docs;
        let len = stream_len(n, d);
        if d == 0 {
            return Err(bad(format::DOCS_FILE, "shard has no documents".into()));
        }
        if self.tokens.len() as u64 != len * T::WIDTH.bytes() as u64 {
            return Err(bad(
                format::TOKENS_FILE,
                format!(
                    "{} bytes do not hold {len} tokens of width {}",
                    self.tokens.len(),
                    T::WIDTH.name()
                ),
            ));
        }
        let tokens = self.tokens();
        if tokens.first() != Some(&T::SEPARATOR) || tokens.last() != Some(&T::SEPARATOR) {
            return Err(bad(
                format::TOKENS_FILE,
                "token stream must start and end with a separator (wrong token width?)".into(),
            ));
        }
        if !(1..=packed::MAX_BITS).contains(&self.sa_bits)
            || self.sa_bits != packed::bits_for(len - 1)
        {
            return Err(bad(
                format::SA_FILE,
                format!("bad pointer width {}", self.sa_bits),
            ));
        }
        if self.sa.len() as u64 != packed::packed_len(n, self.sa_bits) {
            return Err(bad(
                format::SA_FILE,
                "size does not match the token count".into(),
            ));
        }
        let docs = self.docs.doc_starts();
        // One random read per document: only when verifying (a cold open of a mapped index
        // would otherwise fault in a page per document).
        if self.verify && docs.iter().any(|&p| tokens[p as usize] != T::SEPARATOR) {
            return Err(bad(
                format::DOCS_FILE,
                "a document offset does not point at a separator".into(),
            ));
        }
        if !(1..=2).contains(&self.prefix_len) {
            return Err(bad(
                format::PREFIX_FILE,
                format!("bad prefix length {}", self.prefix_len),
            ));
        }
        let prefix = self
            .u64s(&self.prefix)
            .filter(|p| p.len() as u64 == prefix_table_len(self.alphabet, self.prefix_len))
            .ok_or_else(|| {
                bad(
                    format::PREFIX_FILE,
                    "size does not match the vocabulary".into(),
                )
            })?;
        if prefix[0] != 0 || prefix.last() != Some(&n) || prefix.windows(2).any(|w| w[0] > w[1]) {
            return Err(bad(
                format::PREFIX_FILE,
                "prefix counts are not cumulative".into(),
            ));
        }
        Ok(())
    }

    fn u64s<'a>(&self, bytes: &'a FileBytes) -> Option<&'a [u64]> {
        bytemuck::try_cast_slice(bytes.as_bytes()).ok()
    }

    /// The token stream (separators included). Its length was checked at open.
    #[inline]
    pub fn tokens(&self) -> &[T] {
        bytemuck::try_cast_slice(self.tokens.as_bytes()).unwrap_or(&[])
    }

    /// Suffix array: rank → position in `tokens()` of a real token.
    #[inline]
    pub fn sa(&self) -> PackedSlice<'_> {
        PackedSlice::new(self.sa.as_bytes(), self.sa_bits, self.num_tokens)
            .unwrap_or(PackedSlice::EMPTY)
    }

    /// Position of the separator before each document, plus the closing separator.
    #[inline]
    pub fn doc_starts(&self) -> &[u64] {
        self.docs.doc_starts()
    }

    /// Cumulative suffix counts per prefix of `prefix_len` symbols.
    #[inline]
    pub fn prefix_table(&self) -> &[u64] {
        self.u64s(&self.prefix).unwrap_or(&[])
    }

    /// The metadata JSON of a document (shard-local index).
    pub fn metadata(&self, doc: u64) -> Result<std::borrow::Cow<'_, str>> {
        self.docs.metadata(doc)
    }

    pub fn num_tokens(&self) -> u64 {
        self.num_tokens
    }

    pub fn num_docs(&self) -> u64 {
        self.num_docs
    }

    /// Length of the token stream, separators included: pointers are `< stream_len()`.
    pub fn stream_len(&self) -> u64 {
        stream_len(self.num_tokens, self.num_docs)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes of every file of the shard.
    pub fn size_bytes(&self) -> u64 {
        [&self.tokens, &self.sa, &self.prefix]
            .iter()
            .map(|f| f.len() as u64)
            .sum::<u64>()
            + self.docs.size_bytes()
    }
}
