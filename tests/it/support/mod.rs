//! Peers and fixtures for the integration tests: the SageMaker emulator,
//! the OpenID provider process, a misbehaving provider the tests control,
//! and the broker binary itself.

pub mod broker;
pub mod emulator;
pub mod jar;
pub mod provider;
pub mod rogue;
pub mod stack;
