//! unilogin: the OpenID Connect provider of the Shanghai housing maintenance fund's unified
//! login platform.

pub mod admin;
pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod listener;
pub mod metrics;
pub mod oidc;
pub mod providers;
pub mod seed;
pub mod store;
pub mod telemetry;
pub mod web;

pub use app::Application;
pub use config::Config;
