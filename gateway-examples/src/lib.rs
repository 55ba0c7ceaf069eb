//! Parts shared by the example binaries: host metrics from `/proc`, and a static file server
//! for the dashboard page.

pub mod http;
pub mod metrics;
