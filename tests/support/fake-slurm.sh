#!/bin/sh
# Stands in for squeue, scontrol and sdiag in tests: prints the output recorded from
# our 22.05 cluster, or misbehaves as $FAKE_SLURM_STATE/mode-<command> says
# (ok | fail | hang | garbage). Every call is appended to $FAKE_SLURM_STATE/calls.
name=$(basename "$0")
state=${FAKE_SLURM_STATE:?FAKE_SLURM_STATE not set}
fixtures=${FAKE_SLURM_FIXTURES:?FAKE_SLURM_FIXTURES not set}
echo "$name $*" >> "$state/calls"
mode=ok
[ -f "$state/mode-$name" ] && mode=$(cat "$state/mode-$name")
case $mode in
  fail) echo "$name: error: Unable to contact slurm controller (connect failure)" >&2; exit 1 ;;
  hang) sleep 600; exit 0 ;;
  garbage) echo "this is not what $name prints"; exit 0 ;;
esac
case "$name $*" in
  "squeue -h -t all -r -o %i|%T|%P|%C|%D|%V|%S|%r") cat "$fixtures/squeue.txt" ;;
  "scontrol -o show node") cat "$fixtures/scontrol-show-node.txt" ;;
  "scontrol -o show partition") cat "$fixtures/scontrol-show-partition.txt" ;;
  "scontrol ping") cat "$fixtures/scontrol-ping.txt" ;;
  "scontrol show config") cat "$fixtures/scontrol-show-config.txt" ;;
  "sdiag ") cat "$fixtures/sdiag.txt" ;;
  *) echo "fake-slurm: unexpected call: $name $*" >&2; exit 2 ;;
esac
