"""LoRA adapters: the registry, live switching on a loaded model, conversion and training."""
