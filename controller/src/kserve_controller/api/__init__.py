"""Pydantic models of our CRDs: the one source of truth the CRD schemas are generated from.

Nothing here talks to a cluster. Import the modules: `inferenceservice.InferenceService`,
`servingruntime.ServingRuntime`, `conditions.Condition` ...
"""
