"""Model files: GGUF reading and checks, the model registry, bundled models, Hub downloads."""
