// The standard outputs against their official validators: CycloneDX 1.6
// against the JSON schema the CycloneDX project ships (npm
// @cyclonedx/cyclonedx-library, validated with ajv), SPDX 2.3 through the
// SPDX project's own validator (PyPI spdx-tools, installed by set-up). The
// documents come from `fineprint check` and `fineprint audit` on the
// real model folders, and from the page's download buttons.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { ROOT, SAMPLE, startServer, launch, openPage, chooseFolder } from "./harness.mjs";

const require = createRequire(import.meta.url);
const CLI = ["release", "debug"].map((p) => join(ROOT, "target", p, "fineprint")).find(existsSync);
const PYLIB = join(ROOT, ".tools/python");
const schemaDir = join(dirname(require.resolve("@cyclonedx/cyclonedx-library/package.json")), "res/schema");
const load = (name) => JSON.parse(readFileSync(join(schemaDir, name), "utf8"));

function cli(...args) {
  if (!CLI) throw new Error("no fineprint binary: run cargo build -p fineprint-cli");
  // Exit code 3/4 (a use gate) is not an error here; no --use is given.
  return JSON.parse(execFileSync(CLI, args, { stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 << 20 }).toString());
}

const folders = ["sample/SmolLM2-135M-Instruct", "sample/gemma-3-270m"].map((f) => join(ROOT, f));
// Derivatives: their bases go into CycloneDX's pedigree and SPDX's relationships.
const derivatives = ["llama3.2-grpo-declared-apache", "mergekit-phi3-slerp", "llama3.1-fp8-requant-meta-name"]
  .map((c) => join(ROOT, "crates/license/tests/lineage", c));

function cyclonedxValidator() {
  // ajv-formats has no IRI or internationalised e-mail checks; those fields are not written.
  const ajv = new Ajv({ strict: false, allErrors: true, formats: { "iri-reference": true, "idn-email": true } });
  addFormats(ajv);
  // The BOM schema refers to these by name beside its own $id.
  for (const name of ["spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"]) {
    ajv.addSchema({ ...load(name), $id: `http://cyclonedx.org/schema/${name}` });
  }
  return ajv.compile(load("bom-1.6.SNAPSHOT.schema.json"));
}

/// The SPDX project's validator's messages for each document (none: valid).
function spdxMessages(docs) {
  if (!existsSync(join(PYLIB, "spdx_tools"))) throw new Error("spdx-tools is missing: run scripts/setup.sh");
  const dir = mkdtempSync(join(tmpdir(), "fineprint-spdx-"));
  docs.forEach((d, i) => writeFileSync(join(dir, `doc${i}.spdx.json`), JSON.stringify(d)));
  const script = `
import glob, json, sys
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
out = {}
for f in sorted(glob.glob(sys.argv[1] + "/*.spdx.json")):
    out[f] = [m.validation_message for m in validate_full_spdx_document(parse_file(f))]
print(json.dumps(out))`;
  return JSON.parse(execFileSync("python3", ["-c", script, dir], { env: { ...process.env, PYTHONPATH: PYLIB } }).toString());
}

test("CycloneDX 1.6 from check and audit validates against the official schema", () => {
  const validate = cyclonedxValidator();
  const boms = [...folders.map((f) => cli("check", f, "--format", "cyclonedx")), cli("audit", "--format", "cyclonedx", join(ROOT, "sample"))];
  const lineage = derivatives.map((f) => cli("check", f, "--format", "cyclonedx"));
  for (const bom of [...boms, ...lineage]) {
    assert.ok(validate(bom), JSON.stringify(validate.errors, null, 1));
    for (const c of bom.components) assert.equal(c.type, "machine-learning-model");
  }
  // The sample is Apache-2.0 by id; Gemma's terms are a named license with their text.
  assert.equal(boms[0].components[0].licenses[0].license.id, "Apache-2.0");
  assert.match(boms[1].components[0].licenses[0].license.name, /Gemma/);
  assert.ok(boms[1].components[0].licenses[0].license.text.content.length > 20);
  assert.ok(boms[2].components.length >= 3, "audit: one component per model folder");
  const ancestors = lineage[0].components[0].pedigree.ancestors;
  assert.equal(ancestors[0].purl, "pkg:huggingface/meta-llama/Llama-3.2-3B-Instruct");
  assert.equal(lineage[1].components[0].pedigree.ancestors.length, 2, "a merge has both bases");
  assert.ok(lineage[0].components[0].modelCard.properties.some((p) => p.name === "fineprint:openness:mof_class"));
});

test("SPDX 2.3 from check and audit passes the SPDX project's validator", () => {
  const docs = [...folders.map((f) => cli("check", f, "--format", "spdx")), cli("audit", "--format", "spdx", join(ROOT, "sample"))];
  const lineage = derivatives.map((f) => cli("check", f, "--format", "spdx"));
  const result = spdxMessages([...docs, ...lineage]);
  for (const [file, messages] of Object.entries(result)) assert.deepEqual(messages, [], file);
  assert.equal(docs[0].packages[0].licenseConcluded, "Apache-2.0");
  assert.match(docs[1].packages[0].licenseConcluded, /^LicenseRef-/);
  const rel = (d, kind) => d.relationships.filter((r) => r.relationshipType === kind).length;
  assert.equal(rel(lineage[0], "DESCENDANT_OF"), 1);
  assert.equal(rel(lineage[1], "DESCENDANT_OF"), 2);
  assert.equal(rel(lineage[2], "VARIANT_OF"), 1, "an FP8 quantization is a variant of its base");
});

test("the page's CycloneDX and SPDX downloads are valid too", async () => {
  const srv = await startServer();
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser.context, srv.url);
    await chooseFolder(page, SAMPLE);
    await page.waitForSelector("[data-testid=report]");
    const fetchDownload = async (button) => {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click(button)]);
      return JSON.parse(readFileSync(await download.path(), "utf8"));
    };
    const bom = await fetchDownload("#download-cyclonedx");
    const validate = cyclonedxValidator();
    assert.ok(validate(bom), JSON.stringify(validate.errors, null, 1));
    assert.equal(bom.components[0].name, "SmolLM2-135M-Instruct.Q4_1.gguf");
    assert.equal(bom.components[0].licenses[0].license.id, "Apache-2.0");
    const doc = await fetchDownload("#download-spdx");
    assert.deepEqual(Object.values(spdxMessages([doc]))[0], []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    srv.stop();
  }
});
