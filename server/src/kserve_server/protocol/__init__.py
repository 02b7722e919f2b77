"""Wire formats (V1, V2 JSON, V2 binary) ↔ kserve_server.inference. No HTTP framework here."""
