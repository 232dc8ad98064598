//! Enterprise certificates: parsing, chain and revocation checks, USCC extraction, Ukey
//! challenge signatures and the development CA.

pub mod devca;
mod error;
pub mod extract;
mod keys;
pub mod signature;
#[cfg(test)]
mod test_support;
pub mod verify;

pub use crate::domain::uscc::EnterpriseCode;
pub use error::CertError;
pub use extract::{CertificateIdentity, DEFAULT_USCC_SOURCES, read_identity};
pub use signature::{ChallengeAlgorithm, verify_challenge};
pub use verify::TrustStore;
