// The end state `make demo` promises, as hack/demo.ts checks it before it reports success.
import { describe, expect, test } from "bun:test";
import { cliPodProblems, endStateProblems, operatorPodProblems } from "../../../hack/demo.ts";

const healthy = {
  cas: { state: "HEALTHY", provisioned: "Yes", attestable: "Yes" },
  las: { state: "HEALTHY" },
  sgxplugin: { state: "HEALTHY" },
};

describe("the demo's end state", () => {
  test("everything HEALTHY, the CAS provisioned and attestable: no problem", () => {
    expect(endStateProblems(healthy)).toEqual([]);
  });

  test("each miss is named with the field, what it is and what it should be", () => {
    expect(
      endStateProblems({
        cas: { state: "UNHEALTHY", provisioned: "No" },
        las: {},
        sgxplugin: { state: "HEALTHY" },
      }),
    ).toEqual([
      'CAS scone-system/cas: status.state is "UNHEALTHY", want HEALTHY',
      'CAS scone-system/cas: status.provisioned is "No", want Yes',
      "CAS scone-system/cas: status.attestable is null, want Yes",
      "LAS las: status.state is null, want HEALTHY",
    ]);
  });
});

describe("the demo's operator pod", () => {
  const node = "scone-real-node";

  test("Ready on the real node: no problem", () => {
    expect(operatorPodProblems([{ name: "op-1", node, ready: true }], node)).toEqual([]);
  });

  test("missing, elsewhere or not Ready: each named", () => {
    expect(operatorPodProblems([], node)).toEqual(["no operator pod in scone-system"]);
    expect(
      operatorPodProblems(
        [
          { name: "op-1", node: "sgx-node-1", ready: true },
          { name: "op-2", node, ready: false },
        ],
        node,
      ),
    ).toEqual(["operator pod op-1 runs on sgx-node-1, want scone-real-node", "operator pod op-2 is not Ready"]);
  });
});

describe("the demo's CAS sconecli pod", () => {
  const node = "scone-real-node";

  test("Ready on the real node: no problem; missing, on a KWOK node or not Ready: each named", () => {
    expect(cliPodProblems([{ name: "cas-sconecli-a", node, ready: true }], node)).toEqual([]);
    expect(cliPodProblems([], node)).toEqual(["no sconecli pod of CAS scone-system/cas"]);
    expect(
      cliPodProblems(
        [
          { name: "cas-sconecli-a", node: "sgx-node-1", ready: true },
          { name: "cas-sconecli-b", node, ready: false },
        ],
        node,
      ),
    ).toEqual([
      "sconecli pod cas-sconecli-a runs on sgx-node-1, want scone-real-node",
      "sconecli pod cas-sconecli-b is not Ready",
    ]);
  });
});
