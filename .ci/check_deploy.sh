#!/usr/bin/env bash
# The deployment files, offline: render every Kubernetes kustomization, validate each object
# against the Kubernetes API schema (strict: unknown fields are errors), check the suite's
# invariants (.ci/check_deploy.py), and validate deploy/compose.yaml. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.ci/.tools
k8s_version=1.30.0                  # the API the manifests must be valid for
validator=kubernetes-validate==1.37.0 # pinned: its bundled schemas decide what passes

apt_install() {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
# Any kubectl with kustomize renders these (they stay within kustomize v2.0.3, Debian's).
command -v kubectl >/dev/null || apt_install kubernetes-client
# Compose v1.29 validates a file without a Docker engine.
command -v docker-compose >/dev/null || apt_install docker-compose
[ -x "$tools/venv/bin/python" ] || python3 -m venv "$tools/venv"
if ! "$tools/venv/bin/pip" show kubernetes-validate 2>/dev/null | grep -qx "Version: ${validator#*==}"; then
  "$tools/venv/bin/pip" install --quiet "$validator"
fi
python="$tools/venv/bin/python"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The overlays read secrets that operators provide and git ignores: render a copy in which
# stand-ins take the place of those missing here.
cp -r deploy/kubernetes "$work/kubernetes"
"$python" .ci/check_deploy.py stand-ins "$work/kubernetes"

rendered=()
for dir in base overlays/dev overlays/prod; do
  name=${dir#overlays/}
  if ! kubectl kustomize "$work/kubernetes/$dir" >"$work/$name.yaml" 2>"$work/$name.err"; then
    echo "kubectl kustomize deploy/kubernetes/$dir failed:" >&2
    cat "$work/$name.err" >&2
    exit 1
  fi
  # kustomize v5 warns that `bases` and `patchesStrategicMerge` are deprecated: they are kept
  # for v2. Anything else it says is shown.
  grep -v "is deprecated" "$work/$name.err" >&2 || true
  # The validator only warns about kinds it has no schema for (a misspelt apiVersion): fail on those too.
  if ! "$tools/venv/bin/kubernetes-validate" --strict -k "$k8s_version" --quiet "$work/$name.yaml" \
      >"$work/$name.validate" 2>&1 || grep -q . "$work/$name.validate"; then
    echo "deploy/kubernetes/$dir does not validate against Kubernetes $k8s_version:" >&2
    cat "$work/$name.validate" >&2
    exit 1
  fi
  rendered+=("$name=$work/$name.yaml")
done
echo "kubernetes: every object valid against Kubernetes $k8s_version (strict)"
"$python" .ci/check_deploy.py k8s "${rendered[@]}"

# A stand-in secret: the file requires GOVMEDIA_JWT_SECRET to be set.
if ! GOVMEDIA_JWT_SECRET=check-deploy-stand-in docker-compose -f deploy/compose.yaml config >"$work/compose.yaml"; then
  echo "deploy/compose.yaml is not a valid compose file" >&2
  exit 1
fi
if env -u GOVMEDIA_JWT_SECRET docker-compose -f deploy/compose.yaml config -q 2>/dev/null; then
  echo "deploy/compose.yaml starts without GOVMEDIA_JWT_SECRET; it must refuse" >&2
  exit 1
fi
"$python" .ci/check_deploy.py compose "$work/compose.yaml"
echo "deploy: all checks passed"
