//! `scontrol -o show node` and `scontrol -o show partition`: one record per line of
//! `Key=Value` tokens separated by spaces.
//!
//! Values normally have no spaces, but some do: `OS=Linux 6.1.0-18-amd64 #1 SMP
//! PREEMPT_DYNAMIC ...` (22.05 and later), and free text (`Reason=`, `Comment=`,
//! `Extra=`). The tokenizer therefore appends every token that does not look like
//! `Key=` (letters, digits and `_`, then `=`) to the previous value, and takes
//! `Reason=` to the end of the line, less the `[user@time]` stamp Slurm appends
//! and any `Key=` tokens that follow that stamp.
//!
//! The multi-line form (without `-o`) parses too: a line starting with blanks
//! continues the current record.
//!
//! A reason of several lines (`scontrol update nodename=... reason=$'a\nb'`) is printed
//! by Slurm as its first line, the stamp, then each further line after blanks (with `-o`)
//! or on an indented line of its own (without); those lines are joined to the reason with
//! a space. Any other line that does not start a record while one is open (a raw newline
//! in free text, which Slurm 22.05 was not seen to print) continues that record, so odd
//! text can only affect the record it is in, never the whole list.

use std::io::BufRead;

use super::{is_unset, parse_epoch, parse_u64, Lines};
use crate::model::caps::{TooLarge, MAX_LINE_BYTES, MAX_LIST_ITEMS, MAX_NODES, MAX_PARTITIONS};
use crate::model::{gres, mib_to_bytes, Node, NodeState, Nodes, ParseError, Partition, Partitions};

/// Parses `scontrol -o show node`. `No nodes in the system` gives an empty list.
///
/// `Reason=text [user@time]`: the text goes to `reason`, the time to
/// `reason_changed_at` when it is in seconds since the epoch (`SLURM_TIME_FORMAT=%s`);
/// an ISO time (local time zone, not stated) gives `None`. A reason set in
/// slurm.conf has no stamp at all.
pub fn parse_scontrol_nodes(reader: impl BufRead) -> Result<Nodes, ParseError> {
    let records = parse_records(reader, "NodeName", "No nodes in the system", apply_node)?;
    if records.len() > MAX_NODES {
        return Err(ParseError::TooLarge(TooLarge::NODES));
    }
    Ok(Nodes { nodes: records })
}

/// Parses `scontrol -o show partition`. `No partitions in the system` gives an empty list.
pub fn parse_scontrol_partitions(reader: impl BufRead) -> Result<Partitions, ParseError> {
    let records = parse_records(
        reader,
        "PartitionName",
        "No partitions in the system",
        |partition: &mut Partition, key, value| {
            apply_partition(partition, key, value);
            Ok(())
        },
    )?;
    if records.len() > MAX_PARTITIONS {
        return Err(ParseError::TooLarge(TooLarge::PARTITIONS));
    }
    Ok(Partitions {
        partitions: records,
    })
}

/// A record built from `Key=Value` pairs, named by the key that starts it
/// (`NodeName=`, `PartitionName=`).
pub(super) trait Record: Default {
    fn set_name(&mut self, name: &str);
}

impl Record for Node {
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }
}

impl Record for Partition {
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }
}

