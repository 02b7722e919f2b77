# One entry point for every task. Targets not built yet fail with "not built yet".
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
VENV := .venv
export PATH := $(CURDIR)/bin:$(CURDIR)/$(VENV)/bin:$(PATH)
PYTEST := $(VENV)/bin/pytest

define not_built
	@echo "make $@: not built yet ($(1))" >&2; exit 2
endef

.PHONY: help venv serve test test-unit test-integration e2e lint generate tools images bench bench-controller bench-first-answer bench-cold-start cluster-up cluster-down test-charts lint-charts test-storage test-server-integration

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

venv: $(VENV)/.stamp ## the Python venv with all three deliverables and dev tools
$(VENV)/.stamp: hack/venv.sh hack/versions.env hack/requirements-dev.txt pyproject.toml server/pyproject.toml controller/pyproject.toml local/pyproject.toml
	bash hack/venv.sh

# The tutorial's two InferenceService files, byte for byte; their storageUris are mapped onto
# models trained here (examples/train.py), so `make serve` needs no network beyond installs.
EXAMPLE_MODELS := build/example-models
SERVE_PORT ?= 8080
SERVE_ARGS := examples/inference-service.yml examples/intent-classifier-kserve.yml --port $(SERVE_PORT) \
  --storage-map gs://kfserving-examples/models/sklearn/1.0/model=$(CURDIR)/$(EXAMPLE_MODELS)/sklearn-iris \
  --storage-map https://github.com/tagore8661/intent-classifier-mlops/releases/download/v1.0/intent_model.pkl=$(CURDIR)/$(EXAMPLE_MODELS)/intent-classifier/intent_model.pkl

serve: venv $(EXAMPLE_MODELS)/.stamp ## serve the tutorial's two models on 127.0.0.1:8080, no cluster
	$(VENV)/bin/kserve-local serve $(SERVE_ARGS)

$(EXAMPLE_MODELS)/.stamp: examples/train.py examples/data/intents.csv $(VENV)/.stamp
	$(VENV)/bin/python examples/train.py --out $(EXAMPLE_MODELS)
	touch $@

# rbac-audit last: it reads the apiserver audit logs test-integration and e2e write (no cluster of its own).
test: test-unit test-charts test-storage test-server-integration test-tensorflow test-huggingface test-integration test-images test-cluster e2e ## every test suite: unit, integration, images, cluster smoke, e2e on a real local cluster; then the RBAC audit of their logs
	$(MAKE) --no-print-directory rbac-audit

test-unit: venv ## unit tests: no cluster, no network beyond loopback
	$(PYTEST) tests/unit

test-server-integration: venv ## model server vs the upstream kserve SDK client (own venv in the cache dir)
	$(PYTEST) tests/integration/server

.PHONY: test-tensorflow
test-tensorflow: ## TensorFlow runtime: unit + TF Serving clients, in TensorFlow's own cached venv
	py=$$(bash hack/tensorflow-venv.sh); PYTHONPATH=$(CURDIR)/server/src $$py -m pytest -p no:cacheprovider tests/tensorflow

.PHONY: test-huggingface
test-huggingface: ## Hugging Face runtime + OpenAI-compatible API (openai client, curl), in torch's own cached venv
	py=$$(bash hack/torch-venv.sh); PYTHONPATH=$(CURDIR)/server/src:$(CURDIR) $$py -m pytest -p no:cacheprovider tests/huggingface

test-storage: venv ## storage initializer against real S3 (moto), GCS emulator, http(s) on loopback
	$(PYTEST) tests/integration/storage

test-integration: tools venv ## tests on the real kube-apiserver + etcd (storage, server: own targets)
	$(PYTEST) tests/integration --ignore=tests/integration/storage --ignore=tests/integration/server

e2e: venv ## the tutorial on a real cluster: tools, images, cluster up, tests, the fault suite's short form, cluster down (KUBECONFIG=...: that cluster)
	bash hack/e2e.sh

.PHONY: chaos
chaos: venv ## the fault suite (tests/chaos) on a real cluster, results in bench/results/chaos-<time>.md (KUBECONFIG=...: that cluster; CHAOS_SCENARIOS="5 8": only those)
	E2E_SUITES=chaos bash hack/e2e.sh

