//! Examples and integration tests of shm live in `examples/` and `tests/`.
