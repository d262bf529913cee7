//! Every flag of `slurm-exporter --help` is in the README's flag table
//! (`--collector.<name>` / `--no-collector.<name>` are one row; `--caps.<family>.*`
//! are one row per setting, each family named in the README).

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
        .filter(
            |l| match l.strip_prefix("caps.").and_then(|r| r.split_once('.')) {
                Some((family, setting)) if family != "default" => {
                    !readme.contains(&format!("`--caps.<family>.{setting}`"))
                        || !readme.contains(&format!("`{family}`"))
                }
                _ => !readme.contains(&format!("| `--{l}`")),
            },
        )
        .map(|l| format!("--{l}"))
        .collect();
    assert!(missing.is_empty(), "README flag table lacks {missing:?}");
}
