"""Least privilege, measured: which of the kserve chart's RBAC grants the controller used in the
integration and e2e runs, read from the kube-apiserver's audit log (devcluster/audit.py).

`make rbac-audit` (after `make test-integration` and `make e2e`) writes the report and fails on
a grant nothing used, unless `grants.RARE` names the path that needs it.
"""
