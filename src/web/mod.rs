//! The exporter's endpoint security and limits, in the exporter-toolkit web
//! config format that node_exporter uses: `file` parses `--web.config.file`,
//! `tls` turns it into rustls, `auth` checks basic-auth users, `state` holds the
//! config in force and reloads it when its files change, `protection` says
//! what a new config would give up (a reload never lowers it), `guard` is the
//! per-request middleware (auth, rate limit, concurrency, body size) and
//! `conns` the connection caps (overall, per client IP, from the descriptor
//! limit), `gate` the bound on bcrypt work, and `server` the accept loop (TLS
//! handshake, header timeout and size).

pub mod auth;
pub mod conns;
pub mod file;
pub mod gate;
pub mod guard;
pub mod protection;
pub mod server;
pub mod state;
pub mod tls;