/// A parsed `Key=Value` pair; `Stamp` is the time of `Reason=... [user@time]`;
/// `FreeText` is text before any `Key=` on a line, which continues the value before it.
#[derive(Debug, PartialEq)]
enum Pair<'a> {
    Value(&'a str, &'a str),
    Stamp(&'a str),
    FreeText(&'a str),
}

pub(super) fn parse_records<T: Record>(
    reader: impl BufRead,
    name_key: &str,
    empty_message: &str,
    mut apply: impl FnMut(&mut T, &str, &str) -> Result<(), TooLarge>,
) -> Result<Vec<T>, ParseError> {
    let mut lines = Lines::new(reader);
    let mut records: Vec<T> = Vec::new();
    let mut current: Option<T> = None;
    // Whether the last value set was the reason, which free text on the next line continues.
    let mut in_reason = false;
    while let Some((number, line)) = lines.next_line()? {
        if line.trim().is_empty() {
            continue;
        }
        if line.trim() == empty_message {
            continue;
        }
        let pairs = split_pairs(&line);
        // A record has ~60 keys; a line of thousands is not one (and its pairs,
        // 40 bytes each, would cost ten times the line).
        if pairs.len() > MAX_LIST_ITEMS {
            return Err(TooLarge::LIST.into());
        }
        let starts_record = matches!(pairs.first(), Some(Pair::Value(k, _)) if *k == name_key);
        if !starts_record && current.is_none() {
            return Err(ParseError::Text {
                line: number,
                message: format!(
                    "expected a record starting with {name_key}=, got {:?}",
                    line.chars().take(80).collect::<String>()
                ),
            });
        }
        for pair in pairs {
            match pair {
                Pair::Value(key, value) if key == name_key => {
                    if let Some(done) = current.take() {
                        records.push(done);
                    }
                    let mut record = T::default();
                    record.set_name(value);
                    current = Some(record);
                    in_reason = false;
                }
                Pair::Value(key, value) => {
                    if let Some(record) = current.as_mut() {
                        apply(record, key, value)?;
                    }
                    in_reason = key == "Reason" || key == "Reason+";
                }
                Pair::Stamp(time) => {
                    if let Some(record) = current.as_mut() {
                        apply(record, "Reason@", time)?;
                    }
                }
                Pair::FreeText(text) if in_reason => {
                    if let Some(record) = current.as_mut() {
                        let (text, stamp, _) = split_reason(text);
                        apply(record, "Reason+", text)?;
                        if let Some(time) = stamp {
                            apply(record, "Reason@", time)?;
                        }
                    }
                }
                Pair::FreeText(_) => {}
            }
        }
    }
    records.extend(current);
    Ok(records)
}

fn apply_node(node: &mut Node, key: &str, value: &str) -> Result<(), TooLarge> {
    match key {
        "Partitions" => {
            node.partitions = if is_unset(value) {
                Vec::new()
            } else {
                capped_list(value)?
            }
        }
        "State" => node.state = NodeState::from_compound(value.trim()),
        "CPUTot" => node.cpus_total = parse_u64(value),
        "CPUAlloc" => node.cpus_allocated = parse_u64(value),
        "RealMemory" => node.memory_total_bytes = parse_u64(value).map(mib_to_bytes),
        "AllocMem" => node.memory_allocated_bytes = parse_u64(value).map(mib_to_bytes),
        "FreeMem" => node.memory_free_bytes = parse_u64(value).map(mib_to_bytes),
        "CPULoad" => {
            node.cpu_load = if is_unset(value) {
                None
            } else {
                value.trim().parse::<f64>().ok().filter(|l| l.is_finite())
            }
        }
        "Reason" => {
            let reason = value.trim();
            node.reason = (!reason.is_empty()).then(|| reason.to_string());
        }
        "Reason+" => {
            // Appended in place: a reason continued by many tokens or lines must
            // not be copied once per token.
            let more = value.trim();
            if !more.is_empty() {
                let reason = node.reason.get_or_insert_with(String::new);
                if reason.len() + more.len() >= MAX_LINE_BYTES {
                    return Err(TooLarge {
                        what: "a node reason",
                        limit: MAX_LINE_BYTES as u64,
                        unit: "bytes",
                    });
                }
                if !reason.is_empty() {
                    reason.push(' ');
                }
                reason.push_str(more);
            }
        }
        "Reason@" => node.reason_changed_at = parse_epoch(value),
        "Gres" => node.gres = gres::capped_gres(value)?,
        "GresUsed" => node.gres_used = Some(gres::capped_gres(value)?),
        "CfgTRES" => node.tres_gres = gres::capped_tres_gres(value)?,
        "AllocTRES" => node.tres_gres_allocated = Some(gres::capped_tres_gres(value)?),
        _ => {}
    }
    Ok(())
}

/// The non-empty items of a comma list (`Partitions=a,b`), at most
/// [`MAX_LIST_ITEMS`]; more is [`TooLarge::LIST`].
pub(super) fn capped_list(value: &str) -> Result<Vec<String>, TooLarge> {
    let mut items = Vec::new();
    for item in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if items.len() == MAX_LIST_ITEMS {
            return Err(TooLarge::LIST);
        }
        items.push(item.to_string());
    }
    Ok(items)
}

