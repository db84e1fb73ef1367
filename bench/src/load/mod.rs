//! The load benchmark (binary `load`, issue 12): durable writes/s and latency of one
//! `crdt-leader` over HTTP at 1, 16 and 64 closed-loop clients, next to `redis-server`
//! with `appendfsync always` under the same mix, and the replication lag to a second
//! leader. It measures real processes over loopback, as users run them.
//!
//! - [`child`]: server processes (killed on drop), their CPU time, free ports;
//! - [`leader`]: the two leaders and their HTTP API; [`http`]: the writers' HTTP/1.1
//!   connection; [`redis`]: redis-server and RESP;
//! - [`phase`]: one closed-loop phase and the lag probe; [`latency`]: percentiles;
//! - [`disk`]: what an `fdatasync` costs here; [`report`]: markdown and targets.

pub mod child;
pub mod disk;
pub mod http;
pub mod latency;
pub mod leader;
pub mod phase;
pub mod redis;
pub mod report;
