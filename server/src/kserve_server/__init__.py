"""The model server: KServe V1 and Open Inference Protocol (V2) over aiohttp."""

__version__ = "0.1.0"
