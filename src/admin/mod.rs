//! Platform and enterprise administration.

pub mod import;
