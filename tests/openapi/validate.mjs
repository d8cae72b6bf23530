#!/usr/bin/env node
// Validates docs/openapi.json (or the file named on the command line) with
// @seriousme/openapi-schema-validator, pinned in the repository's
// package.json: the document against the OpenAPI 3.1 JSON schema, every
// $ref resolved, then what the schema cannot say: unique operationIds and
// every {placeholder} of a path declared as a path parameter (and no other).
// Exit 0 only when all of it holds. Run by ctest as `openapi_validate`.
//
// The validator comes from node_modules at the repository root (`npm ci`,
// which deploy/test.sh runs). Without it this fails: it never passes
// unchecked.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const file = resolve(process.argv[2] ?? resolve(here, "../../docs/openapi.json"));

function fail(lines) {
  for (const l of [].concat(lines)) console.error(`openapi_validate: ${l}`);
  process.exit(1);
}

let Validator;
try {
  ({ Validator } = await import("@seriousme/openapi-schema-validator"));
} catch (e) {
  fail([
    "cannot load @seriousme/openapi-schema-validator " + `(${e.code ?? e.message}).`,
    "Install the pinned dev packages: `npm ci --ignore-scripts` in the " +
      "repository root (deploy/test.sh does).",
  ]);
}

let spec;
try {
  spec = JSON.parse(readFileSync(file, "utf8"));
} catch (e) {
  fail(`${file}: ${e.message}`);
}

const validator = new Validator();
const res = await validator.validate(spec);
if (!res.valid)
  fail([`${file} does not match the OpenAPI schema:`,
        JSON.stringify(res.errors, null, 2)]);
if (validator.version !== "3.1")
  fail(`${file}: OpenAPI ${validator.version}, expected 3.1`);
try {
  validator.resolveRefs();
} catch (e) {
  fail(`${file}: ${e.message}`);
}

const problems = [];
const seen = new Map();
const methods = ["get", "put", "post", "delete", "options", "head", "patch",
                 "trace"];
for (const [path, item] of Object.entries(spec.paths ?? {})) {
  const wanted = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  for (const method of methods) {
    const op = item[method];
    if (!op) continue;
    const where = `${method.toUpperCase()} ${path}`;
    if (!op.operationId) problems.push(`${where}: no operationId`);
    else if (seen.has(op.operationId))
      problems.push(`${where}: operationId ${op.operationId} is also ` +
                    `${seen.get(op.operationId)}'s`);
    else seen.set(op.operationId, where);
    const declared = [...(item.parameters ?? []), ...(op.parameters ?? [])]
      .map((p) => (p.$ref ? spec.components.parameters[p.$ref.split("/").pop()] : p))
      .filter((p) => p && p.in === "path")
      .map((p) => p.name);
    for (const w of wanted)
      if (!declared.includes(w)) problems.push(`${where}: {${w}} is not declared`);
    for (const d of declared)
      if (!wanted.includes(d)) problems.push(`${where}: path parameter ${d} is not in the path`);
  }
}
if (problems.length) fail(problems);
console.log(`openapi_validate: ${file} is valid OpenAPI ${validator.version} ` +
            `(${seen.size} operations)`);
