"""The only code that talks to the apiserver (and imports kubernetes_asyncio)."""
