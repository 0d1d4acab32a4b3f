"""What a Hub download is described by: the endpoint, a file, a progress report.

Apart from ``hub`` so that the window's pages can name them without loading the HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_ENDPOINT = "https://huggingface.co"
MIRROR_EXAMPLE = "https://hf-mirror.com"


@dataclass(frozen=True)
class HubFile:
    """One file in a Hub repository. ``sha256`` is known for LFS files (every GGUF on the Hub)."""

    repo_id: str
    filename: str
    size: int | None
    sha256: str | None


@dataclass
class DownloadProgress:
    """A progress report. ``downloaded`` counts from the start of the file, resumed bytes included;
    ``bytes_per_s`` is the rate of this session's transfer; ``resumed_from`` is where it began."""

    filename: str
    downloaded: int
    total: int | None
    bytes_per_s: float
    resumed_from: int
