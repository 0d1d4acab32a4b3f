"""Typed errors. Every message says what happened and what to do about it.

``InglenookError`` is the one root: the CLI and the window catch it and show its text;
anything else is a bug.
"""

from __future__ import annotations


class InglenookError(Exception):
    """Root of every error the app expects and explains to the user."""


class ModelError(InglenookError):
    """Something is wrong with a model file or its settings."""


class ModelNotFoundError(ModelError):
    """No model by that name or path."""


class ModelLoadError(ModelError):
    """A model file exists but cannot be loaded (not a GGUF, truncated, unsupported...)."""


class UnsupportedArchitectureError(ModelLoadError):
    """The GGUF declares an architecture this llama.cpp build does not know."""


class ContextTooLargeError(ModelLoadError):
    """The requested context window would not fit in memory."""


class GenerationError(InglenookError):
    """The runtime failed while producing a reply."""


class NoModelLoadedError(InglenookError):
    """A request needs a model but none is loaded."""


class DownloadError(InglenookError):
    """A download from the Hugging Face Hub (or a mirror) failed."""


class OfflineError(DownloadError):
    """The Hub cannot be reached, or offline mode is on."""


class DownloadCancelled(DownloadError):
    """The user cancelled a download; the partial file is kept for resuming."""


class DiskFullError(InglenookError):
    """The disk holding the data folder ran out of room; what was saved before is intact."""


class HistoryError(InglenookError):
    """The conversation store cannot be read or written."""


class PresetError(InglenookError):
    """A prompt preset is missing or malformed."""


class LoadCancelled(InglenookError):
    """The user cancelled a model load; nothing is loaded."""


class LoraError(InglenookError):
    """A LoRA adapter cannot be read, registered or applied."""


class LoraNotFoundError(LoraError, ModelNotFoundError):
    """No registered adapter by that name."""


class LoraIncompatibleError(LoraError):
    """The adapter was made for another model (architecture, tensor names or sizes differ)."""


class LoraConversionError(LoraError):
    """A PEFT adapter folder cannot be converted to a GGUF adapter."""


class TrainingError(InglenookError):
    """Training a LoRA adapter failed."""


class TrainingDataError(TrainingError):
    """The training file is malformed or too small."""


class TrainingCancelled(TrainingError):
    """The user cancelled training; nothing was written or registered."""


class TrainingUnavailableError(TrainingError):
    """The optional `train` extra (torch, transformers, peft) is not installed."""
