"""Manifests rendered from what a team ships: a kustomization directory (:mod:`.kustomize`, through
the ``kubectl kustomize`` of the kubectl pytest-pods builds) and a Helm chart (:mod:`.helm`, through
Helm v4 built from the Go module proxy). Pure of pytest and of the cluster: each takes a directory,
checks offline what would need the network, runs the real tool, and returns YAML text or raises an
error that names the file and the tool's own words. :mod:`.tools` finds and builds the binaries."""
