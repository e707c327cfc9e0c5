// Validates every object of rendered Helm output against the Kubernetes, KEDA and Prometheus Operator
// schemas (the npm packages kubernetes-models, @kubernetes-models/keda and
// @kubernetes-models/prometheus-operator, pinned in package-lock.json).
//   node validate.mjs rendered.yaml [more.yaml ...]
// Prints one line per object; exits 1 when one is invalid or of a kind no schema covers.
import { readFileSync } from "node:fs";
import yaml from "js-yaml";

const modules = {
  "v1": "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "autoscaling/v2": "kubernetes-models/autoscaling/v2",
  "keda.sh/v1alpha1": "@kubernetes-models/keda/keda.sh/v1alpha1",
  "monitoring.coreos.com/v1": "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1",
};

let failures = 0;
let objects = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of yaml.loadAll(readFileSync(file, "utf8"))) {
    if (doc == null) {
      continue;
    }
    objects++;
    const what = `${doc.apiVersion} ${doc.kind} ${doc.metadata?.name}`;
    const module = modules[doc.apiVersion];
    const Model = module && (await import(module))[doc.kind];
    if (!Model) {
      console.log(`NO SCHEMA ${what} (${file})`);
      failures++;
      continue;
    }
    try {
      new Model(doc).validate();
      console.log(`ok ${what}`);
    } catch (e) {
      console.log(`INVALID ${what} (${file}): ${e.message}`);
      failures++;
    }
  }
}
console.log(`${objects} objects, ${failures} invalid`);
process.exit(failures === 0 && objects > 0 ? 0 : 1);
