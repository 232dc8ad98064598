//! The true external boundaries. Each is a trait with adapters; the development adapters
//! write and read real files.

pub mod provisioning;
pub mod realname;
pub mod sms;
