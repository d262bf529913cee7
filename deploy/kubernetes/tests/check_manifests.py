#!/usr/bin/env python3
"""What deploy/kubernetes must hold together, checked on the `kustomize build` output.

Schemas (kubernetes-validate, the CRD check) say each object is well-formed; this says the
objects fit each other and the exporter: selectors match, the probes hit the exporter's
real endpoints on the named port, the config passes the binary's own check-config, every
flag the Deployment passes exists in the binary, the JWT Secret is mounted where the flag
points, the dashboards ConfigMaps carry the Grafana sidecar label and the exact JSON files.

Usage: check_manifests.py BUILD.yaml EXPORTER_BINARY REPO_ROOT
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)
    return cond


def one(objs, kind, name=None):
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    check(len(found) == 1, f"expected exactly one {kind} {name or ''}, found {len(found)}")
    return found[0] if found else {}


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def main():
    build, binary, root = sys.argv[1:4]
    objs = [o for o in yaml.safe_load_all(open(build)) if o]
    ns = "slurm-exporter"

    namespace = one(objs, "Namespace", ns)
    for o in objs:
        if o["kind"] != "Namespace":
            check(o["metadata"].get("namespace") == ns,
                  f"{o['kind']}/{o['metadata']['name']} is not in namespace {ns}")

    dep = one(objs, "Deployment", "slurm-exporter")
    pod = dep.get("spec", {}).get("template", {})
    pod_labels = pod.get("metadata", {}).get("labels", {})
    check(matches(dep["spec"]["selector"]["matchLabels"], pod_labels), "Deployment selector does not match its pod labels")
    spec = pod.get("spec", {})
    psc = spec.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True, "pod securityContext.runAsNonRoot must be true")
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "pod seccompProfile must be RuntimeDefault")
    check(spec.get("automountServiceAccountToken") is False, "the pod must not mount a service account token")
    containers = spec.get("containers", [])
    check(len(containers) == 1, "one container expected")
    c = containers[0] if containers else {}
    sc = c.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True, "container readOnlyRootFilesystem must be true")
    check(sc.get("allowPrivilegeEscalation") is False, "container allowPrivilegeEscalation must be false")
    check(sc.get("capabilities", {}).get("drop") == ["ALL"], "container must drop ALL capabilities")
    check(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", "container seccompProfile must be RuntimeDefault")
    res = c.get("resources", {})
    for k in ("cpu", "memory"):
        check(k in res.get("requests", {}), f"container requests.{k} missing (the HPA needs it)")
        check(k in res.get("limits", {}), f"container limits.{k} missing")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    check(ports.get("metrics") == 10341, "container port `metrics` must be 10341")
    for probe, path in (("livenessProbe", "/health"), ("readinessProbe", "/ready")):
        g = c.get(probe, {}).get("httpGet", {})
        check(g.get("path") == path and g.get("port") in ("metrics", 10341), f"{probe} must GET {path} on port metrics")

    # Flags: every --flag the container passes exists in the binary.
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    known = set(re.findall(r"(--[a-z][a-z0-9.-]*)", help_text))
    args = c.get("args", []) + c.get("command", [])[1:]
    flags = {}
    for a in args:
        if a.startswith("--"):
            name, _, value = a.partition("=")
            check(name in known, f"Deployment passes {name}, which `slurm-exporter --help` does not list")
            flags[name] = value
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in spec.get("volumes", [])}

    # Config: the ConfigMap mounted at the --config.file directory holds a file that the
    # binary's own check-config accepts.
    cfg_path = flags.get("--config.file", "")
    check(cfg_path, "Deployment must pass --config.file")
    cfg_vol = next((n for n, p in mounts.items() if cfg_path.startswith(p.rstrip("/") + "/")), None)
    if check(cfg_vol and "configMap" in vols.get(cfg_vol, {}), f"{cfg_path} is not on a ConfigMap volume"):
        cm_name = vols[cfg_vol]["configMap"]["name"]
        cm = one(objs, "ConfigMap", cm_name)
        key = os.path.basename(cfg_path)
        if check(key in cm.get("data", {}), f"ConfigMap {cm_name} has no key {key}"):
            with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
                f.write(cm["data"][key])
            r = subprocess.run([binary, "check-config", f.name], capture_output=True, text=True)
            check(r.returncode == 0, f"check-config rejects the ConfigMap's config: {r.stdout}{r.stderr}")
            cfg = yaml.safe_load(cm["data"][key]) or {}
            jwt_cfg = cfg.get("slurm", {}).get("jwt_file")
            if jwt_cfg and "--slurm.jwt-file" in flags:
                check(jwt_cfg == flags["--slurm.jwt-file"], "config.yaml slurm.jwt_file and --slurm.jwt-file differ")
    # JWT: the file --slurm.jwt-file names is on a Secret volume.
    jwt = flags.get("--slurm.jwt-file", "")
    check(jwt, "Deployment must pass --slurm.jwt-file (JWT from a Secret file)")
    jwt_vol = next((n for n, p in mounts.items() if jwt.startswith(p.rstrip("/") + "/")), None)
    if check(jwt_vol and "secret" in vols.get(jwt_vol, {}), f"{jwt} is not on a Secret volume"):
        s = vols[jwt_vol]["secret"]
        items = {i["key"]: i["path"] for i in s.get("items", [])}
        fname = os.path.basename(jwt)
        check(not items or fname in items.values(), f"Secret volume does not provide {fname}")
        check(s.get("secretName") == "slurm-exporter-jwt", "JWT Secret must be slurm-exporter-jwt")

    svc = one(objs, "Service", "slurm-exporter")
    check(matches(svc["spec"]["selector"], pod_labels), "Service selector does not match the pods")
    sp = {p["name"]: p for p in svc["spec"]["ports"]}
    check("metrics" in sp and sp["metrics"]["port"] == 10341 and sp["metrics"].get("targetPort") in ("metrics", 10341),
          "Service needs port `metrics` 10341 -> container port metrics")

    sm = one(objs, "ServiceMonitor", "slurm-exporter")
    check(matches(sm["spec"]["selector"]["matchLabels"], svc["metadata"].get("labels", {})),
          "ServiceMonitor selector does not match the Service labels")
    check(ns in sm["spec"].get("namespaceSelector", {}).get("matchNames", [ns]),
          "ServiceMonitor namespaceSelector does not include the namespace")
    check(all(e.get("port") in sp for e in sm["spec"]["endpoints"]), "ServiceMonitor endpoint port is not a Service port name")
    check("jobLabel" not in sm["spec"], "no jobLabel: the rules expect job=\"slurm-exporter\" (the Service name)")
    check("release" in sm["metadata"].get("labels", {}), "ServiceMonitor needs the release label kube-prometheus-stack selects on")

    pr = one(objs, "PrometheusRule")
    check("release" in pr.get("metadata", {}).get("labels", {}), "PrometheusRule needs the release label")
    check(pr.get("spec", {}).get("groups"), "PrometheusRule has no groups")

    for name, fname in (("slurm-exporter-dashboard-operations", "grafana-dashboards.json"),
                        ("slurm-exporter-dashboard-cluster", "grafana-dashboard-cluster.json")):
        cm = one(objs, "ConfigMap", name)
        check(cm.get("metadata", {}).get("labels", {}).get("grafana_dashboard") == "1",
              f"ConfigMap {name} needs label grafana_dashboard=\"1\"")
        with open(os.path.join(root, "deploy/monitoring", fname)) as f:
            check(cm.get("data", {}).get(fname) == f.read(), f"ConfigMap {name} does not hold {fname} verbatim")
        size = len(json.dumps(cm))
        check(size < 262144, f"ConfigMap {name} is {size} bytes: kubectl apply's last-applied annotation allows 256 KiB")

    np_ = one(objs, "NetworkPolicy", "slurm-exporter")
    check(matches(np_["spec"]["podSelector"]["matchLabels"], pod_labels), "NetworkPolicy does not select the pods")
    check(set(np_["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}, "NetworkPolicy must restrict ingress and egress")
    ing_ports = [p.get("port") for r in np_["spec"].get("ingress", []) for p in r.get("ports", [])]
    check(ing_ports and all(p in ("metrics", 10341) for p in ing_ports), "NetworkPolicy ingress must allow only the metrics port")

    pdb = one(objs, "PodDisruptionBudget", "slurm-exporter")
    check(matches(pdb["spec"]["selector"]["matchLabels"], pod_labels), "PDB does not select the pods")
    check(pdb["spec"].get("minAvailable") not in (1, "100%") or dep["spec"].get("replicas", 1) > 1,
          "minAvailable 1 with one replica blocks every node drain")

    hpa = one(objs, "HorizontalPodAutoscaler", "slurm-exporter")
    ref = hpa["spec"]["scaleTargetRef"]
    check(ref.get("kind") == "Deployment" and ref.get("name") == dep["metadata"]["name"], "HPA does not target the Deployment")
    targets = {m["resource"]["name"]: m["resource"]["target"].get("averageUtilization")
               for m in hpa["spec"].get("metrics", []) if m.get("type") == "Resource"}
    check(targets == {"cpu": 70, "memory": 80}, f"HPA must target CPU 70 % and memory 80 %, has {targets}")

    check(namespace.get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted",
          "namespace should enforce the restricted Pod Security Standard")

    for e in errors:
        print("ERROR " + e, file=sys.stderr)
    if not errors:
        print(f"ok    {len(objs)} objects fit together (selectors, probes, ports, flags, config, JWT Secret, dashboards)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
