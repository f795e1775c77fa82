//! kubectl-sidecarset: the kubectl plugin of sidecarset-policy. Every
//! decision it shows is the policy's own (`sidecarset_policy::admission`),
//! evaluated natively on the same AdmissionRequests the API server sends;
//! this crate only gathers the objects, asks, and presents the answers.
//!
//! Pure parts (no I/O): `policy` (reading a ClusterAdmissionPolicy),
//! `evaluate` (asking the policy), `state` (what a Pod runs of each set),
//! `status`, `plan` (upgrade batches), `render`, `explain`, `table`.
//! I/O: `cluster` (kube-rs), `objects` (files), `rollout` (the upgrade run).

pub mod cli;
pub mod cluster;
pub mod duration;
pub mod evaluate;
pub mod explain;
pub mod labels;
pub mod objects;
pub mod plan;
pub mod policy;
pub mod render;
pub mod rollout;
pub mod run;
pub mod state;
pub mod status;
pub mod table;
