# %preun of the slurm-exporter .rpm ($1: 0 erase, 1 upgrade), as %systemd_preun does: on
# erase, stop and disable the unit. An upgrade leaves it running (%postun restarts it).
if [ "$1" -eq 0 ] && command -v systemctl >/dev/null 2>&1; then
    systemctl --no-reload disable --now slurm-exporter.service >/dev/null 2>&1 || :
fi
exit 0
