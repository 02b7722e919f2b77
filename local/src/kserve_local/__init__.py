"""Serve InferenceService YAML on this machine without a cluster."""

__version__ = "0.1.0"
