# %pre of the slurm-exporter .rpm ($1: 1 install, 2 upgrade): the system user the unit runs
# as (User=slurm-exporter). A failure stops the install: the unit would not start without it.
set -e
if ! getent group slurm-exporter >/dev/null; then
    groupadd -r slurm-exporter
fi
if ! getent passwd slurm-exporter >/dev/null; then
    useradd -r -g slurm-exporter -M -d /nonexistent -s /sbin/nologin \
        -c "Prometheus exporter for Slurm" slurm-exporter
fi
