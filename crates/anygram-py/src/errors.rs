//! Engine errors to Python exceptions, and the guard that keeps panics out of Python.
//!
//! The exception classes are defined in `anygram/errors.py` rather than with
//! `create_exception!`, because each also derives from a builtin (`ValueError`,
//! `FileNotFoundError`, ...), which Python-side multiple inheritance expresses directly. They
//! are looked up once per interpreter; a missing class is an import error, never a silent
//! fallback to another type.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use anygram_core::AnygramError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// Every class the engine raises, by name (the names of `anygram.errors`).
const CLASS_NAMES: [&str; 17] = [
    "AnygramError",
    "AnygramFileNotFoundError",
    "AnygramPermissionError",
    "AnygramIOError",
    "IndexNotFoundError",
    "CorruptIndexError",
    "IncompatibleFormatError",
    "IndexMismatchError",
    "InvalidQueryError",
    "TokenOutOfRangeError",
    "InvalidInputError",
    "InvalidArgumentError",
    "TokenizerError",
    "UnsupportedTokenizerError",
    "IndexExistsError",
    "QueryTimeoutError",
    "InternalError",
];

static CLASSES: PyOnceLock<HashMap<&'static str, Py<PyType>>> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&HashMap<&'static str, Py<PyType>>> {
    CLASSES.get_or_try_init(py, || {
        let module = py.import("anygram.errors")?;
        CLASS_NAMES
            .iter()
            .map(|&name| Ok((name, module.getattr(name)?.cast_into::<PyType>()?.unbind())))
            .collect()
    })
}

/// The name of the `anygram.errors` class of an engine error.
pub fn class_name(e: &AnygramError) -> &'static str {
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
        AnygramError::Cancelled(_) => "QueryTimeoutError",
        AnygramError::Internal(_) => "InternalError",
        AnygramError::Remote(_) => "AnygramError",
    }
}

/// The Python exception for an engine error; an exception a Python executor raised
/// (`crate::remote`) comes back out as it was raised.
pub fn to_py(e: AnygramError) -> PyErr {
    match e {
        AnygramError::Remote(inner) => match inner.downcast::<PyErr>() {
            Ok(raised) => *raised,
            Err(other) => named("AnygramError", other.to_string()),
        },
        e => named(class_name(&e), e.to_string()),
    }
}

/// An exception of the class `name` of `anygram.errors` (one of [`CLASS_NAMES`]).
pub fn named(name: &str, msg: String) -> PyErr {
    Python::attach(|py| match classes(py) {
        Ok(map) => match map.get(name) {
            Some(cls) => PyErr::from_type(cls.bind(py).clone(), msg),
            None => pyo3::exceptions::PyRuntimeError::new_err(format!(
                "anygram bug: no error class {name} ({msg})"
            )),
        },
        Err(import_error) => import_error,
    })
}

/// An `anygram.errors.InternalError`.
pub fn internal(msg: String) -> PyErr {
    to_py(AnygramError::Internal(msg))
}

/// Runs engine work without the GIL, turning errors into exceptions and panics (which would be
/// engine bugs) into `anygram.errors.InternalError` instead of a `PanicException`.
pub fn detach<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, AnygramError> + Send,
) -> PyResult<T> {
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(e)),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(internal(what))
        }
    }
}

/// One error of every engine variant, for the test that walks each to its Python class.
pub fn examples() -> Vec<AnygramError> {
    let io = |kind| AnygramError::Io {
        path: "f".into(),
        source: std::io::Error::from(kind),
    };
    vec![
        io(std::io::ErrorKind::NotFound),
        io(std::io::ErrorKind::PermissionDenied),
        io(std::io::ErrorKind::Other),
        AnygramError::IndexNotFound {
            path: "d".into(),
            detail: "x".into(),
        },
        AnygramError::CorruptIndex {
            path: "d".into(),
            detail: "x".into(),
        },
        AnygramError::IncompatibleFormat {
            found: 9,
            supported: 1,
        },
        AnygramError::Mismatch("x".into()),
        AnygramError::InvalidQuery("x".into()),
        AnygramError::TokenOutOfRange { token: 9, vocab: 1 },
        AnygramError::InvalidInput {
            location: "f:1".into(),
            detail: "x".into(),
        },
        AnygramError::InvalidArgument("x".into()),
        AnygramError::Tokenizer("x".into()),
        AnygramError::Unsupported("x".into()),
        AnygramError::AlreadyExists { path: "d".into() },
        AnygramError::Cancelled("x".into()),
        AnygramError::Internal("x".into()),
        AnygramError::Remote("x".into()),
    ]
}

/// `(class name, message)` of every example error: Python raises each and checks the class.
#[pyfunction]
pub fn _error_examples() -> Vec<(&'static str, String)> {
    examples()
        .into_iter()
        .map(|e| (class_name(&e), e.to_string()))
        .collect()
}

/// `(variants of the engine's error type, variants the examples cover)`: equal when every
/// variant has an example.
#[pyfunction]
pub fn _error_variants() -> (usize, usize) {
    use strum::EnumCount;
    let covered: std::collections::HashSet<_> =
        examples().iter().map(std::mem::discriminant).collect();
    (AnygramError::COUNT, covered.len())
}

/// Raises the `i`-th example error as the bindings raise any engine error.
#[pyfunction]
pub fn _raise_error_example(i: usize) -> PyResult<()> {
    match examples().into_iter().nth(i) {
        Some(e) => Err(to_py(e)),
        None => Ok(()),
    }
}
