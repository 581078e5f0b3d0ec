//! Shared helpers for VXP's scenario and snapshot tests (see `tests/tests/`).
#![forbid(unsafe_code)]
