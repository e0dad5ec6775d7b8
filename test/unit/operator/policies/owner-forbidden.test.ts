// The operator may read Secrets only in namespaces where it is granted them (docs/RBAC.md): a CAS owner Secret in
// any other namespace answers 403, and the policy's status then names the RoleBinding that grants them.
import { expect, test } from "bun:test";
import type { KubeClient } from "../../../../src/kube/client.ts";
import { ForbiddenError } from "../../../../src/kube/errors.ts";
import { ownerIdentitySource } from "../../../../src/operator/policies/owner.ts";

test("a Secret the operator may not read: the error names the namespace and the kubectl command that grants it", async () => {
  const client = {
    tryGet: async () => {
      throw new ForbiddenError(
        { code: 403, reason: "Forbidden", message: "secrets is forbidden" },
        { method: "GET", path: "/api/v1/namespaces/team-a/secrets/scone-owner-cas" },
      );
    },
  } as unknown as KubeClient;
  const lookup = ownerIdentitySource(client, { operatorNamespace: "scone-ops" });
  const err = await lookup("https://cas.team-a:8081").catch((e: unknown) => e as Error);
  expect(err).toBeInstanceOf(Error);
  expect((err as Error).message).toBe(
    "the operator may not use Secrets in namespace team-a; grant them there with: kubectl create rolebinding " +
      "scone-manager-namespace-rolebinding -n team-a --clusterrole=scone-manager-namespace-role-scone-ops " +
      "--serviceaccount=scone-ops:scone-controller-manager",
  );
});