fn apply_partition(partition: &mut Partition, key: &str, value: &str) {
    let value = value.trim();
    match key {
        "State" => partition.state = (!is_unset(value)).then(|| value.to_ascii_uppercase()),
        "TotalCPUs" => partition.total_cpus = parse_u64(value),
        "TotalNodes" => partition.total_nodes = parse_u64(value),
        "Default" => {
            partition.is_default = match value {
                "YES" | "yes" => Some(true),
                "NO" | "no" => Some(false),
                _ => None,
            }
        }
        "MaxTime" => partition.max_time_seconds = parse_time_limit(value),
        _ => {}
    }
}

/// A Slurm time limit in seconds: `UNLIMITED`/`INFINITE`/`NONE` → `None`;
/// `days-hours[:minutes[:seconds]]`, `hours:minutes:seconds`, `minutes:seconds`
/// or `minutes` (the forms Slurm accepts and prints).
pub(crate) fn parse_time_limit(value: &str) -> Option<u64> {
    let value = value.trim();
    if is_unset(value) || matches!(value, "UNLIMITED" | "INFINITE" | "Partition_Limit") {
        return None;
    }
    let number = |s: &str| s.trim().parse::<u64>().ok();
    let (days, clock) = match value.split_once('-') {
        Some((days, clock)) => (Some(number(days)?), clock),
        None => (None, value),
    };
    let parts: Vec<u64> = clock.split(':').map(number).collect::<Option<_>>()?;
    let (hours, minutes, seconds) = match (days.is_some(), parts.as_slice()) {
        (true, [h]) => (*h, 0, 0),
        (true, [h, m]) => (*h, *m, 0),
        (true, [h, m, s]) | (false, [h, m, s]) => (*h, *m, *s),
        (false, [m]) => (0, *m, 0),
        (false, [m, s]) => (0, *m, *s),
        _ => return None,
    };
    days.unwrap_or(0)
        .checked_mul(86_400)?
        .checked_add(hours.checked_mul(3_600)?)?
        .checked_add(minutes.checked_mul(60)?)?
        .checked_add(seconds)
}

/// Splits one line into its pairs (see the module documentation).
fn split_pairs(line: &str) -> Vec<Pair<'_>> {
    let mut pairs = Vec::with_capacity(48);
    match find_key(line, "Reason=") {
        Some(at) => {
            push_tokens(&line[..at], &mut pairs);
            let tail = &line[at + "Reason=".len()..];
            let (reason, stamp, rest) = split_reason(tail);
            pairs.push(Pair::Value("Reason", reason));
            if let Some(time) = stamp {
                pairs.push(Pair::Stamp(time));
            }
            let (more, rest) = split_free_text(rest);
            if !more.is_empty() {
                pairs.push(Pair::Value("Reason+", more));
            }
            push_tokens(rest, &mut pairs);
        }
        None => {
            let (free, rest) = split_free_text(line);
            if !free.is_empty() {
                pairs.push(Pair::FreeText(free));
            }
            push_tokens(rest, &mut pairs);
        }
    }
    pairs
}

/// The text before the first `Key=` token of `text` (trimmed), and the rest from that token.
fn split_free_text(text: &str) -> (&str, &str) {
    let at = tokens(text)
        .find(|(_, token)| is_key_token(token))
        .map_or(text.len(), |(at, _)| at);
    (text[..at].trim(), &text[at..])
}

/// Where `key` (ending in `=`) starts as a token of `line`: at the start or after a blank.
fn find_key(line: &str, key: &str) -> Option<usize> {
    line.match_indices(key)
        .map(|(at, _)| at)
        .find(|&at| at == 0 || line[..at].ends_with([' ', '\t']))
}

