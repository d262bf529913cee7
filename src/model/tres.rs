//! A job's trackable resources (TRES): memory and GPUs, from the strings Slurm
//! keeps per job (the same in `squeue -O`, `squeue --json` and REST `/jobs`, every
//! version).
//!
//! - `tres-alloc` / `tres_alloc_str`: what a started job holds,
//!   `cpu=4,mem=2000M,node=1,billing=4[,gres/gpu=2]`; a pending job has none and
//!   `squeue` prints its request (`tres_req_str`) instead. GPUs appear there only
//!   when `AccountingStorageTRES` tracks `gres/gpu`.
//! - `tres-per-job` (`--gpus`), `tres-per-node` (`--gres`, `--gpus-per-node`),
//!   `tres-per-task` (`--gpus-per-task`), `tres-per-socket` (`--gpus-per-socket`):
//!   the requests, `gres:gpu:2` (22.05) or `gres/gpu:a100:2` (23.02+), several
//!   comma-separated; `N/A` or empty when unset.

use super::gres::parse_gres;

/// `mem=` of a TRES string in bytes: `mem=2000M`, `mem=4G`, `mem=1.50T`, `mem=512K`,
/// a bare number being megabytes. `None` when there is no `mem=` entry.
pub fn tres_memory_bytes(tres: &str) -> Option<u64> {
    size_bytes(tres_entry(tres, "mem")?, 1 << 20)
}

/// The count of a plain TRES entry (`node=2` → 2); `None` when absent or not a number.
pub fn tres_count(tres: &str, name: &str) -> Option<u64> {
    tres_entry(tres, name)?.parse().ok()
}

fn tres_entry<'a>(tres: &'a str, name: &str) -> Option<&'a str> {
    tres.split(',').find_map(|item| {
        let (key, value) = item.trim().split_once('=')?;
        (key == name).then(|| value.trim())
    })
}

/// A size as Slurm prints it (`2000M`, `4G`, `1.50T`, `129392K`) in bytes; a bare
/// number is in `unit` bytes (megabytes in TRES strings, kilobytes for sacct's
/// `MaxRSS`).
pub fn size_bytes(value: &str, unit: u64) -> Option<u64> {
    let value = value.trim();
    let (number, factor) = match value.char_indices().last()? {
        (i, 'K' | 'k') => (&value[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&value[..i], 1 << 20),
        (i, 'G' | 'g') => (&value[..i], 1 << 30),
        (i, 'T' | 't') => (&value[..i], 1 << 40),
        (i, 'P' | 'p') => (&value[..i], 1 << 50),
        _ => (value, unit),
    };
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(factor);
    }
    let fraction: f64 = number.parse().ok()?;
    let bytes = fraction * factor as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then(|| bytes.round() as u64)
}

/// `gres/gpu=N` of a TRES string (the untyped total; the typed entries summed when
/// only they are listed). `None` when the string tracks no GPU.
pub fn tres_gpus(tres: &str) -> Option<u64> {
    if !tres.contains("gpu") {
        return None; // the common case, without parsing
    }
    let gpus: Vec<_> = super::gres::parse_tres_gres(tres)
        .into_iter()
        .filter(|g| g.name == "gpu")
        .collect();
    if let Some(untyped) = gpus.iter().find(|g| g.model.is_none()) {
        return Some(untyped.count);
    }
    (!gpus.is_empty()).then(|| gpus.iter().fold(0u64, |n, g| n.saturating_add(g.count)))
}

/// GPUs in one request string (`gres:gpu:2`, `gres/gpu:a100:1,gres/gpu:h100:1`,
/// `gpu:2`); `None` when it names no GPU.
pub fn requested_gpus(request: &str) -> Option<u64> {
    if !request.contains("gpu") {
        return None; // `N/A` and non-GPU requests, without parsing
    }
    let stripped: Vec<&str> = request
        .split(',')
        .map(|item| {
            let item = item.trim();
            item.strip_prefix("gres:")
                .or_else(|| item.strip_prefix("gres/"))
                .unwrap_or(item)
        })
        .collect();
    let gpus: Vec<_> = parse_gres(&stripped.join(","))
        .into_iter()
        .filter(|g| g.name == "gpu")
        .collect();
    (!gpus.is_empty()).then(|| gpus.iter().fold(0u64, |n, g| n.saturating_add(g.count)))
}

/// The TRES strings of one job, as Slurm printed them (empty or `N/A` when unset).
#[derive(Debug, Clone, Copy, Default)]
pub struct JobTres<'a> {
    /// Allocated TRES (started jobs), else the requested ones.
    pub tres: &'a str,
    pub per_job: &'a str,
    pub per_node: &'a str,
    pub per_task: &'a str,
    pub per_socket: &'a str,
}

