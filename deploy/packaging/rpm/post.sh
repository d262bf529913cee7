# %post of the slurm-exporter .rpm ($1: 1 install, 2 upgrade), as %systemd_post does: on the
# first install apply the system's preset (RHEL's default leaves the unit disabled until
# `systemctl enable --now slurm-exporter`); a preset needs no running systemd. Without
# systemctl (a container): nothing.
if [ "$1" -eq 1 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl --no-reload preset slurm-exporter.service >/dev/null 2>&1 || :
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
fi
exit 0
