"""Open Inference Protocol over gRPC: the only code that imports grpc (imported when served)."""
