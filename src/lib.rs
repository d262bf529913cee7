//! slurm-exporter: a Prometheus exporter for the Slurm workload manager.
//!
//! Data flows one way:
//! `source` (runs Slurm commands or calls slurmrestd) → `model` (typed,
//! version-tolerant data, pure parsers) → `collectors` (pure: model → metric
//! families) → `snapshot` (the whole exposition, encoded once per collection) →
//! `http` (serves the latest snapshot; never calls Slurm).
//! `engine` runs the background collection loop; `web` guards the endpoints
//! (TLS, basic auth, limits; its own accept loop); `app` wires it all together.

pub mod app;
pub mod cli;
pub mod collectors;
pub mod config;
pub mod encoded;
pub mod engine;
pub mod exposition;
pub mod http;
pub mod malloc;
pub mod model;
pub mod process_metrics;
pub mod reload;
pub mod self_metrics;
pub mod snapshot;
pub mod source;
pub mod web;
