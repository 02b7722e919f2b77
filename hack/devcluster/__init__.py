"""The project's one dev control plane: certificates (pki), etcd + kube-apiserver and, for a
cluster's node, kube-controller-manager + kube-scheduler (controlplane), from the pinned builds
in bin/. The integration tests' fixture (tests/integration/kubeapi.py) and `make generate` (the
pinned apiserver's OpenAPI) run it on loopback; `make cluster-up` adds the node (node, addons;
cluster.py), `make cluster-down` removes it all (teardown).
"""
