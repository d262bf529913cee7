//! Whether slurmdbd answers, as a probe from the exporter sees it.

/// The outcome of one slurmdbd probe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DbdStatus {
    /// The cluster keeps no accounting in slurmdbd: there is nothing to report
    /// (rather than a false "down").
    NotConfigured,
    /// slurmdbd was asked: whether it answered, and how long the probe took.
    Probed {
        up: bool,
        latency_seconds: Option<f64>,
    },
}

/// Whether a failed probe's error text says slurmdbd could not be reached (it is
/// then down for us), as `sacctmgr` (`failed to open persistent connection to
/// host:…: Connection refused`) and slurmrestd word it (measured on the lab).
pub fn says_unreachable(message: &str) -> bool {
    const SIGNS: &[&str] = &[
        "Problem talking to the database",
        // slurmrestd 22.05, `/slurmdb/.../diag` with slurmdbd stopped (HTTP 200).
        "Database connection reference is invalid",
        "Connection refused",
        "Unable to connect to database",
        "Connection timed out",
        "Socket timed out",
    ];
    SIGNS.iter().any(|s| message.contains(s))
}

/// Whether a failed probe's error text says accounting is not kept in slurmdbd.
pub fn says_not_configured(message: &str) -> bool {
    message.contains("not running a supported accounting_storage plugin")
        || message.contains("accounting_storage/none")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_seen_on_the_lab() {
        assert!(says_unreachable(
            "sacctmgr -n -P show cluster format=cluster exited with code 1: sacctmgr: error: slurm_persist_conn_open_without_init: failed to open persistent connection to host:127.0.0.1:9819: Connection refused"
        ));
        assert!(says_unreachable(
            "Database connection reference is invalid / openapi_get_db_conn"
        ));
        assert!(says_not_configured(
            "You are not running a supported accounting_storage plugin\nOnly 'accounting_storage/slurmdbd' is supported."
        ));
        assert!(!says_unreachable("sacctmgr: Permission denied"));
        assert!(!says_not_configured("Connection refused"));
    }
}
