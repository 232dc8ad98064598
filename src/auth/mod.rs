//! Authentication: password hashing, SMS codes, browser sessions and CSRF, and the phone
//! sign-in procedure built from them.

pub mod binding;
pub mod certificate;
pub mod certificate_login;
pub mod csrf;
pub mod identity_choice;
pub mod legacy_password;
pub mod password;
pub mod phone_login;
pub mod realname;
pub mod session;
pub mod session_end;
pub mod sms_code;
pub mod stock_login;
