//! Load and memory tests of `monitor`; see `tests/`.
