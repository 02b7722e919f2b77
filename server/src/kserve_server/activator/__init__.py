"""The activator: the request path of InferenceService components KEDA may scale to zero.

The controller routes such a component's hosts to an ExternalName Service naming this
activator; the activator holds each request until the component's Service accepts a
connection (KEDA starts a pod when it sees the held request), forwards it, and answers KEDA
how many requests each component has held and in flight (`/load/<namespace>/<service>`).
Its own image is the router's (aiohttp only, no model frameworks).
"""
