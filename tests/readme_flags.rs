//! Every flag of `slurm-exporter --help` is in the README's flag table
//! (`--collector.<name>` / `--no-collector.<name>` are one row).

#[test]
fn readme_lists_every_flag() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    let command = slurm_exporter::cli::command();
    let missing: Vec<String> = command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| !l.starts_with("collector.") && !l.starts_with("no-collector."))
        .filter(|l| !["help", "version"].contains(l))
        .filter(|l| !readme.contains(&format!("| `--{l}`")))
        .map(|l| format!("--{l}"))
        .collect();
    assert!(missing.is_empty(), "README flag table lacks {missing:?}");
}
