// Validates AsyncAPI documents with the AsyncAPI initiative's own parser (the one its CLI and
// Studio use): the schema of the spec version, the bindings, and its semantic rules.
// node tools/asyncapi/validate.mjs FILE...   exits 1 on any error (warnings are
// printed too; hints and infos, such as a newer AsyncAPI version existing, are not).
// One rule is checked here besides: AsyncAPI 3 requires a channel's `parameters` to declare
// every {expression} of its address, which the parser checks only when `parameters` exists.
import { readFile } from "node:fs/promises";
import { Parser, fromFile } from "@asyncapi/parser";

const parser = new Parser();
const severities = ["error", "warning", "info", "hint"];
let failed = false;
for (const path of process.argv.slice(2)) {
  const { document, diagnostics } = await fromFile(parser, path).parse();
  for (const d of diagnostics.filter((d) => d.severity <= 1)) {
    const where = (d.path || []).join("/");
    console.log(`${path}: ${severities[d.severity]} ${d.code}: ${d.message} (${where})`);
  }
  const errors = diagnostics.filter((d) => d.severity === 0);
  const raw = JSON.parse(await readFile(path, "utf8"));
  for (const [name, channel] of Object.entries(raw.channels || {})) {
    for (const [, expression] of (channel.address || "").matchAll(/{([^}]+)}/g)) {
      if (!(channel.parameters && expression in channel.parameters)) {
        console.log(`${path}: error channel-parameters: ${expression} of ${name}'s address is not in its parameters`);
        errors.push(expression);
      }
    }
  }
  if (document === undefined || errors.length > 0) {
    failed = true;
  } else {
    console.log(`${path}: valid AsyncAPI ${document.version()}`);
  }
}
process.exit(failed ? 1 : 0);
