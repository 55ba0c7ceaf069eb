//! Parts shared by the example binaries: host metrics from `/proc`, the web server of their
//! pages, and its TLS material.

pub mod metrics;
pub mod tls;
pub mod web;
