#!/usr/bin/env python3
"""Does the exporter (and the Slurm commands it runs) fit the unit's sandbox?

There is no systemd as PID 1 here to run the unit, so the exporter runs under
`strace -f` instead (check-systemd.sh), collecting from the local Slurm cluster and
reloading on SIGHUP, and this compares what the process tree did with the unit:
  - every system call is allowed by the unit's SystemCallFilter= lines (groups expanded by
    `systemd-analyze syscall-filter`), none is in a denied (~) group;
  - every socket() family is in RestrictAddressFamilies=;
  - nothing was opened for writing, created, removed or renamed outside /dev/null and the
    private /tmp (ProtectSystem=strict, no writable paths are granted).
Usage: check_sandbox.py UNIT STRACE_OUTPUT
"""
import re
import subprocess
import sys


def expand(name, cache={}):
    if name in cache:
        return cache[name]
    if not name.startswith("@"):
        return {name}
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True, check=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        item = line.strip()
        if item and not item.startswith("#"):
            calls |= expand(item)
    cache[name] = calls
    return calls


def main():
    unit_path, trace_path = sys.argv[1:3]
    allow, deny, families = None, set(), set()
    for line in open(unit_path):
        line = line.strip()
        if line.startswith("SystemCallFilter="):
            value = line.split("=", 1)[1]
            if value.startswith("~"):
                for item in value[1:].split():
                    deny |= expand(item)
            else:
                allow = (allow or set()).union(*(expand(i) for i in value.split()))
        elif line.startswith("RestrictAddressFamilies="):
            families |= set(line.split("=", 1)[1].split())
    trace = open(trace_path).read()
    used = set(re.findall(r"^\d+ +([a-z_0-9]+)\(", trace, re.M))
    used |= set(re.findall(r"^\d+ +<\.\.\. ([a-z_0-9]+) resumed>", trace, re.M))
    errors = []
    if allow is not None:
        for call in sorted(used - allow):
            errors.append(f"system call {call} is outside the unit's SystemCallFilter")
    for call in sorted(used & deny):
        errors.append(f"system call {call} is in a group the unit denies")
    for fam in sorted(set(re.findall(r"socket\((AF_[A-Z0-9]+)", trace))):
        if families and fam not in families:
            errors.append(f"socket family {fam} is not in RestrictAddressFamilies")
    writes = re.findall(r'^\d+ +open(?:at)?\((?:[A-Z_0-9]+, )?"([^"\n]+)", [^\n]*O_(?:WRONLY|RDWR|CREAT)', trace, re.M)
    for path in writes:
        if path == "/dev/null" or path.startswith("/tmp/"):
            continue
        errors.append(f"opened {path} for writing; ProtectSystem=strict makes it read-only")
    for call, path in re.findall(r'^\d+ +(mkdirat?|unlinkat?|renameat2?|rename)\((?:[A-Z_0-9]+, )?"([^"\n]+)"', trace, re.M):
        if not path.startswith("/tmp/"):
            errors.append(f"{call} {path}: the file system is read-only under ProtectSystem=strict")
    execs = sorted({m.split("/")[-1] for m in re.findall(r'^\d+ +execve\("([^"]+)"', trace, re.M)})
    for e in errors:
        print("ERROR " + e, file=sys.stderr)
    if not errors:
        print(f"ok    sandbox fits: {len(used)} system calls, socket families "
              f"{sorted(set(re.findall(r'socket[(](AF_[A-Z0-9]+)', trace)))}, no writes; programs run: {execs}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
