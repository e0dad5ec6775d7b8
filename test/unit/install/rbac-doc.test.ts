// docs/RBAC.md is generated from the installed roles (hack/rbac-doc.ts): a rule added, removed or re-explained in
// src/install/rbac.ts without regenerating the document fails here. Regenerate with `bun hack/rbac-doc.ts`.
import { expect, test } from "bun:test";
import { RBAC_DOC, rbacMarkdown } from "../../../hack/rbac-doc.ts";
import { describeRoles } from "../../../src/install/rbac.ts";

test("the committed docs/RBAC.md is the generated text", async () => {
  expect(await Bun.file(RBAC_DOC).text()).toBe(rbacMarkdown());
});

test("the document lists every rule of every installed role", () => {
  const doc = rbacMarkdown();
  for (const role of describeRoles("scone-system")) {
    expect(doc).toContain(`## ${role.kind} \`${role.name}\``);
    for (const r of role.rules) expect(doc).toContain(r.why.replaceAll("|", "\\|"));
  }
});
