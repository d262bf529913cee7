//! The standard `process_*` metrics, read from `/proc/self`.

use crate::exposition::Family;

/// Reads the process metrics; missing values (non-Linux, unreadable /proc) are skipped.
pub fn families() -> Vec<Family> {
    let mut out = Vec::new();
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096) as f64;
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesised command name, which may contain spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        if let (Some(utime), Some(stime)) = (field(14), field(15)) {
            let mut f = Family::counter(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
            );
            f.push(vec![], (utime + stime) / ticks);
            out.push(f);
        }
        if let Some(vsize) = field(23) {
            let mut f = Family::gauge(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes",
            );
            f.push(vec![], vsize);
            out.push(f);
        }
        if let Some(rss) = field(24) {
            let mut f = Family::gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
            );
            f.push(vec![], rss * page);
            out.push(f);
        }
        if let (Some(start), Some(boot)) = (field(22), boot_time()) {
            let mut f = Family::gauge(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds",
            );
            f.push(vec![], boot + start / ticks);
            out.push(f);
        }
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        let mut f = Family::gauge("process_open_fds", "Number of open file descriptors");
        f.push(vec![], entries.count() as f64);
        out.push(f);
    }
    if let Some(max) = max_open_files() {
        let mut f = Family::gauge("process_max_fds", "Maximum number of open file descriptors");
        f.push(vec![], max);
        out.push(f);
    }
    out
}

fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

fn max_open_files() -> Option<f64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_own_process() {
        let families = super::families();
        let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
        for want in [
            "process_cpu_seconds",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
            "process_open_fds",
        ] {
            assert!(names.contains(&want), "{want} missing from {names:?}");
        }
        let rss = families
            .iter()
            .find(|f| f.name == "process_resident_memory_bytes")
            .and_then(|f| f.samples.first())
            .map(|s| s.value)
            .unwrap_or(0.0);
        assert!(rss > 1e6, "rss {rss}");
    }
}
