//! Token ids from Python: a list or tuple (fast path) or any sequence of integers (numpy arrays
//! included, through `__index__`). Checked here, in one pass without Python-level loops:
//! booleans and negative or oversized values are errors, not silently converted.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyList, PyTuple};

use crate::errors::{named, to_py};
use anygram_core::AnygramError;

/// Longest query accepted, in tokens.
pub const MAX_QUERY_TOKENS: usize = 1 << 20;

fn item_to_id(item: &Bound<'_, PyAny>) -> PyResult<u32> {
    let int = if item.is_exact_instance_of::<PyInt>() {
        item.clone()
    } else if item.is_instance_of::<PyBool>() {
        return Err(to_py(AnygramError::InvalidQuery(
            "token ids must be integers, not booleans".into(),
        )));
    } else {
        match item.call_method0("__index__") {
            Ok(v) => v,
            Err(_) => {
                return Err(to_py(AnygramError::InvalidQuery(format!(
                    "token ids must be integers, not {}",
                    item.get_type().name()?
                ))))
            }
        }
    };
    match int.extract::<u32>() {
        Ok(v) => Ok(v),
        Err(_) => Err(named(
            "TokenOutOfRangeError",
            format!("token id {} is outside the vocabulary", int.str()?),
        )),
    }
}

/// A query's token ids.
pub struct TokenIds(pub Vec<u32>);

impl<'py> FromPyObject<'_, 'py> for TokenIds {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        let too_long = |n: usize| {
            to_py(AnygramError::InvalidQuery(format!(
                "query of {n} tokens is longer than the limit of {MAX_QUERY_TOKENS}"
            )))
        };
        if let Ok(list) = obj.cast::<PyList>() {
            if list.len() > MAX_QUERY_TOKENS {
                return Err(too_long(list.len()));
            }
            return list
                .iter()
                .map(|x| item_to_id(&x))
                .collect::<PyResult<_>>()
                .map(TokenIds);
        }
        if let Ok(tuple) = obj.cast::<PyTuple>() {
            if tuple.len() > MAX_QUERY_TOKENS {
                return Err(too_long(tuple.len()));
            }
            return tuple
                .iter()
                .map(|x| item_to_id(&x))
                .collect::<PyResult<_>>()
                .map(TokenIds);
        }
        if obj.is_instance_of::<pyo3::types::PyString>()
            || obj.is_instance_of::<pyo3::types::PyBytes>()
        {
            return Err(PyTypeError::new_err("expected a sequence of token ids"));
        }
        let n = obj.len().map_err(|_| {
            to_py(AnygramError::InvalidQuery(format!(
                "a query is a str or a sequence of token ids, not {}",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            )))
        })?;
        if n > MAX_QUERY_TOKENS {
            return Err(too_long(n));
        }
        obj.try_iter()?
            .map(|x| item_to_id(&x?))
            .collect::<PyResult<_>>()
            .map(TokenIds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(code: &str) -> PyResult<Vec<u32>> {
        Python::initialize();
        Python::attach(|py| {
            let obj = py.eval(&std::ffi::CString::new(code)?, None, None)?;
            obj.extract::<TokenIds>().map(|t| t.0)
        })
    }

    #[test]
    fn lists_tuples_and_sequences_become_ids() {
        assert_eq!(ids("[1, 2, 3]").unwrap(), vec![1, 2, 3]);
        assert_eq!(ids("(7, 4294967295)").unwrap(), vec![7, u32::MAX]);
        assert_eq!(ids("range(3)").unwrap(), vec![0, 1, 2]);
        assert_eq!(ids("[]").unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn what_is_not_a_token_id_is_refused() {
        for bad in ["[True]", "[-1]", "[2**32]", "[1.5]", "'abc'", "b'ab'", "3"] {
            assert!(ids(bad).is_err(), "{bad} was accepted");
        }
    }
}
