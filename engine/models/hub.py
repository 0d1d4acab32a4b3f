"""Find and download GGUF models from the Hugging Face Hub or a mirror of it.

Listing goes through ``huggingface_hub.HfApi``; a download asks the Hub for the file's size and
SHA-256 with ``huggingface_hub.get_hf_file_metadata`` and then streams the bytes itself with
httpx, so that it can resume, report progress, be cancelled and verify the hash:

* bytes go to ``DEST/FILENAME.part``; a later call resumes it with ``Range: bytes=N-`` (a server
  that ignores the range is handled by starting over), and a dropped connection is resumed
  automatically a few times;
* the finished part is fsynced, checked against the SHA-256 the Hub publishes for LFS files
  (or the one the caller passes) and renamed into place atomically;
* a cancelled or interrupted download keeps its part file, so nothing is fetched twice.

Every failure is a typed error from :mod:`engine.errors` whose message says what to do next.
The endpoint is the official Hub unless ``INGLENOOK_HF_ENDPOINT`` or ``HF_ENDPOINT`` (or an
explicit argument) names a mirror such as ``https://hf-mirror.com``.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from engine.errors import DownloadError, OfflineError
from engine.models import download_files as files
from engine.models.hub_types import DEFAULT_ENDPOINT, MIRROR_EXAMPLE, DownloadProgress, HubFile  # noqa: F401
from engine.units import format_bytes

_PROGRESS_INTERVAL_S = 0.1
_TRUE = {"1", "true", "yes", "on"}
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _both(name: str) -> tuple[type[BaseException], ...]:
    """httpx's exception class ``name``, and its twin in httpx2 (what huggingface_hub 2.x uses)."""
    classes: list[type[BaseException]] = [getattr(httpx, name)]
    try:
        import httpx2
    except ImportError:
        pass
    else:
        classes.append(getattr(httpx2, name))
    return tuple(classes)


#: the Hub cannot be reached: refused, no route, DNS failure, timeout, broken TLS...
_UNREACHABLE = _both("TransportError")
_HTTP_ERRORS = _both("HTTPError")



def resolve_endpoint(explicit: str | None = None) -> str:
    """The Hub address to use: ``explicit``, else ``INGLENOOK_HF_ENDPOINT``, else ``HF_ENDPOINT``,
    else the official Hub. A bare host such as ``hf-mirror.com`` gets ``https://``; a trailing
    slash is dropped."""
    for candidate in (explicit, os.environ.get("INGLENOOK_HF_ENDPOINT"), os.environ.get("HF_ENDPOINT")):
        if candidate and candidate.strip():
            value = candidate.strip().rstrip("/")
            if "://" not in value:
                value = "https://" + value
            return value
    return DEFAULT_ENDPOINT


def _offline_variables() -> list[str]:
    return [
        name
        for name in ("HF_HUB_OFFLINE", "INGLENOOK_OFFLINE")
        if os.environ.get(name, "").strip().lower() in _TRUE
    ]


