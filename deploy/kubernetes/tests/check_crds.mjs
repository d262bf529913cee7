// Validates the Prometheus Operator objects (ServiceMonitor, PrometheusRule) of the
// kustomize output against the operator's API types, as packaged on npm by
// @kubernetes-models/prometheus-operator (generated from the operator's Go API, the same
// source its CRD schemas are generated from):
//   1. the package's JSON-schema validators (types, required fields, patterns such as
//      durations), run on each object;
//   2. TypeScript's excess-property check: every object is written out as a typed object
//      literal and `tsc --noEmit` rejects unknown or misspelt fields at any depth (the
//      validators alone accept them).
// Usage: node check_crds.mjs OBJECTS.json   (a JSON array of objects), run from a copy of this
// file in a directory where package.json of this folder was npm-installed.
import { readFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { ServiceMonitor, PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const [objectsPath] = process.argv.slice(2);
const here = dirname(fileURLToPath(import.meta.url));
const objects = JSON.parse(readFileSync(objectsPath, "utf8"));
const models = { ServiceMonitor, PrometheusRule };
const types = {
  ServiceMonitor: ["IServiceMonitor", "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor"],
  PrometheusRule: ["IPrometheusRule", "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule"],
};
let errors = 0;
const ts = [];
const seen = new Set();
for (const [i, obj] of objects.entries()) {
  const Model = models[obj.kind];
  if (!Model || obj.apiVersion !== "monitoring.coreos.com/v1") continue;
  const name = `${obj.kind}/${obj.metadata?.name}`;
  try {
    new Model(obj).validate();
    console.log(`ok    ${name}: schema`);
  } catch (e) {
    console.error(`ERROR ${name}: ${e.message}`);
    errors++;
  }
  const [iface, mod] = types[obj.kind];
  if (!seen.has(iface)) {
    ts.push(`import type { ${iface} } from "${mod}";`);
    seen.add(iface);
  }
  ts.push(`// ${name}\nexport const o${i}: ${iface} = ${JSON.stringify(obj, null, 2)};`);
}
if (seen.size === 0) {
  console.error("ERROR no ServiceMonitor or PrometheusRule found");
  process.exit(1);
}
const file = join(here, "crds.ts");
writeFileSync(file, ts.join("\n") + "\n");
const tsc = join(here, "node_modules", "typescript", "bin", "tsc");
try {
  execFileSync(process.execPath, [tsc, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext",
    "--skipLibCheck", "--typeRoots", "[]", file], { stdio: "inherit" });
  console.log("ok    every field is a known field of its type (tsc)");
} catch {
  console.error(`ERROR tsc rejected ${file} (unknown or mistyped fields above)`);
  errors++;
}
process.exit(errors ? 1 : 0);
