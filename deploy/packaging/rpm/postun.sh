# %postun of the slurm-exporter .rpm ($1: 0 erase, 1 upgrade), as
# %systemd_postun_with_restart does: after an upgrade a running unit restarts on the new
# binary. The user is kept on erase (files may still belong to it), as Fedora's guidelines say.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart slurm-exporter.service >/dev/null 2>&1 || :
    fi
fi
exit 0
