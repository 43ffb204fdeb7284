// Validates AsyncAPI documents with the AsyncAPI initiative's own parser (the one its CLI and
// Studio use): the schema of the spec version, the bindings, and its semantic rules.
// node tools/asyncapi/validate.mjs FILE...   exits 1 on any error (warnings are printed too).
import { Parser, fromFile } from "@asyncapi/parser";

const parser = new Parser();
const severities = ["error", "warning", "info", "hint"];
let failed = false;
for (const path of process.argv.slice(2)) {
  const { document, diagnostics } = await fromFile(parser, path).parse();
  for (const d of diagnostics) {
    const where = (d.path || []).join("/");
    console.log(`${path}: ${severities[d.severity]} ${d.code}: ${d.message} (${where})`);
  }
  const errors = diagnostics.filter((d) => d.severity === 0);
  if (document === undefined || errors.length > 0) {
    failed = true;
  } else {
    console.log(`${path}: valid AsyncAPI ${document.version()}`);
  }
}
process.exit(failed ? 1 : 0);
