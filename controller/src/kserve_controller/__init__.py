"""The controller: InferenceService in, Deployment + Service + HPA + Ingress out."""

__version__ = "0.1.0"
