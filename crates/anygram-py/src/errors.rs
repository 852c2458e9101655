//! Engine errors to Python exceptions, and the guard that keeps panics out of Python.
//!
//! The exception classes are defined in `anygram/errors.py` rather than with
//! `create_exception!`, because each also derives from a builtin (`ValueError`,
//! `FileNotFoundError`, ...), which Python-side multiple inheritance expresses directly.

use std::panic::{catch_unwind, AssertUnwindSafe};

use anygram_core::AnygramError;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

fn class_name(e: &AnygramError) -> &'static str {
    match e {
        AnygramError::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => "AnygramFileNotFoundError",
            std::io::ErrorKind::PermissionDenied => "AnygramPermissionError",
            _ => "AnygramIOError",
        },
        AnygramError::IndexNotFound { .. } => "IndexNotFoundError",
        AnygramError::CorruptIndex { .. } => "CorruptIndexError",
        AnygramError::IncompatibleFormat { .. } => "IncompatibleFormatError",
        AnygramError::Mismatch(_) => "IndexMismatchError",
        AnygramError::InvalidQuery(_) => "InvalidQueryError",
        AnygramError::TokenOutOfRange { .. } => "TokenOutOfRangeError",
        AnygramError::InvalidInput { .. } => "InvalidInputError",
        AnygramError::InvalidArgument(_) => "InvalidArgumentError",
        AnygramError::Tokenizer(_) => "TokenizerError",
        AnygramError::Unsupported(_) => "UnsupportedTokenizerError",
        AnygramError::AlreadyExists { .. } => "IndexExistsError",
    }
}

/// The Python exception for an engine error.
pub fn to_py(e: AnygramError) -> PyErr {
    named(class_name(&e), e.to_string())
}

/// An exception of the class `name` of `anygram.errors`.
pub fn named(name: &str, msg: String) -> PyErr {
    Python::attach(|py| {
        let made = py
            .import("anygram.errors")
            .and_then(|m| m.getattr(name))
            .and_then(|cls| cls.call1((msg.clone(),)));
        match made {
            Ok(exc) => PyErr::from_value(exc),
            Err(_) => PyRuntimeError::new_err(msg),
        }
    })
}

/// Runs engine work without the GIL, turning errors into exceptions and panics (which would be
/// engine bugs) into `anygram.errors.AnygramError` instead of a `PanicException`.
pub fn detach<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, AnygramError> + Send,
) -> PyResult<T> {
    let out = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            let msg = format!("internal error in anygram (please report it): {what}");
            Python::attach(|py| {
                let made = py
                    .import("anygram.errors")
                    .and_then(|m| m.getattr("AnygramError"))
                    .and_then(|cls| cls.call1((msg.clone(),)));
                Err(match made {
                    Ok(exc) => PyErr::from_value(exc),
                    Err(_) => PyRuntimeError::new_err(msg),
                })
            })
        }
    }
}
