//! studio-broker opens each person's own SageMaker Studio profile, and
//! nobody else's.

pub mod access;
pub mod audit;
pub mod cli;
pub mod config;
pub mod http;
pub mod identity;
pub mod login;
pub mod policy;
pub mod studio;
pub mod table;
