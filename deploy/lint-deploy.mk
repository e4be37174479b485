# Offline checks of deploy/: included by the top-level Makefile (`include deploy/lint-deploy.mk`).
# The test suite (tests/deploy) runs the same checks and more (metric references, coverage of alerts).
VENV ?= .venv
PROMTOOL ?= promtool
K8S_MANIFESTS := $(filter-out deploy/kubernetes/kustomization.yaml,$(wildcard deploy/kubernetes/*.yaml))

lint-deploy: venv ## validate deploy/: Dockerfile, Compose, Kubernetes, Prometheus rules and their tests, dashboard
	@command -v $(PROMTOOL) >/dev/null || { echo "lint-deploy: promtool missing: apt-get install prometheus" >&2; exit 1; }
	$(VENV)/bin/hadolint --failure-threshold info deploy/Dockerfile
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml
	$(VENV)/bin/kubernetes-validate --strict --quiet $(K8S_MANIFESTS)
	$(PROMTOOL) check config deploy/prometheus/prometheus.yml
	$(PROMTOOL) check rules deploy/prometheus/rules.yml
	$(PROMTOOL) test rules deploy/prometheus/rules.test.yml deploy/prometheus/rules.long.test.yml

.PHONY: lint-deploy