/// Splits what follows `Reason=` into the reason, the time of its
/// `[user@time]` stamp and what comes after the stamp (`Comment=...`).
fn split_reason(tail: &str) -> (&str, Option<&str>, &str) {
    for (open, _) in tail.match_indices('[') {
        if open == 0 || !tail[..open].ends_with([' ', '\t']) {
            continue;
        }
        let Some(close) = tail[open..].find(']').map(|c| open + c) else {
            continue;
        };
        let inner = &tail[open + 1..close];
        let Some((_user, time)) = inner.rsplit_once('@') else {
            continue;
        };
        if inner.contains([' ', '\t']) {
            continue;
        }
        let rest = &tail[close + 1..];
        let next = rest.split_whitespace().next();
        let ends_here =
            next.is_none() || (rest.starts_with([' ', '\t']) && next.is_some_and(is_key_token));
        if ends_here {
            return (tail[..open].trim(), Some(time), rest);
        }
    }
    // A reason of several lines: the stamp follows its first line, the others follow
    // the stamp as free text.
    if let Some((open, time, close)) = first_stamp(tail) {
        return (tail[..open].trim(), Some(time), &tail[close + 1..]);
    }
    // No stamp (a reason from slurm.conf): free text up to a following free-text key.
    for key in ["Comment=", "Extra="] {
        if let Some(at) = find_key(tail, key) {
            return (tail[..at].trim(), None, &tail[at..]);
        }
    }
    (tail.trim(), None, "")
}

/// The first `[user@time]` after a blank and followed by a blank or the end, whose time
/// is one Slurm prints (epoch seconds, or `YYYY-MM-DDTHH:MM:SS`): where it opens, the
/// time, and where it closes.
fn first_stamp(tail: &str) -> Option<(usize, &str, usize)> {
    let is_time =
        |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || "-T:".contains(c));
    tail.match_indices('[').find_map(|(open, _)| {
        if open == 0 || !tail[..open].ends_with([' ', '\t']) {
            return None;
        }
        let close = open + tail[open..].find(']')?;
        let (_user, time) = tail[open + 1..close].rsplit_once('@')?;
        let followed = tail[close + 1..].is_empty() || tail[close + 1..].starts_with([' ', '\t']);
        (followed && is_time(time)).then_some((open, time, close))
    })
}

