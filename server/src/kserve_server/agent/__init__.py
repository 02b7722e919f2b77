"""The agent sidecar: an aiohttp proxy in front of a container we do not run (custom predictors,
transformers, explainers) with upstream's payload logger and batcher (`python -m
kserve_server.agent`, upstream agent's flags)."""