class HubClient:
    """Lists and downloads files of Hub repositories.

    ``endpoint`` defaults to :func:`resolve_endpoint`. ``token`` is sent to the Hub for gated or
    private repositories; when None, huggingface_hub's stored login (``HF_TOKEN`` or
    ``hf auth login``) is used if there is one. ``timeout`` bounds connecting and each wait for
    data, in seconds. ``retries`` is how many times in a row a download that loses its
    connection without getting any further is resumed before giving up.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        retries: int = 3,
    ):
        self.endpoint = resolve_endpoint(endpoint)
        self.token = token
        self.timeout = timeout
        self.retries = retries

    # ------------------------------------------------------------------ listing

    def list_gguf_files(self, repo_id: str, revision: str = "main") -> list[HubFile]:
        """Every ``.gguf`` file in the repository (subfolders included), sorted by path, with the
        size and LFS SHA-256 the Hub reports."""
        files = self._list_files(repo_id, revision)
        return [f for f in files if f.filename.lower().endswith(".gguf")]

    def _list_files(self, repo_id: str, revision: str) -> list[HubFile]:
        # model_info(files_metadata=True) lists every file, subfolders included, with sizes and LFS
        # hashes in one request that honours our timeout (list_repo_tree pages and retries for ~20 s
        # before admitting that the Hub is unreachable).
        from huggingface_hub import HfApi

        self._ensure_online()
        api = HfApi(endpoint=self.endpoint, token=self.token)
        try:
            info = api.model_info(repo_id, revision=revision, files_metadata=True, timeout=self.timeout)
        except Exception as exc:
            raise self._translate(exc, repo_id=repo_id, revision=revision) from exc
        files = [
            HubFile(
                repo_id=repo_id,
                filename=sibling.rfilename,
                size=sibling.size,
                sha256=sibling.lfs.sha256 if sibling.lfs is not None else None,
            )
            for sibling in info.siblings or []
        ]
        return sorted(files, key=lambda f: f.filename)

    # ------------------------------------------------------------------ download

    def download(
        self,
        repo_id: str,
        filename: str,
        dest_dir: Path,
        *,
        revision: str = "main",
        progress: Callable[[DownloadProgress], None] | None = None,
        cancel: threading.Event | None = None,
        expected_sha256: str | None = None,
    ) -> Path:
        """Download ``filename`` of ``repo_id`` to ``dest_dir/filename`` and return that path.

        Resumes ``dest_dir/filename.part`` when one exists. Raises :class:`DownloadCancelled`
        when ``cancel`` is set (the part is kept), :class:`OfflineError` when the Hub cannot be
        reached or offline mode is on, and :class:`DownloadError` for everything else.
        """
        self._ensure_online()
        final = files.destination(Path(dest_dir), filename)
        part = final.with_name(final.name + ".part")
        if expected_sha256 is not None:
            expected_sha256 = expected_sha256.strip().lower()
            if not files.SHA256_RE.match(expected_sha256):
                raise ValueError(f"expected_sha256 must be 64 hex digits, got {expected_sha256!r}")

        url, size, sha = self._file_metadata(repo_id, filename, revision, expected_sha256)
        job = files.Job(repo_id, revision, filename, url, part, size, progress, cancel)
        with files.claim(final):
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DownloadError(
                    f"Cannot create the folder {final.parent}: {exc.strerror or exc}. Choose a folder you can write to."
                ) from exc
            if files.already_there(final, job.total, sha, cancel, filename):
                if progress and job.total is not None:
                    progress(DownloadProgress(filename, job.total, job.total, 0.0, job.total))
                return final
            self._fetch_with_retries(job)
            _verify_part(job, sha)
            os.replace(part, final)
            files.fsync_dir(final.parent)
        return final

    def _file_metadata(self, repo_id: str, filename: str, revision: str,
                       expected_sha256: str | None) -> tuple[str, int | None, str | None]:
        """The file's URL, size and the SHA-256 to check it against (the caller's, else the Hub's)."""
        from huggingface_hub import get_hf_file_metadata, hf_hub_url

        url = hf_hub_url(repo_id, filename, revision=revision, endpoint=self.endpoint)
        try:
            meta = get_hf_file_metadata(url, token=self.token, timeout=self.timeout)
        except Exception as exc:
            raise self._translate(exc, repo_id=repo_id, revision=revision, filename=filename) from exc
        hub_sha = files.sha256_from_etag(meta.etag)
        if expected_sha256 and hub_sha and expected_sha256 != hub_sha:
            raise DownloadError(
                f"{filename} in {repo_id} has SHA-256 {hub_sha} on {self.endpoint}, not the expected "
                f"{expected_sha256}: the file changed upstream or the expected hash is wrong. "
                "Check the model page and try again with the right file or revision."
            )
        return url, meta.size, expected_sha256 or hub_sha

    def _fetch_with_retries(self, job: files.Job) -> None:
        """Stream into the part file until it is complete, resuming after dropped connections."""
        failures = 0
        while True:
            files.check_cancel(job)
            have = job.part.stat().st_size if job.part.exists() else 0
            if job.total is not None and have > job.total:
                job.part.unlink()
                have = 0
            if job.total is not None and have == job.total and job.total > 0:
                return  # already complete: only verification is left
            files.check_space(job, have)
            try:
                self._fetch_once(job, have)
                return
            except files.Restart:
                job.part.unlink(missing_ok=True)
                continue
            except files.Interrupted as stop:
                grew = job.part.exists() and job.part.stat().st_size > have
                failures = 1 if grew else failures + 1  # only attempts in a row that got nowhere add up
                if failures > self.retries:
                    raise self._interrupted_error(stop.cause, job) from stop.cause
                files.sleep_unless_cancelled(job.cancel, min(0.25 * 2 ** (failures - 1), 8.0))

    def _fetch_once(self, job: files.Job, have: int) -> None:
        """One HTTP GET from byte ``have`` on. Raises files.Restart or files.Interrupted to go round again."""
        from huggingface_hub.utils import build_hf_headers

        headers = build_hf_headers(token=self.token)
        headers["Accept-Encoding"] = "identity"
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            # httpx drops the Authorization header when the Hub redirects to a CDN on another host.
            with (
                httpx.Client(follow_redirects=True, timeout=httpx.Timeout(self.timeout)) as client,
                client.stream("GET", job.url, headers=headers) as response,
            ):
                if response.status_code == 416 and have:
                    raise files.Restart()
                if response.status_code >= 400:
                    response.read()
                    raise self._http_error(response, job)
                if have and response.status_code == 200:
                    have = 0  # the server ignored Range and sent the whole file: start over
                elif have and not files.range_starts_at(response, have):
                    raise files.Restart()
                self._write_stream(response, job, have)
        except (DownloadError, files.Restart, files.Interrupted):
            raise
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise files.Interrupted(exc) from exc
        except httpx.HTTPError as exc:  # too many redirects, an undecodable answer...
            raise DownloadError(
                f"{self.endpoint} sent an answer that cannot be used for {job.filename} "
                f"({type(exc).__name__}: {exc}). Try again later, or use a mirror (`--endpoint {MIRROR_EXAMPLE}`)."
            ) from exc

    def _write_stream(self, response: httpx.Response, job: files.Job, start: int) -> None:
        done = start
        began = time.monotonic()
        last_report = 0.0

        def report(force: bool = False) -> None:
            nonlocal last_report
            now = time.monotonic()
            if job.progress is None or (not force and now - last_report < _PROGRESS_INTERVAL_S):
                return
            last_report = now
            elapsed = now - began
            rate = (done - start) / elapsed if elapsed > 0 else 0.0
            job.progress(DownloadProgress(job.filename, done, job.total, rate, start))

        if job.digest is None or job.hashed != start:
            # resuming: the hash must cover the bytes already on disk too
            job.digest, job.hashed = files.hash_prefix(job.part, start, job.cancel, job.filename), start
        report(force=True)
        try:
            with open(job.part, "r+b" if start else "wb") as fh:
                fh.seek(start)
                fh.truncate()
                try:
                    for chunk in response.iter_bytes(files.CHUNK):
                        if job.cancel is not None and job.cancel.is_set():
                            break
                        fh.write(chunk)
                        job.digest.update(chunk)
                        done += len(chunk)
                        job.hashed = done
                        report()
                finally:
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                need = (job.total - done) if job.total is not None else None
                what = f"{format_bytes(need)} more are needed" if need is not None else "more space is needed"
                raise DownloadError(
                    f"The disk is full: {job.filename} stopped at {format_bytes(done)} in "
                    f"{job.part.parent}; {what}. Free up space and run the same download again to "
                    f"resume (the partial file {job.part.name} is kept)."
                ) from exc
            raise DownloadError(
                f"Cannot write {job.part}: {exc.strerror or exc}. Check the folder's permissions and free space."
            ) from exc
        files.check_cancel(job)
        if job.total is not None and done < job.total:
            raise files.Interrupted(
                httpx.RemoteProtocolError(f"the server stopped after {done} of {job.total} bytes")
            )
        report(force=True)

    # ------------------------------------------------------------------ errors

    def _ensure_online(self) -> None:
        names = _offline_variables()
        if names:
            settings = " and ".join(f"{name}={os.environ[name]}" for name in names)
            unset = " and ".join(names)
            raise OfflineError(
                f"Offline mode is on ({settings}), so nothing can be downloaded. Unset {unset} "
                "to download, or add a GGUF from disk with `nook models add PATH`."
            )

    def _unreachable(self, exc: BaseException, extra: str = "") -> OfflineError:
        reason = type(exc).__name__
        detail = str(exc).strip()
        if detail:
            reason = f"{reason}: {detail}"
        return OfflineError(
            f"Cannot reach {self.endpoint} ({reason}).{extra} Check the internet connection; if the "
            f"Hub is blocked or slow where you are, use a mirror: `--endpoint {MIRROR_EXAMPLE}` or "
            f"set HF_ENDPOINT={MIRROR_EXAMPLE}."
        )

    def _interrupted_error(self, exc: BaseException, job: files.Job) -> DownloadError:
        have = job.part.stat().st_size if job.part.exists() else 0
        of = f" of {format_bytes(job.total)}" if job.total is not None else ""
        kept = (
            f" {format_bytes(have)}{of} are kept in {job.part.name}; run the same download again to resume."
            if have
            else ""
        )
        if isinstance(exc, httpx.ConnectError | httpx.TimeoutException):
            return self._unreachable(exc, kept)
        tries = f" ({self.retries + 1} tries in a row got no further)" if self.retries else ""
        return DownloadError(
            f"The connection to {self.endpoint} broke while downloading {job.filename} "
            f"({type(exc).__name__}: {exc}){tries}.{kept or ' Try again.'}"
        )

    def _http_error(self, response: httpx.Response, job: files.Job) -> DownloadError:
        """Explain an error answer to our own GET (the HEAD before it succeeded, so this is rare:
        an expired token, a file deleted in between, a server error)."""
        detail = response.headers.get("X-Error-Message") or response.reason_phrase
        return self._explain(
            response.status_code,
            response.headers.get("X-Error-Code"),
            repo_id=job.repo_id,
            revision=job.revision,
            filename=job.filename,
            detail=detail,
        )

    def _translate(
        self, exc: BaseException, *, repo_id: str, revision: str, filename: str | None = None
    ) -> DownloadError:
        """Turn a huggingface_hub / httpx exception into our typed, explained error."""
        from huggingface_hub import errors as hf

        if isinstance(exc, DownloadError):
            return exc
        if isinstance(exc, hf.OfflineModeIsEnabled):
            self._ensure_online()  # our own message when the variable is still set
            return OfflineError(
                "huggingface_hub is in offline mode (HF_HUB_OFFLINE was set when Inglenook started). "
                "Unset HF_HUB_OFFLINE and restart Inglenook to download, or add a GGUF from disk with "
                "`nook models add PATH`."
            )
        if isinstance(exc, hf.HFValidationError):
            return DownloadError(
                f"{repo_id!r} is not a valid repository id ({exc}). Repository ids look like owner/name, "
                "e.g. bartowski/SmolLM2-135M-Instruct-GGUF."
            )
        if isinstance(exc, _UNREACHABLE):
            return self._unreachable(exc)
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(exc, hf.HfHubHTTPError) and isinstance(status, int):
            code = None
            for cls, name in (
                (hf.GatedRepoError, "GatedRepo"),  # before RepositoryNotFoundError, its base class
                (hf.RevisionNotFoundError, "RevisionNotFound"),
                (hf.EntryNotFoundError, "EntryNotFound"),
                (hf.RepositoryNotFoundError, "RepoNotFound"),
            ):
                if isinstance(exc, cls):
                    code = name
                    break
            detail = response.headers.get("X-Error-Message") or files.first_line(exc)
            return self._explain(
                status, code, repo_id=repo_id, revision=revision, filename=filename, detail=detail
            )
        if isinstance(exc, _HTTP_ERRORS):
            return self._unreachable(exc)
        raise exc  # not an error we know how to explain: a bug, let it surface

    def _explain(
        self,
        status: int,
        code: str | None,
        *,
        repo_id: str,
        revision: str,
        filename: str | None,
        detail: str,
    ) -> DownloadError:
        """The message for an HTTP error status, refined by the Hub's X-Error-Code."""
        if code == "GatedRepo":
            return DownloadError(
                f"{repo_id} is gated: a Hugging Face token with access to it is needed. Accept its "
                f"terms on the model page ({self.endpoint}/{repo_id}), then pass a token (--token, or "
                "set HF_TOKEN, or run `hf auth login`)."
            )
        if code == "RevisionNotFound":
            return DownloadError(
                f"{repo_id} has no revision {revision!r} on {self.endpoint}. Use a branch, tag or "
                "commit that exists (usually 'main')."
            )
        if code == "EntryNotFound":
            return DownloadError(self._missing_file_message(repo_id, revision, filename or "?"))
        if code == "RepoNotFound":
            return DownloadError(
                f"No repository {repo_id} on {self.endpoint}. Check the name (it looks like "
                "owner/name, e.g. bartowski/SmolLM2-135M-Instruct-GGUF); if the repository is "
                "private, pass a token with access (--token or HF_TOKEN)."
            )
        if status in (401, 403):
            return DownloadError(
                f"{self.endpoint} refused access to {repo_id} (HTTP {status}: {detail}): a Hugging Face "
                "token with access is needed. Pass one with --token or set HF_TOKEN (or run `hf auth "
                "login`); for a gated model, accept its terms on the model page first."
            )
        if status == 404:
            what = f"{repo_id}/{filename}" if filename else repo_id
            return DownloadError(
                f"{self.endpoint} has no {what} (HTTP 404). Check the repository and file names; if "
                f"{self.endpoint} is a mirror, it may not carry this repository."
            )
        if status == 429:
            return DownloadError(
                f"{self.endpoint} is rate-limiting requests (HTTP 429). Wait a few minutes and try again."
            )
        what = f"{repo_id}/{filename}" if filename else repo_id
        return DownloadError(
            f"{self.endpoint} answered HTTP {status} for {what} ({detail}). Try again later, or use a "
            f"mirror (`--endpoint {MIRROR_EXAMPLE}`)."
        )

    def _missing_file_message(self, repo_id: str, revision: str, filename: str) -> str:
        head = f"{repo_id} (revision {revision}) on {self.endpoint} has no file {filename!r}."
        try:
            ggufs = self.list_gguf_files(repo_id, revision)
        except DownloadError:
            return head + " Check the file name on the model page."
        if not ggufs:
            return (
                head
                + " It has no GGUF files at all; pick a repository that publishes GGUFs (often named ...-GGUF)."
            )
        names = [f.filename for f in ggufs]
        shown = ", ".join(names[:20]) + (f" (and {len(names) - 20} more)" if len(names) > 20 else "")
        return head + f" GGUF files there: {shown}. Download one of those."


def _verify_part(job: files.Job, sha: str | None) -> None:
    """Check the finished part file's hash and size; a damaged one is deleted with a clear error."""
    part, filename, repo_id = job.part, job.filename, job.repo_id
    size = part.stat().st_size
    if job.digest is None or job.hashed != size:
        job.digest, job.hashed = files.hash_prefix(part, size, job.cancel, filename), size
    actual = job.digest.hexdigest()
    if sha and actual != sha:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{filename} from {repo_id} is corrupt: its SHA-256 is {actual} but should be "
            f"{sha}. The damaged file was deleted; download it again (if this keeps happening, "
            f"try a mirror such as `--endpoint {MIRROR_EXAMPLE}`)."
        )
    if job.total is not None and size != job.total:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{filename} from {repo_id} arrived with {size} bytes, not the {job.total} the Hub "
            "announced. The damaged file was deleted; download it again."
        )
