//! One Slurm cluster's connection settings, validated: the `slurm:` section, or
//! each entry of `clusters:` (which inherits what it does not set from `slurm:`).

use std::path::PathBuf;
use std::time::Duration;

use super::{invalid, parse_duration, parse_rest_url, ConfigError, JsonQuery, RawSlurm};
use super::{RestEndpoint, SourceKind};

/// How one cluster is read.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    /// Value of the `cluster` label; `None`: Slurm's `ClusterName`.
    pub name: Option<String>,
    pub source: SourceKind,
    pub rest_endpoint: Option<RestEndpoint>,
    pub jwt_file: Option<PathBuf>,
    pub user: Option<String>,
    pub bin_dir: Option<PathBuf>,
    /// `SLURM_CONF` for this cluster's commands (CLI source); default: inherited.
    pub slurm_conf: Option<PathBuf>,
    /// CLI queries read as JSON instead of text.
    pub cli_json: Vec<JsonQuery>,
    /// Lifespan of tokens minted with `scontrol token` (REST source), when minting.
    pub jwt_mint_lifespan: Option<Duration>,
}

impl ClusterConfig {
    /// Validates `raw`; `section` names it in errors (`slurm`, `clusters[1]`).
    pub fn from_raw(
        raw: &RawSlurm,
        section: &str,
        jwt_in_env: bool,
    ) -> Result<ClusterConfig, ConfigError> {
        let key = |k: &str| format!("{section}.{k}");
        let source = raw.source.unwrap_or(SourceKind::Cli);
        let rest_endpoint = raw
            .rest_url
            .as_deref()
            .map(|url| parse_rest_url(url).map_err(|e| rekey(e, &key("rest_url"))))
            .transpose()?;
        let jwt_mint_lifespan =
            parse_duration(&key("jwt_mint_lifespan"), raw.jwt_mint_lifespan.as_deref())?;
        if let Some(lifespan) = jwt_mint_lifespan {
            if lifespan < Duration::from_secs(60) {
                return Err(invalid(&key("jwt_mint_lifespan"), "must be at least 1m"));
            }
            if raw.jwt_file.is_some() {
                return Err(invalid(
                    &key("jwt_mint_lifespan"),
                    "set either jwt_file or jwt_mint_lifespan, not both",
                ));
            }
        }
        if source == SourceKind::Rest {
            if rest_endpoint.is_none() {
                return Err(invalid(&key("rest_url"), "required when source is rest"));
            }
            if raw.jwt_file.is_none() && !jwt_in_env && jwt_mint_lifespan.is_none() {
                return Err(invalid(
                    &key("jwt_file"),
                    "the rest source needs a token: set jwt_file, jwt_mint_lifespan or the SLURM_JWT environment variable",
                ));
            }
        }
        if let Some(name) = &raw.cluster_name {
            if name.trim().is_empty() {
                return Err(invalid(&key("cluster_name"), "must not be empty"));
            }
        }
        let mut cli_json = Vec::new();
        for q in raw.cli_json.iter().flatten() {
            match q.trim() {
                "jobs" => cli_json.push(JsonQuery::Jobs),
                "nodes" => cli_json.push(JsonQuery::Nodes),
                "shares" => cli_json.push(JsonQuery::Shares),
                other => {
                    return Err(invalid(
                        &key("cli_json"),
                        format!("`{other}`: only jobs, nodes and shares can be read as JSON"),
                    ))
                }
            }
        }
        Ok(ClusterConfig {
            name: raw.cluster_name.clone(),
            source,
            rest_endpoint,
            jwt_file: raw.jwt_file.clone(),
            user: raw.user.clone(),
            bin_dir: raw.bin_dir.clone(),
            slurm_conf: raw.slurm_conf.clone(),
            cli_json,
            jwt_mint_lifespan,
        })
    }

    /// Everything the source is built from; a reload rebuilds the source only when
    /// this (or the timeout) changes.
    pub fn source_settings(&self) -> String {
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
            self.source,
            self.rest_endpoint,
            self.jwt_file,
            self.jwt_mint_lifespan,
            self.user,
            self.bin_dir,
            self.slurm_conf,
            self.cli_json,
        )
    }
}

/// The same error under another key (a cluster entry's, not `slurm.`'s).
fn rekey(e: ConfigError, key: &str) -> ConfigError {
    match e {
        ConfigError::Invalid { message, .. } => invalid(key, message),
        other => other,
    }
}

/// Validates the whole list: `clusters:` entries over `slurm:`, or `slurm:` alone.
/// With more than one cluster each needs a distinct `cluster_name` (the label that
/// tells their series apart).
pub fn clusters_from_raw(
    slurm: &RawSlurm,
    clusters: Option<&[RawSlurm]>,
    jwt_in_env: bool,
) -> Result<Vec<ClusterConfig>, ConfigError> {
    let Some(entries) = clusters else {
        return Ok(vec![ClusterConfig::from_raw(slurm, "slurm", jwt_in_env)?]);
    };
    if entries.is_empty() {
        return Err(invalid(
            "clusters",
            "must list at least one cluster (or be left out to read the one in `slurm`)",
        ));
    }
    let mut out: Vec<ClusterConfig> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let section = format!("clusters[{i}]");
        let merged = slurm.clone().overlay(entry.clone());
        let c = ClusterConfig::from_raw(&merged, &section, jwt_in_env)?;
        if entries.len() > 1 {
            let Some(name) = &c.name else {
                return Err(invalid(
                    &format!("{section}.cluster_name"),
                    "required when more than one cluster is listed (it is the `cluster` label)",
                ));
            };
            if out.iter().any(|o| o.name.as_deref() == Some(name)) {
                return Err(invalid(
                    &format!("{section}.cluster_name"),
                    format!("`{name}` is listed twice"),
                ));
            }
        }
        out.push(c);
    }
    Ok(out)
}