impl JobTres<'_> {
    /// GPUs the job holds (started) or asks for (pending): `gres/gpu` of its TRES
    /// when tracked; else its request: `--gpus` as is, `--gres`/`--gpus-per-node`
    /// times its nodes, `--gpus-per-task` times its tasks. `Some(0)` when it asks
    /// for none; `None` when the count cannot be known (`--gpus-per-socket` alone,
    /// or a per-node/per-task request without the node/task count).
    pub fn gpus(&self, nodes: Option<u64>, tasks: Option<u64>) -> Option<u64> {
        if let Some(n) = tres_gpus(self.tres) {
            return Some(n);
        }
        if let Some(n) = requested_gpus(self.per_job) {
            return Some(n);
        }
        if let Some(n) = requested_gpus(self.per_node) {
            return nodes.map(|nodes| n.saturating_mul(nodes));
        }
        if let Some(n) = requested_gpus(self.per_task) {
            return tasks.map(|tasks| n.saturating_mul(tasks));
        }
        if requested_gpus(self.per_socket).is_some() {
            return None;
        }
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory() {
        let mib = 1u64 << 20;
        assert_eq!(
            tres_memory_bytes("cpu=4,mem=2000M,node=1,billing=4"),
            Some(2000 * mib)
        );
        assert_eq!(tres_memory_bytes("cpu=1,mem=4G"), Some(4 << 30));
        assert_eq!(tres_memory_bytes("mem=1.5T"), Some(3 << 39));
        assert_eq!(tres_memory_bytes("mem=512K"), Some(512 << 10));
        assert_eq!(tres_memory_bytes("mem=100"), Some(100 * mib));
        assert_eq!(tres_memory_bytes("cpu=1,node=1"), None);
        assert_eq!(tres_memory_bytes("N/A"), None);
        assert_eq!(tres_memory_bytes("mem=lots"), None);
        assert_eq!(tres_memory_bytes("mem="), None);
        assert_eq!(tres_memory_bytes("mem=-1M"), None);
        assert_eq!(tres_memory_bytes("mem=99999999999999999999P"), None);
    }

    #[test]
    fn sizes_and_counts() {
        assert_eq!(size_bytes("129392K", 1 << 10), Some(129_392 << 10));
        assert_eq!(size_bytes("0", 1 << 10), Some(0));
        assert_eq!(size_bytes("12", 1 << 10), Some(12 << 10));
        assert_eq!(size_bytes("", 1 << 10), None);
        assert_eq!(
            tres_count("billing=1,cpu=1,mem=400M,node=2", "node"),
            Some(2)
        );
        assert_eq!(tres_count("cpu=1,gres/gpu=1", "gpu"), None);
        assert_eq!(tres_count("node=x", "node"), None);
    }

    #[test]
    fn gpu_requests() {
        assert_eq!(requested_gpus("gres:gpu:fake:1"), Some(1));
        assert_eq!(requested_gpus("gres/gpu:4"), Some(4));
        assert_eq!(requested_gpus("gres/gpu:h100:1,gres/gpu:h200:2"), Some(3));
        assert_eq!(requested_gpus("gres:gpu"), Some(1));
        assert_eq!(requested_gpus("gres/shard:2"), None);
        assert_eq!(requested_gpus("gres/shard:2,gres/gpu:1"), Some(1));
        assert_eq!(requested_gpus("N/A"), None);
        assert_eq!(requested_gpus(""), None);
        assert_eq!(
            tres_gpus("cpu=2,mem=1G,gres/gpu=2,gres/gpu:a100=2"),
            Some(2)
        );
        assert_eq!(tres_gpus("cpu=2,gres/gpu:a100=1,gres/gpu:h100=2"), Some(3));
        assert_eq!(tres_gpus("cpu=2,mem=1G"), None);
        // Found by tests/fuzz_parsers.rs: typed counts that add past u64 saturate.
        assert_eq!(
            tres_gpus("gres/gpu:a100=3,gres/gpu:h100=18446744073709551615"),
            Some(u64::MAX)
        );
        assert_eq!(
            requested_gpus("gres/gpu:a:18446744073709551615,gres/gpu:b:1"),
            Some(u64::MAX)
        );
    }

    #[test]
    fn gpus_of_a_job() {
        let j = |tres, per_job, per_node, per_task, per_socket| JobTres {
            tres,
            per_job,
            per_node,
            per_task,
            per_socket,
        };
        let none = "N/A";
        // Tracked TRES win over the request.
        assert_eq!(
            j("cpu=2,gres/gpu=2", "gres/gpu:1", none, none, none).gpus(Some(1), Some(1)),
            Some(2)
        );
        // --gpus=3 over 2 nodes: 3.
        assert_eq!(
            j("cpu=2", "gres:gpu:3", none, none, none).gpus(Some(2), Some(2)),
            Some(3)
        );
        // --gres=gpu:2 / --gpus-per-node=2 on 3 nodes: 6.
        assert_eq!(
            j("cpu=2", none, "gres:gpu:2", none, none).gpus(Some(3), Some(3)),
            Some(6)
        );
        // --gpus-per-task=1 with 4 tasks: 4.
        assert_eq!(
            j("cpu=4", none, none, "gres/gpu:1", none).gpus(Some(1), Some(4)),
            Some(4)
        );
        assert_eq!(
            j("cpu=4", none, none, "gres/gpu:1", none).gpus(Some(1), None),
            None
        );
        assert_eq!(
            j("cpu=4", none, none, none, "gres/gpu:1").gpus(Some(1), Some(1)),
            None
        );
        assert_eq!(
            j("cpu=1,mem=500M", none, "gres:shard:1", none, none).gpus(Some(1), Some(1)),
            Some(0)
        );
        assert_eq!(j("", "", "", "", "").gpus(None, None), Some(0));
    }
}
