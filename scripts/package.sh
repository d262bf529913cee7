#!/usr/bin/env bash
# package.sh - builds the .deb (cargo-deb) and the .rpm (cargo-generate-rpm) of slurm-exporter
# into target/packages/, from the release build. What goes in them is in Cargo.toml
# ([package.metadata.deb], [package.metadata.generate-rpm]) and deploy/packaging/.
#
# Usage: scripts/package.sh [--revision N]
#   --revision N   package revision (default 1): slurm-exporter_<version>-N_amd64.deb and
#                  slurm-exporter-<version>-N.x86_64.rpm; a higher N upgrades a lower one
#
# cargo-deb and cargo-generate-rpm are installed from crates.io (`cargo install --locked`,
# the versions below) when `cargo deb` / `cargo generate-rpm` are missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib/packages.sh
source scripts/lib/packages.sh
export PATH="$HOME/.cargo/bin:$PATH"

CARGO_DEB_VERSION=3.8.0
CARGO_GENERATE_RPM_VERSION=0.21.1
OUT=target/packages
REVISION=1
while [[ $# -gt 0 ]]; do
    case $1 in
        --revision) REVISION=${2:?--revision needs a number}; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ $REVISION =~ ^[0-9]+$ ]] || { echo "--revision must be a number" >&2; exit 2; }

need_tool() {  # need_tool SUBCOMMAND CRATE VERSION
    if ! cargo "$1" --version >/dev/null 2>&1; then
        echo "installing $2 $3 from crates.io (cargo install --locked)" >&2
        cargo install "$2" --version "$3" --locked
    fi
}
need_tool deb cargo-deb "$CARGO_DEB_VERSION"
need_tool generate-rpm cargo-generate-rpm "$CARGO_GENERATE_RPM_VERSION"
install_packages gcc libc6-dev binutils   # the build's C parts; strip

cargo build --release --locked --bin slurm-exporter
mkdir -p "$OUT/stage"
bin="${CARGO_TARGET_DIR:-target}/release/slurm-exporter"
# The rpm's binary: stripped, as cargo-deb strips the deb's (10 MB -> about 4 MB).
strip -o "$OUT/stage/slurm-exporter" "$bin"

cargo deb --no-build --deb-revision "$REVISION" --output "$OUT/" >/dev/null
cargo generate-rpm --output "$OUT/" --set-metadata "release = \"$REVISION\"" >/dev/null
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
deb=$OUT/slurm-exporter_${version}-${REVISION}_amd64.deb
rpm=$OUT/slurm-exporter-${version}-${REVISION}.x86_64.rpm
for f in "$deb" "$rpm"; do
    [[ -s $f ]] || { echo "expected $f, not built" >&2; ls -l "$OUT" >&2; exit 1; }
done
echo "built with cargo-deb $(cargo deb --version 2>&1 | grep -o '[0-9][0-9.]*' | head -1)," \
     "cargo-generate-rpm $(cargo generate-rpm --version 2>&1 | grep -o '[0-9][0-9.]*' | head -1):" >&2
ls -l "$deb" "$rpm" >&2
