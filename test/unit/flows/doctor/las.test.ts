import { describe, expect, test } from "bun:test";
import type { V1Pod } from "@kubernetes/client-node";
import { classifyLasError, lasFindings, lasPodFinding } from "../../../../src/flows/doctor/checks/las.ts";

const pod = (status: V1Pod["status"]): V1Pod => ({
  metadata: { name: "las-abc", namespace: "scone-system" },
  spec: { nodeName: "sgx-1", containers: [] },
  status,
});

describe("LAS device errors", () => {
  test("permission denied on the enclave device, in the runtime's and the container runtime's words", () => {
    expect(classifyLasError("[SCONE|ERROR] open(/dev/sgx_enclave): Permission denied")).toBe("device-permission");
    expect(classifyLasError("Could not create enclave: Error opening SGX device")).toBe("device-permission");
    expect(classifyLasError("EACCES while opening /dev/sgx/enclave")).toBe("device-permission");
  });
  test("a missing device is told apart", () => {
    expect(
      classifyLasError(
        'failed to generate container "x" spec: failed to apply OCI options: error gathering device information while adding custom device "/dev/sgx_enclave": no such file or directory',
      ),
    ).toBe("device-missing");
    expect(classifyLasError("LAS started")).toBe("other");
  });
  test("a crash-looping LAS pod whose last run ended on the permission error fails with the chmod fix", () => {
    const f = lasPodFinding({
      pod: pod({
        phase: "Running",
        conditions: [{ type: "Ready", status: "False" }],
        containerStatuses: [
          {
            name: "las",
            image: "las",
            imageID: "",
            ready: false,
            restartCount: 4,
            state: {
              waiting: { reason: "CrashLoopBackOff", message: "back-off 1m20s restarting failed container=las" },
            },
            lastState: {
              terminated: {
                exitCode: 1,
                reason: "Error",
                message: "[SCONE|FATAL] cannot open /dev/sgx_enclave: Permission denied",
              },
            },
          },
        ],
      }),
      events: [],
      logTail: "",
    });
    expect(f.status).toBe("fail");
    expect(f.check).toBe("las node sgx-1");
    expect(f.fix).toContain("0666");
  });
  test("the error may be only in the log tail", () => {
    const f = lasPodFinding({
      pod: pod({ phase: "Running" }),
      events: [],
      logTail: "line 1\n[SCONE|ERROR] /dev/sgx_enclave: Permission denied\nline 3",
    });
    expect(f.message).toContain("/dev/sgx_enclave: Permission denied");
    expect(f.message).not.toContain("line 3");
  });
  test("a Ready pod is ok; no LAS at all fails", () => {
    expect(
      lasPodFinding({
        pod: pod({ phase: "Running", conditions: [{ type: "Ready", status: "True" }] }),
        events: [],
        logTail: "",
      }).status,
    ).toBe("ok");
    expect(lasFindings([], [])[0]?.status).toBe("fail");
  });
});
