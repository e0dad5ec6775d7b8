// The end state `make demo` promises, as hack/demo.ts checks it before it reports success.
import { describe, expect, test } from "bun:test";
import { endStateProblems } from "../../../hack/demo.ts";

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
