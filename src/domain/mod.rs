//! Pure rules of the platform. Nothing here does I/O or imports other modules of the crate.

pub mod assurance;
pub mod claims_request;
pub mod identity;
pub mod mask;
pub mod operator;
pub mod password_policy;
pub mod phone;
pub mod pkce;
pub mod scope;
pub mod uscc;
