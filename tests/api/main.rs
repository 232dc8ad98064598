//! Integration tests: each starts a real server on a random port with a fresh SQLite file and
//! drives it over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod applications;
mod authorize;
mod backchannel;
mod certificate;
mod client_auth;
mod helpers;
mod logout;
mod nginx;
mod nodes;
mod oidc_flow;
mod operations;
mod par;
mod phone_login;
mod refresh;
mod request_object;
mod signing;
mod staff;
mod stock;
mod subjects;
mod tls;
mod token;
