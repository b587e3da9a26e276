//! `shm._shm`: the Rust core of the `shm` Python package.
//!
//! Everything here stands on the runtime's [`shm_runtime::Region`]: the
//! same open protocol, lock, journal and change notification as a Rust
//! `Shared<T>`, so Python and Rust processes share regions whole. The
//! pure-Python face (`python/shm/__init__.py`) declares struct classes and
//! the exceptions; this module lays structs out (`layout`), holds plain
//! values (`value`), and opens and reads regions (`open`, `shared`,
//! `array`, `update`).

mod array;
mod convert;
mod errors;
mod field;
mod layout;
mod memory;
mod open;
mod shared;
mod update;
mod value;

use pyo3::prelude::*;

#[pymodule]
fn _shm(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<layout::Scalar>()?;
    m.add_class::<layout::ArrayType>()?;
    m.add_class::<layout::StructType>()?;
    m.add_class::<value::StructBase>()?;
    m.add_class::<array::ArrayView>()?;
    m.add_class::<shared::Shared>()?;
    m.add_class::<update::Update>()?;
    m.add_function(wrap_pyfunction!(open::open, m)?)?;
    m.add_function(wrap_pyfunction!(open::remove_shm, m)?)?;
    Ok(())
}