.PHONY: rbac-audit
rbac-audit: venv ## the controller's RBAC grants vs what it used in test-integration and e2e (audit logs; part of make test); fails on an unused grant
	bash hack/tools.sh helm
	PYTHONPATH=hack $(VENV)/bin/python -m rbacaudit

lint: venv lint-charts ## ruff, mypy, import-linter, helm lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

generate: venv tools ## CRD templates from the pydantic models + the pinned apiserver's OpenAPI; kserve-local's runtimes from the chart; the server's gRPC stubs
	PYTHONPATH=hack $(VENV)/bin/python -m codegen

test-charts: ## helm lint --strict and helm-unittest suites of both charts
	bash hack/tools.sh helm
	helm lint --strict charts/kserve-crd charts/kserve
	helm unittest charts/kserve-crd charts/kserve

lint-charts: ## helm lint --strict on both charts
	bash hack/tools.sh helm
	helm lint --strict charts/kserve-crd charts/kserve

tools: ## pinned helm, helm-unittest, kubectl, etcd, kube-apiserver into bin/
	bash hack/tools.sh

images: venv ## container images and the local registry (127.0.0.1:5000), built offline
	bash hack/images/build.sh

.PHONY: test-images
test-images: images ## each image runs as non-root under Docker; the registry lists them all
	$(PYTEST) tests/images

bench-cold-start: venv ## cold start from zero through the activator, p50 of 10 (COLD_START_TRIALS), on its own cluster with KEDA; results in bench/results/cold-start-<time>.md
	CLUSTER_AUTOSCALING=1 E2E_SUITES=cold-start bash hack/e2e.sh

bench-first-answer: venv ## kubectl apply -> first answer of 10 InferenceServices, in phases, on its own cluster; results in bench/results/first-answer-<time>.md
	E2E_SUITES=first-answer bash hack/e2e.sh

SCALE ?= 1000
bench-controller: venv tools ## the controller with SCALE isvcs (1,000) in SCALE/100 namespaces on the loopback apiserver (BENCH_QUICK=1: 100)
	$(VENV)/bin/python tests/bench/controller/bench_controller.py $$([ -n "$${BENCH_QUICK:-}" ] && echo --count 100 --idle-seconds 30 --sequential 10 || echo --count $(SCALE))

bench: venv ## our server vs upstream KServe, MLServer, bare aiohttp (BENCH_QUICK=1: smoke)
	bash hack/bench/peers.sh >/dev/null   # wrk, which the harness's own tests use
	$(PYTEST) tests/bench
	bash hack/bench/run.sh
	$(MAKE) bench-llm

.PHONY: bench-llm
bench-llm: ## the Hugging Face runtime's OpenAI API vs transformers' generate: tokens/s, time to first token, start->ready (BENCH_QUICK=1: smoke)
	py=$$(bash hack/torch-venv.sh); PYTHONPATH=$(CURDIR)/server/src:$(CURDIR) $$py -m bench.llm_cell

cluster-up: images ## a one-node cluster on this machine; kubeconfig: `bash hack/cluster/up.sh kubeconfig`
	bash hack/cluster/up.sh

cluster-down: ## remove everything cluster-up made, then check that nothing is left
	bash hack/cluster/down.sh
	bash hack/cluster/down.sh check

.PHONY: kind-image kind-up kind-down
kind-image: images ## kind's node image for our Kubernetes, built here with no registry (hack/kind/image.sh)
	bash hack/kind/image.sh

kind-up: images ## kind create cluster --name=mlops-kserve-demo (2 nodes, our node image), our images loaded; kubeconfig: `bash hack/kind/up.sh kubeconfig`
	bash hack/kind/up.sh up

kind-down: ## kind delete cluster --name=mlops-kserve-demo
	bash hack/kind/up.sh down

.PHONY: test-cluster
test-cluster: venv images ## smoke test on a fresh local cluster (pod, Service by DNS, port-forward), then down (CLUSTER_AUTOSCALING=1: with KEDA + Prometheus)
	bash hack/cluster/up.sh >/dev/null
	rc=0; $(PYTEST) tests/cluster $(if $(filter 1,$(CLUSTER_AUTOSCALING)),,--ignore=tests/cluster/test_autoscaling.py) || rc=$$?; bash hack/cluster/down.sh; bash hack/cluster/down.sh check; exit $$rc
