# scone — operator users' conventions. Bun is a pinned devDependency: nothing global is assumed but Node/npm and Go.
BUN        := node_modules/.bin/bun
K8S_LATEST ?= 1.37.2
K8S_OLDEST ?= 1.35.4
export SCONE_K8S_VERSION ?= $(K8S_LATEST)

.PHONY: all deps build test test-unit test-compat test-realnode fuzz lint fmt bench scale demo cluster cluster-down kube-binaries node-binaries s3-binaries helm-binaries prometheus-binaries cosign-binaries chart clean

all: build

node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error   # npm 11 `ci` rejects lock files without every platform's optional biome binary
	@touch $@

deps: node_modules/.installed

build: deps
	$(BUN) run build.ts

# The whole suite against the newest Kubernetes release, the real node's tests (root), then the integration tests
# against N-2. Each file of realnode-isolated/ runs on a real node of its own (a process each): after a pull of
# scone's image from a mirror, the same image imported under the upstream name is not seen by the kubelet
# (containerd/containerd#13243; docs/airgap.md).
test: build kube-binaries s3-binaries helm-binaries prometheus-binaries cosign-binaries node-binaries
	$(BUN) test --timeout 120000
	SCONE_REAL_NODE=1 $(BUN) test --timeout 300000 test/integration/realnode/
	for f in test/integration/realnode-isolated/*.test.ts; do SCONE_REAL_NODE=1 $(BUN) test --timeout 300000 ./$$f || exit 1; done
	SCONE_K8S_VERSION=$(K8S_OLDEST) $(BUN) test --timeout 120000 test/integration

test-unit: deps prometheus-binaries
	SCONE_SKIP_CLUSTER=1 $(BUN) test --timeout 120000 test/unit test/fuzz

# The parser fuzzers (test/fuzz, part of `make test` at a bounded count) run long: FUZZ_RUNS per property.
FUZZ_RUNS ?= 20000
fuzz: deps
	SCONE_SKIP_CLUSTER=1 SCONE_FUZZ_RUNS=$(FUZZ_RUNS) $(BUN) test --timeout 0 test/fuzz

# A real S3 server (versitygw) for the backup tests, built from the Go module proxy and cached like the kube binaries.
s3-binaries:
	bash hack/s3/s3-binaries.sh >/dev/null

# helm v4 for the chart tests (test/integration/helm.test.ts), from the Go module proxy, cached the same way.
helm-binaries:
	bash hack/helm-binaries.sh >/dev/null

# prometheus and promtool for the monitoring tests (promtool check/test rules, a real Prometheus scraping the operator:
# test/unit/metrics, test/integration/monitoring.test.ts), from the Go module proxy, cached the same way.
prometheus-binaries:
	bash hack/prometheus-binaries.sh >/dev/null

# cosign for the image-signature tests (test/integration/images) and `make image COSIGN_KEY=…`, from the Go module
# proxy, cached the same way.
cosign-binaries:
	bash hack/cosign-binaries.sh >/dev/null

# charts/scone-operator, generated from the desired state `scone manifests` prints (docs/helm.md); commit the result.
chart: deps
	$(BUN) run hack/chart/generate.ts

kube-binaries:
	bash hack/kube-binaries.sh $(K8S_LATEST) >/dev/null
	bash hack/kube-binaries.sh $(K8S_OLDEST) >/dev/null

# The real worker node (kubelet, kube-proxy, containerd, runc, CoreDNS, crane) and its Debian packages; root.
node-binaries:
	bash hack/node-deps.sh
	bash hack/node-binaries.sh $(SCONE_K8S_VERSION) >/dev/null

# A cluster with a real node (root, one per machine) and the tests of that node (also run by `make test`).
test-realnode: build node-binaries
	bash hack/kube-binaries.sh $(SCONE_K8S_VERSION) >/dev/null
	SCONE_REAL_NODE=1 $(BUN) test --timeout 300000 test/integration/realnode/
	for f in test/integration/realnode-isolated/*.test.ts; do SCONE_REAL_NODE=1 $(BUN) test --timeout 300000 ./$$f || exit 1; done

lint: deps
	node_modules/.bin/tsc --noEmit
	node_modules/.bin/biome check .
	$(BUN) hack/lint-sim-imports.ts
	$(BUN) hack/lint-test-layout.ts

fmt: deps
	node_modules/.bin/biome check --write .

# scone's OCI image for linux/amd64 and linux/arm64, built without a container engine (hack/image/README.md):
# dist/image/oci and dist/image/scone-<version>.oci.tar; prints the index digest. Reproducible: same commit, same digest.
# The stand-in SCONE CLI (sim/scone-cli, test/demo only) as one binary: the `--scone-cli` path of local tests and the
# program of the CLI pod on the local cluster's real node.
.PHONY: sim-cli
sim-cli: deps
	mkdir -p .build
	# Flags as SIM_CLI_BUILD_FLAGS in hack/image/sconecli-image.ts (lazy chunks from bytecode: a start per call).
	$(BUN) build --compile --splitting --bytecode --format=esm sim/scone-cli/main.ts --outfile .build/scone-cli-sim

# With COSIGN_KEY=cosign.key (and COSIGN_PASSWORD), the layout also carries the image's cosign signature (docs/images.md).
.PHONY: image
image: deps
	$(BUN) run hack/image/build-image.ts

bench: build kube-binaries
	$(BUN) run bench/run.ts

# Issue 18's scale run (not in CI; ≈10+ min): 2,000 CAS on KWOK; prints reconcile rate, operator RSS, API requests
# per reconcile and the time until every CAS has status, then the figures table. SCALE_CAS=N for another count.
SCALE_CAS ?= 2000
scale: build kube-binaries
	SCONE_BENCH_CAS=$(SCALE_CAS) $(BUN) run bench/run.ts cas.ts

# The main job: the compiled binary on an embedded local cluster, the operator in its pod on the real node (root).
# Only the Kubernetes version the demo runs (SCONE_K8S_VERSION) is built: kube-binaries would also build K8S_OLDEST,
# which only `make test` uses (on a fresh machine that is about half of the demo's first run).
demo: build node-binaries
	bash hack/kube-binaries.sh $(SCONE_K8S_VERSION) >/dev/null
	$(BUN) run hack/demo.ts

# SCONE_REAL_NODE=1 make cluster: also a real worker node beside the KWOK nodes (root; README "Local cluster").
cluster: deps
	@bash hack/kube-binaries.sh $(SCONE_K8S_VERSION) >/dev/null
	@if [ "$${SCONE_REAL_NODE:-0}" = 1 ]; then bash hack/node-deps.sh && bash hack/node-binaries.sh $(SCONE_K8S_VERSION) >/dev/null; fi
	@$(BUN) run hack/cluster.ts up

cluster-down: deps
	@$(BUN) run hack/cluster.ts down

clean:
	rm -rf dist