/// `Key=` where Key is a letter followed by letters, digits or `_`.
fn is_key_token(token: &str) -> bool {
    let Some((key, _)) = token.split_once('=') else {
        return false;
    };
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Pushes the `Key=Value` pairs of `text`; tokens that are not `Key=` extend the
/// previous value (spaces included, since the value is a slice of `text`).
fn push_tokens<'a>(text: &'a str, pairs: &mut Vec<Pair<'a>>) {
    let mut current: Option<(&'a str, usize, usize)> = None;
    for (start, token) in tokens(text) {
        // One past the cap is enough for the caller to refuse the line.
        if pairs.len() > MAX_LIST_ITEMS {
            return;
        }
        let end = start + token.len();
        if is_key_token(token) {
            if let Some((key, from, to)) = current.take() {
                pairs.push(Pair::Value(key, &text[from..to]));
            }
            let eq = token.find('=').unwrap_or(0);
            current = Some((&token[..eq], start + eq + 1, end));
        } else if let Some((_, _, to)) = current.as_mut() {
            *to = end;
        }
    }
    if let Some((key, from, to)) = current {
        pairs.push(Pair::Value(key, &text[from..to]));
    }
}

/// Blank-separated tokens with their byte offsets.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = 0;
    std::iter::from_fn(move || {
        let tail = &text[rest..];
        let start = rest + tail.find(|c: char| c != ' ' && c != '\t')?;
        let len = text[start..]
            .find([' ', '\t'])
            .unwrap_or(text.len() - start);
        rest = start + len;
        Some((start, &text[start..start + len]))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::model::text::testdata;
    use crate::model::NodeStatus;

    #[test]
    fn lists_and_reasons_are_capped() {
        use crate::model::caps::{TooLarge, MAX_LIST_ITEMS, MAX_PARTITIONS};
        let parse = |text: String| parse_scontrol_nodes(text.as_bytes());
        let partitions = |n: usize| vec!["p"; n].join(",");
        let ok = parse(format!(
            "NodeName=n1 Partitions={}\n",
            partitions(MAX_LIST_ITEMS)
        ));
        assert_eq!(ok.unwrap().nodes[0].partitions.len(), MAX_LIST_ITEMS);
        let over = parse(format!(
            "NodeName=n1 Partitions={}\n",
            partitions(MAX_LIST_ITEMS + 1)
        ));
        assert!(
            matches!(over, Err(ParseError::TooLarge(TooLarge::LIST))),
            "{over:?}"
        );
        let gres = parse(format!(
            "NodeName=n1 Gres={}\n",
            vec!["gpu:1"; MAX_LIST_ITEMS + 1].join(",")
        ));
        assert!(
            matches!(gres, Err(ParseError::TooLarge(TooLarge::LIST))),
            "{gres:?}"
        );
        // A reason continued by many tokens is appended in place (it was copied once
        // per token: quadratic), and the same.
        let words = vec!["w"; 200_000].join(" ");
        let node = parse(format!("NodeName=n1 Reason=start {words}\n")).unwrap();
        assert_eq!(
            node.nodes[0].reason.as_ref().map(String::len),
            Some(5 + 1 + words.len())
        );
        // Keys of one line (40 bytes each once split).
        let keys = parse(format!(
            "NodeName=n1 {}\n",
            vec!["A=b"; MAX_LIST_ITEMS + 1].join(" ")
        ));
        assert!(
            matches!(keys, Err(ParseError::TooLarge(TooLarge::LIST))),
            "{keys:?}"
        );
        // Partitions of one output.
        let many = (0..=MAX_PARTITIONS)
            .map(|i| format!("PartitionName=p{i} State=UP\n"))
            .collect::<String>();
        let over = parse_scontrol_partitions(many.as_bytes());
        assert!(
            matches!(over, Err(ParseError::TooLarge(TooLarge::PARTITIONS))),
            "{over:?}"
        );
    }

    fn nodes(text: &str) -> Vec<Node> {
        parse_scontrol_nodes(text.as_bytes()).unwrap().nodes
    }

    #[test]
    fn tokens_with_spaces_in_values() {
        let line = "NodeName=n1 Arch=x86_64 CoresPerSocket=1  OS=Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)  RealMemory=4000 CfgTRES=cpu=4,mem=4000M AllocTRES= Reason=bad | disk = broken [root@1700000000] Comment=see ticket 42";
        let pairs = split_pairs(line);
        assert_eq!(
            pairs,
            vec![
                Pair::Value("NodeName", "n1"),
                Pair::Value("Arch", "x86_64"),
                Pair::Value("CoresPerSocket", "1"),
                Pair::Value(
                    "OS",
                    "Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"
                ),
                Pair::Value("RealMemory", "4000"),
                Pair::Value("CfgTRES", "cpu=4,mem=4000M"),
                Pair::Value("AllocTRES", ""),
                Pair::Value("Reason", "bad | disk = broken"),
                Pair::Stamp("1700000000"),
                Pair::Value("Comment", "see ticket 42"),
            ]
        );
    }

    #[test]
    fn reason_stamps() {
        assert_eq!(
            split_reason("Not responding [root@2026-09-28T12:52:55]"),
            ("Not responding", Some("2026-09-28T12:52:55"), "")
        );
        // A bracket inside the reason is not the stamp.
        assert_eq!(
            split_reason("disk [sda] dead [slurm@1700000000]"),
            ("disk [sda] dead", Some("1700000000"), "")
        );
        assert_eq!(
            split_reason("see [a@b] later [root@17]  "),
            ("see [a@b] later", Some("17"), "  ")
        );
        assert_eq!(split_reason("fake node"), ("fake node", None, ""));
        assert_eq!(
            split_reason("fake node Extra={\"rack\":1}"),
            ("fake node", None, "Extra={\"rack\":1}")
        );
    }

    #[test]
    fn node_fields() {
        let text = "NodeName=a-very-long-node-name-0001 Arch=x86_64 CoresPerSocket=1  CPUAlloc=2 CPUEfctv=4 CPUTot=4 CPULoad=0.75 RealMemory=4000 AllocMem=1000 FreeMem=N/A State=MIXED+DRAIN Partitions=debug,batch  Reason=maintenance: swap DIMM [admin@1796238759]\n";
        let node = nodes(text).remove(0);
        assert_eq!(
            node,
            Node {
                name: "a-very-long-node-name-0001".into(),
                partitions: vec!["debug".into(), "batch".into()],
                state: NodeState {
                    base: "MIXED".into(),
                    flags: vec!["DRAIN".into()]
                },
                cpus_total: Some(4),
                cpus_allocated: Some(2),
                memory_total_bytes: Some(4000 * 1024 * 1024),
                memory_allocated_bytes: Some(1000 * 1024 * 1024),
                memory_free_bytes: None,
                cpu_load: Some(0.75),
                reason: Some("maintenance: swap DIMM".into()),
                reason_changed_at: Some(1_796_238_759),
                ..Default::default()
            }
        );
        assert_eq!(node.state.status(), NodeStatus::Draining);
    }

    #[test]
    fn missing_fields_are_none_and_unknown_ignored() {
        let node = nodes("NodeName=x Future=1 Whatever=(null)").remove(0);
        assert_eq!(node.name, "x");
        assert_eq!(node.cpus_total, None);
        assert_eq!(node.cpu_load, None);
        assert!(node.partitions.is_empty());
        assert_eq!(node.reason, None);
    }

    #[test]
    fn no_nodes_and_garbage() {
        assert!(nodes("No nodes in the system\n").is_empty());
        assert!(nodes("").is_empty());
        let err =
            parse_scontrol_nodes("garbage here\nNodeName=a State=IDLE\n".as_bytes()).unwrap_err();
        assert!(matches!(err, ParseError::Text { line: 1, .. }), "{err:?}");
        assert!(parse_scontrol_nodes(
            "slurm_load_node error: Unable to contact slurm controller".as_bytes()
        )
        .is_err());
    }

    #[test]
    fn reason_of_several_lines_recorded() {
        // Recorded: `scontrol update nodename=f2 reason=$'maintenance\nticket 42 | rack 7'`.
        let file = testdata::fixture("scontrol-show-node-multiline-reason.txt");
        let all = parse_scontrol_nodes(file).unwrap().nodes;
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].name, "f2");
        assert_eq!(
            all[0].reason.as_deref(),
            Some("maintenance ticket 42 | rack 7")
        );
        assert_eq!(all[0].reason_changed_at, Some(1_796_679_866));
        assert_eq!(all[0].state.status(), NodeStatus::Down);
    }

    #[test]
    fn raw_newline_in_a_reason_affects_only_its_node() {
        let file = testdata::fixture("scontrol-show-node.txt");
        let text = std::io::read_to_string(file).unwrap();
        let clean = nodes(&text);
        assert_eq!(clean.len(), 4);
        // The first node's reason with a raw newline inside, its stamp on the second line.
        let first_end = text.find('\n').unwrap();
        let first = &text[..first_end];
        let at = first.find(" Reason=").unwrap();
        let broken = format!(
            "{} Reason=line one\nline two [root@1796679866]{}",
            &first[..at],
            &text[first_end..]
        );
        let parsed = nodes(&broken);
        assert_eq!(parsed.len(), 4);
        assert_eq!(parsed[0].name, clean[0].name);
        assert_eq!(parsed[0].reason.as_deref(), Some("line one line two"));
        assert_eq!(parsed[0].reason_changed_at, Some(1_796_679_866));
        assert_eq!(parsed[0].cpus_total, clean[0].cpus_total);
        assert_eq!(parsed[1..], clean[1..]);
    }

    #[test]
    fn reason_of_several_lines_in_the_multi_line_form() {
        let text = "\
NodeName=n1 CPUTot=4
   State=IDLE+DRAIN
   Reason=first [root@1796238759]
          second line
   Comment=c
NodeName=n2 CPUTot=8 State=IDLE
";
        let all = nodes(text);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].reason.as_deref(), Some("first second line"));
        assert_eq!(all[0].reason_changed_at, Some(1_796_238_759));
        assert_eq!(all[1].reason, None);
    }

    #[test]
    fn multi_line_form() {
        let text = "\
NodeName=n1 Arch=x86_64 CoresPerSocket=1
   CPUAlloc=1 CPUEfctv=4 CPUTot=4 CPULoad=0.18
   OS=Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC
   RealMemory=4000 AllocMem=0 FreeMem=3000 Sockets=4 Boards=1
   State=IDLE+DRAIN ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A
   Partitions=debug
   Reason=testing it [root@1796238759]
   Comment=hello world

NodeName=n2 CPUTot=8 State=DOWN*
";
        let all = nodes(text);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].cpus_allocated, Some(1));
        assert_eq!(all[0].memory_free_bytes, Some(3000 * 1024 * 1024));
        assert_eq!(all[0].reason.as_deref(), Some("testing it"));
        assert_eq!(all[0].reason_changed_at, Some(1_796_238_759));
        assert_eq!(all[0].state.status(), NodeStatus::Drained);
        assert_eq!(all[1].cpus_total, Some(8));
        assert_eq!(all[1].state.status(), NodeStatus::Down);
    }

    #[test]
    fn time_limits() {
        assert_eq!(parse_time_limit("UNLIMITED"), None);
        assert_eq!(parse_time_limit("INFINITE"), None);
        assert_eq!(parse_time_limit("NONE"), None);
        assert_eq!(parse_time_limit("1-00:00:00"), Some(86_400));
        assert_eq!(parse_time_limit("2-12"), Some(2 * 86_400 + 12 * 3_600));
        assert_eq!(
            parse_time_limit("1-02:03"),
            Some(86_400 + 2 * 3_600 + 3 * 60)
        );
        assert_eq!(parse_time_limit("01:00:00"), Some(3_600));
        assert_eq!(parse_time_limit("30"), Some(1_800));
        assert_eq!(parse_time_limit("30:15"), Some(1_815));
        assert_eq!(parse_time_limit("1:2:3:4"), None);
        assert_eq!(parse_time_limit("soon"), None);
    }

    #[test]
    fn partitions_text() {
        let text = "PartitionName=long AllowGroups=ALL Default=NO MaxTime=7-00:00:00 State=DRAIN TotalCPUs=64 TotalNodes=2\nNo partitions in the system\n";
        let parts = parse_scontrol_partitions(text.as_bytes())
            .unwrap()
            .partitions;
        assert_eq!(
            parts,
            vec![Partition {
                name: "long".into(),
                state: Some("DRAIN".into()),
                total_cpus: Some(64),
                total_nodes: Some(2),
                is_default: Some(false),
                max_time_seconds: Some(7 * 86_400),
            }]
        );
        assert!(parse_scontrol_partitions("oops".as_bytes()).is_err());
    }

    #[test]
    fn lab_22_05_nodes() {
        let file = testdata::fixture("scontrol-show-node.txt");
        let nodes = parse_scontrol_nodes(file).unwrap().nodes;
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["f1", "f2", "n1", "n2"]);

        let f1 = &nodes[0];
        assert_eq!(f1.state.status(), NodeStatus::Down);
        assert_eq!(f1.state.flags, ["NOT_RESPONDING"]);
        assert_eq!(f1.cpu_load, None);
        assert_eq!(f1.memory_free_bytes, None);
        assert_eq!(f1.reason.as_deref(), Some("fake node"));
        assert_eq!(f1.reason_changed_at, None);

        let n1 = &nodes[2];
        assert_eq!(n1.state.status(), NodeStatus::Allocated);
        assert_eq!((n1.cpus_total, n1.cpus_allocated), (Some(4), Some(4)));
        assert_eq!(n1.cpu_load, Some(0.42));
        assert_eq!(n1.memory_total_bytes, Some(4000 * 1024 * 1024));
        assert_eq!(n1.memory_allocated_bytes, Some(2500 * 1024 * 1024));
        assert_eq!(n1.memory_free_bytes, Some(22073 * 1024 * 1024));
        assert_eq!(n1.partitions, ["debug", "batch"]);
        assert_eq!(n1.reason, None);

        let n2 = &nodes[3];
        assert_eq!(n2.state.base, "MIXED");
        assert_eq!(n2.state.flags, ["DRAIN"]);
        assert_eq!(n2.state.status(), NodeStatus::Draining);
        assert_eq!((n2.cpus_total, n2.cpus_allocated), (Some(4), Some(3)));
        assert_eq!(n2.memory_allocated_bytes, Some(1500 * 1024 * 1024));
        assert_eq!(n2.reason.as_deref(), Some("lab drain test"));
        assert_eq!(n2.reason_changed_at, Some(1_796_239_152));
    }

    #[test]
    fn lab_22_05_partitions() {
        let file = testdata::fixture("scontrol-show-partition.txt");
        let parts = parse_scontrol_partitions(file).unwrap().partitions;
        assert_eq!(
            parts,
            vec![
                Partition {
                    name: "debug".into(),
                    state: Some("UP".into()),
                    total_cpus: Some(16),
                    total_nodes: Some(4),
                    is_default: Some(true),
                    max_time_seconds: None,
                },
                Partition {
                    name: "batch".into(),
                    state: Some("UP".into()),
                    total_cpus: Some(16),
                    total_nodes: Some(4),
                    is_default: Some(false),
                    max_time_seconds: Some(86_400),
                },
            ]
        );
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn slurm_23_11_nodes() {
        let file =
            testdata::sample("slurm-23.11.4/scontrol_nodes__nbharathik_slurm-dashboard__nodes.txt");
        let nodes = parse_scontrol_nodes(file).unwrap().nodes;
        assert_eq!(nodes.len(), 5);
        let cpu02 = &nodes[1];
        assert_eq!(cpu02.name, "cpu02");
        assert_eq!(cpu02.state.base, "DOWN");
        assert_eq!(cpu02.state.flags, ["DRAIN", "NOT_RESPONDING"]);
        assert_eq!(cpu02.reason.as_deref(), Some("bad DIMM : Not responding"));
        // ISO stamp (no SLURM_TIME_FORMAT=%s on that cluster): not guessed.
        assert_eq!(cpu02.reason_changed_at, None);
        let node01 = &nodes[4];
        assert_eq!(node01.name, "node01");
        assert_eq!(node01.state.status(), NodeStatus::Mixed);
        assert_eq!(node01.partitions, ["gpu", "cpu", "short"]);
        assert_eq!(node01.cpus_allocated, Some(14));
        assert_eq!(node01.memory_allocated_bytes, Some(18192 * 1024 * 1024));
        assert_eq!(node01.memory_free_bytes, Some(14922 * 1024 * 1024));
        assert_eq!(node01.cpu_load, Some(0.43));
        assert_eq!(node01.reason, None);
    }

    #[test]
    #[ignore = "needs ../shared/slurm-samples"]
    fn slurm_24_11_and_26_05_nodes() {
        for (dir, na1_load, na1_free) in
            [("slurm-24.11.7", 8.62, 406), ("slurm-26.05.2", 0.57, 3206)]
        {
            let file = testdata::sample(&format!(
                "{dir}/scontrol_nodes__SckyzO_slurm_exporter__scontrol_nodes.txt"
            ));
            let nodes = parse_scontrol_nodes(file).unwrap().nodes;
            assert_eq!(nodes.len(), 20, "{dir}");
            let na1 = &nodes[0];
            assert_eq!(na1.name, "na1");
            assert_eq!(na1.state.base, "MIXED");
            assert_eq!(na1.state.flags, ["DYNAMIC_NORM"]);
            assert_eq!(na1.state.status(), NodeStatus::Mixed);
            assert_eq!(na1.cpus_total, Some(32));
            assert_eq!(na1.cpu_load, Some(na1_load));
            assert_eq!(na1.memory_total_bytes, Some(15867 * 1024 * 1024));
            assert_eq!(na1.memory_free_bytes, Some(na1_free * 1024 * 1024));
            assert_eq!(na1.partitions, ["cpu", "debug", "high"]);
            assert!(nodes.iter().all(|n| n.reason.is_none()));
        }
    }
}
