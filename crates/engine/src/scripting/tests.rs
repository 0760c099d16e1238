//! Scripting tests.
