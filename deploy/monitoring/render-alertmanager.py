#!/usr/bin/env python3
"""Renders deploy/monitoring/alertmanager-config.yaml with real values.

Writes OUTPUT_DIR/alertmanager.yml, the notification templates
(alertmanager-templates/*.tmpl) and OUTPUT_DIR/slurm-exporter-site.tmpl (the Grafana base
URL), then, if amtool is on PATH, runs `amtool check-config` on the result.

Every ${NAME} placeholder of the config gets its value from the environment variable NAME,
or from the file named by NAME_FILE (trailing newline stripped), or from the default below.
Variables without a default are required. Values are written as quoted YAML strings, so
nothing in them can change the structure of the file. Secrets are not values: the config
points Alertmanager at files in AM_SECRETS_DIR (PagerDuty routing keys, Slack webhook URL,
SMTP password, SOC webhook token), which this script only checks for with --check-secrets.

Python 3 standard library only.
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
CONFIG = HERE / "alertmanager-config.yaml"
TEMPLATES = HERE / "alertmanager-templates"

# name: (default or None when required, meaning)
VARIABLES = {
    "AM_SECRETS_DIR": ("/etc/alertmanager/secrets/slurm-exporter-alerting",
                       "directory holding the secret files listed in SECRET_FILES"),
    "AM_TEMPLATES_GLOB": (None, "where Alertmanager finds the .tmpl files, e.g. "
                          "/etc/alertmanager/config/*.tmpl (kube-prometheus-stack) or "
                          "/etc/alertmanager/templates/*.tmpl; default: OUTPUT_DIR/*.tmpl"),
    "AM_SMTP_SMARTHOST": (None, "SMTP relay host:port"),
    "AM_SMTP_FROM": (None, "sender address of notification mails"),
    "AM_SMTP_AUTH_USERNAME": ("", "SMTP user (empty: no authentication)"),
    "AM_SMTP_REQUIRE_TLS": ("true", "true or false"),
    "AM_PAGERDUTY_URL": ("https://events.pagerduty.com/v2/enqueue", "PagerDuty Events API v2 URL"),
    "AM_ONCALL_EMAIL": (None, "on-call mail address (P0)"),
    "AM_EXEC_EMAIL": (None, "executive mail address (SLA breaches)"),
    "AM_SOC_EMAIL": (None, "security operations centre mail address"),
    "AM_CAPACITY_EMAIL": (None, "capacity planning mail address (P2 capacity, business hours)"),
    "AM_DEFAULT_EMAIL": (None, "mail address for everything else"),
    "AM_SOC_WEBHOOK_URL": (None, "SOC webhook URL (its bearer token is the soc-webhook-token file)"),
    "AM_SLACK_ONCALL_CHANNEL": ("#slurm-oncall", "Slack channel of P0 pages"),
    "AM_SLACK_OPS_CHANNEL": ("#hpc-operations", "Slack channel of operations (SLA breaches)"),
    "AM_SLACK_TEAM_CHANNEL": ("#slurm-team", "Slack channel of the team (P1)"),
    "AM_SLACK_CAPACITY_CHANNEL": ("#hpc-capacity", "Slack channel of capacity alerts (P2)"),
    "AM_TIMEZONE": ("UTC", "IANA time zone of the business hours, e.g. Europe/Berlin"),
    "AM_BUSINESS_DAYS": ("monday:friday", "weekday range of the business hours"),
    "AM_BUSINESS_HOURS_START": ("09:00", "start of the business hours (HH:MM)"),
    "AM_BUSINESS_HOURS_END": ("17:00", "end of the business hours (HH:MM)"),
    "AM_GRAFANA_URL": (None, "Grafana base URL; alerts' dashboard_url paths are appended to it"),
}
SECRET_FILES = [
    "smtp-password",
    "slack-webhook-url",
    "pagerduty-oncall-routing-key",
    "pagerduty-security-routing-key",
    "soc-webhook-token",
]
BARE = ["AM_SMTP_REQUIRE_TLS"]
PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")
CHECKS = {
    "AM_SMTP_REQUIRE_TLS": re.compile(r"^(true|false)$"),
    "AM_BUSINESS_HOURS_START": re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$"),
    "AM_BUSINESS_HOURS_END": re.compile(r"^([01][0-9]|2[0-4]):[0-5][0-9]$"),
    "AM_BUSINESS_DAYS": re.compile(r"^[a-z]+(:[a-z]+)?$"),
    "AM_GRAFANA_URL": re.compile(r"^https?://\S+[^/]$"),
    "AM_SOC_WEBHOOK_URL": re.compile(r"^https?://\S+$"),
    "AM_PAGERDUTY_URL": re.compile(r"^https?://\S+$"),
}


def value_of(name, output_dir):
    file_var = os.environ.get(name + "_FILE")
    if name in os.environ:
        return os.environ[name]
    if file_var:
        return pathlib.Path(file_var).read_text().rstrip("\n")
    default = VARIABLES[name][0]
    if name == "AM_TEMPLATES_GLOB" and default is None:
        return str(pathlib.Path(output_dir).resolve() / "*.tmpl")
    if default is None:
        raise SystemExit(f"render-alertmanager: {name} is required ({VARIABLES[name][1]}); "
                         f"set {name} or {name}_FILE")
    return default


SCALAR = re.compile(r"^(\s*(?:- )?(?:[A-Za-z_]+: )?)(.*?)(\n?)$")


def fill(line, values):
    """Fills the placeholders of one line. A scalar holding a placeholder becomes one quoted
    YAML string (JSON strings are valid YAML double-quoted scalars); inside a flow list
    ([${X}]) each placeholder becomes one quoted item."""
    if not PLACEHOLDER.search(line):
        return line
    for name in BARE:  # validated by CHECKS to be a YAML boolean
        line = line.replace("${" + name + "}", values.get(name, "${" + name + "}"))
    if not PLACEHOLDER.search(line):
        return line
    prefix, scalar, end = SCALAR.match(line).groups()
    if scalar.startswith("["):
        return prefix + PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)]), scalar) + end
    return prefix + json.dumps(PLACEHOLDER.sub(lambda m: values[m.group(1)], scalar)) + end


def render(output_dir, check_secrets):
    lines = CONFIG.read_text().splitlines(keepends=True)
    # Comment lines are copied as they are (they mention ${NAME} to explain it).
    active = [line for line in lines if not line.lstrip().startswith("#")]
    used = set(PLACEHOLDER.findall("".join(active)))
    unknown = used - VARIABLES.keys()
    if unknown:
        raise SystemExit(f"render-alertmanager: unknown placeholders {sorted(unknown)}")
    values = {name: value_of(name, output_dir) for name in sorted(used | {"AM_GRAFANA_URL"})}
    for name, pattern in CHECKS.items():
        if name in values and not pattern.match(values[name]):
            raise SystemExit(f"render-alertmanager: {name}={values[name]!r} is not valid")
    for name, value in values.items():
        if any(ch in value for ch in "\n\r\0"):
            raise SystemExit(f"render-alertmanager: {name} contains a line break")
    rendered = "".join(line if line.lstrip().startswith("#") else fill(line, values)
                       for line in lines)
    if check_secrets:
        secrets = pathlib.Path(values["AM_SECRETS_DIR"])
        missing = [f for f in SECRET_FILES if not (secrets / f).is_file()]
        if missing:
            raise SystemExit(f"render-alertmanager: missing secret files in {secrets}: {missing}")
    out = pathlib.Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    header = "# Rendered by deploy/monitoring/render-alertmanager.py: do not edit.\n"
    (out / "alertmanager.yml").write_text(header + rendered)
    for tmpl in sorted(TEMPLATES.glob("*.tmpl")):
        shutil.copyfile(tmpl, out / tmpl.name)
    grafana = values["AM_GRAFANA_URL"]
    (out / "slurm-exporter-site.tmpl").write_text(
        "{{/* Rendered by render-alertmanager.py from AM_GRAFANA_URL. */}}\n"
        '{{ define "slurm.grafana_url" }}' + grafana.replace("{{", "") + "{{ end }}\n")
    return out / "alertmanager.yml"


def main():
    epilog = "variables:\n" + "\n".join(
        f"  {n:26} {'(required)' if d is None else repr(d)}: {m}" for n, (d, m) in VARIABLES.items())
    epilog += "\nsecret files in AM_SECRETS_DIR:\n  " + "\n  ".join(SECRET_FILES)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=epilog,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--check-secrets", action="store_true",
                        help="fail unless every secret file exists in AM_SECRETS_DIR")
    parser.add_argument("--no-amtool", action="store_true", help="do not run amtool check-config")
    args = parser.parse_args()
    path = render(args.output_dir, args.check_secrets)
    print(f"wrote {path}")
    if not args.no_amtool and shutil.which("amtool"):
        return subprocess.run(["amtool", "check-config", str(path)]).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
