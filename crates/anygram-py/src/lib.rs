//! `anygram._core`: conversion between Python and anygram-core, error mapping and GIL release.
//! No engine logic lives here; the public Python API wraps these classes in `python/anygram`.

mod builder;
mod convert;
mod dedup;
mod draft;
mod errors;
mod grow;
mod ids;
mod index;
mod remote;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<index::PyIndex>()?;
    m.add_class::<index::PySampler>()?;
    m.add_class::<remote::PyShardServer>()?;
    m.add_function(wrap_pyfunction!(remote::remote_index, m)?)?;
    m.add_class::<draft::PyDrafter>()?;
    m.add_class::<builder::PyIndexBuilder>()?;
    m.add_function(wrap_pyfunction!(builder::assemble_index, m)?)?;
    m.add_function(wrap_pyfunction!(builder::fold_case, m)?)?;
    m.add_class::<builder::PyDocumentReader>()?;
    m.add_class::<builder::PyBpe>()?;
    m.add_class::<dedup::PyDedup>()?;
    m.add_function(wrap_pyfunction!(errors::_error_examples, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_raise_error_example, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_error_variants, m)?)?;
    m.add_function(wrap_pyfunction!(grow::grow_adopt, m)?)?;
    m.add_function(wrap_pyfunction!(grow::grow_takedown, m)?)?;
    m.add_function(wrap_pyfunction!(grow::grow_compact, m)?)?;
    m.add_function(wrap_pyfunction!(grow::grow_log, m)?)?;
    m.add_function(wrap_pyfunction!(grow::grow_tier, m)?)?;
    m.add("MAX_QUERY_TOKENS", ids::MAX_QUERY_TOKENS)?;
    m.add("FORMAT_VERSION", anygram_core::format::FORMAT_VERSION)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
