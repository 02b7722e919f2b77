"""Payload logging (CloudEvents to a sink, or objects in a bucket) and request batching, shared
by the model server (in process) and the agent proxy (custom containers)."""
