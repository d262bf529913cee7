//! Licenses: Slurm's counted resources (`Licenses=` in slurm.conf, or remote ones
//! from slurmdbd), as `scontrol show license` and REST `/licenses` report them.

/// All licenses of one collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Licenses {
    pub licenses: Vec<License>,
}

/// One license. Counts Slurm did not report are `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct License {
    pub name: String,
    pub total: Option<u64>,
    /// In use by running jobs.
    pub used: Option<u64>,
    /// Available to new jobs.
    pub free: Option<u64>,
    /// Held by reservations (22.05+).
    pub reserved: Option<u64>,
    /// Whether the license is a remote one (served by slurmdbd).
    pub remote: Option<bool>,
    /// Remote licenses: how many the external license server last said were
    /// consumed (23.02+).
    pub last_consumed: Option<u64>,
    /// Remote licenses: how many more were consumed outside Slurm than Slurm
    /// could account for at the last update (23.02+).
    pub last_deficit: Option<u64>,
    /// When the remote counts were last updated, seconds since the epoch.
    pub last_update: Option<i64>,
}
