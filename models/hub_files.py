"""Files on the Hugging Face hub that a run downloads (`hf:` checkpoints, timm's pretrained ViTs):
whether one is cached, whether the hub can be reached at all, and one quick question to the hub
before huggingface_hub downloads it. Here, beside the ViT that needs it (as timm keeps `_hub.py` in
timm/models/); weights/hub.py (`hf:` checkpoints) imports it from here.

Why the question: huggingface_hub (2.x) asks for a file it has not cached once without retries and,
when that gets a status or an error it counts as passing (408, 429, 5xx, a timeout, a refused or
reset connection), asks again with 5 retries 1, 2, 4, 8, 8 s apart and a 60 s timeout each
(file_download.py, `_ETAG_RETRY_TIMEOUT`); no setting turns that off. A hub that answers 503 then
costs 7 requests and ~25 s before the error, one that does not answer, minutes. So each download
here is preceded by that first request alone (`get_hf_file_metadata(retry_on_errors=False)`, within
HF_HUB_ETAG_TIMEOUT, 10 s by default), and such an answer ends the run in one line. A cached file
is never asked for (huggingface_hub reads it from the cache when the hub fails), nor is anything
under HF_HUB_OFFLINE.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# the files timm reads a model's hub weights from, in its order (timm/models/_hub.py)
TIMM_FILES = ("model.safetensors", "pytorch_model.bin")


class HubUnavailable(OSError):
    """The hub failed to serve an uncached file (a server error, rate limit, or no answer)."""


@dataclass(frozen=True)
class HubFile:
    repo: str
    filename: str
    revision: str | None = None  # None: the repo's main

    def __str__(self) -> str:
        return f"{self.repo}/{self.filename}" + (f"@{self.revision}" if self.revision else "")

    def cached(self) -> Path | None:
        """The file in huggingface_hub's cache (HF_HOME / HF_HUB_CACHE), or None."""
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(self.repo, self.filename, revision=self.revision)
        return Path(found) if isinstance(found, str) else None

    def cache_folder(self) -> Path:
        """Where huggingface_hub keeps this repo's files (its own folder name for the repo)."""
        import huggingface_hub.constants as hf_constants
        from huggingface_hub.file_download import repo_folder_name

        folder = repo_folder_name(repo_id=self.repo, repo_type="model")  # models--USER--REPO
        return Path(hf_constants.HF_HUB_CACHE) / folder


def connect_error(host: str, port: int, timeout: float = 3.0) -> OSError | None:
    """None when host:port answers a TCP connect within `timeout` seconds, else why it did not."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return None
    except OSError as err:
        return err


def hub_address() -> tuple[str, int]:
    """The Hugging Face hub's host and port (HF_ENDPOINT, as huggingface_hub read it)."""
    import huggingface_hub.constants as hf_constants

    endpoint = urlsplit(hf_constants.ENDPOINT)
    return endpoint.hostname, endpoint.port or (80 if endpoint.scheme == "http" else 443)


def hub_reachable(timeout: float = 3.0) -> bool:
    """True if the Hugging Face hub answers a TCP connect within `timeout` seconds."""
    return connect_error(*hub_address(), timeout=timeout) is None


def hub_offline_env() -> bool:
    """HF_HUB_OFFLINE as the environment says now (huggingface_hub read it once, at its import)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in ("1", "true", "yes", "on")


def make_hub_offline_fast() -> None:
    """Switch huggingface_hub to offline mode when the hub cannot be reached.

    Without this, timm's `pretrained=True` retries the hub for most of a minute before failing.
    The library reads HF_HUB_OFFLINE once at import, so the module constant is set directly (it is
    read at call time).
    """
    import huggingface_hub.constants as hf_constants

    if not hf_constants.HF_HUB_OFFLINE and (hub_offline_env() or not hub_reachable()):
        hf_constants.HF_HUB_OFFLINE = True


def timm_hub_files(name: str) -> list[HubFile]:
    """The hub files timm would read `name`'s pretrained weights from, in its order; empty when
    they do not come from the hub (a URL, an unknown model or tag: timm.create_model says so)."""
    from timm.models import get_pretrained_cfg

    try:
        cfg = get_pretrained_cfg(name)
    except RuntimeError:  # a tag the architecture does not have
        return []
    if cfg is None or not cfg.hf_hub_id:
        return []
    repo, _, revision = cfg.hf_hub_id.partition("@")
    names = [cfg.hf_hub_filename] if cfg.hf_hub_filename else TIMM_FILES
    return [HubFile(repo, filename, revision or None) for filename in names]


def ask_hub_once(file: HubFile) -> None:
    """Ask the hub for `file`'s metadata once, without retries, before a download (module
    docstring); returns when the hub answered (with the file or a 404/401 the download then reports
    in its own words), when the file is cached, or offline.

    Raises:
        HubUnavailable: one line naming the file, the endpoint and its status (or that it did not
            answer); each caller adds what to do.
    """
    import huggingface_hub.constants as hf_constants
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import _http

    # what huggingface_hub would retry (private names, read with a fallback)
    passing_status = getattr(_http, "_DEFAULT_RETRY_ON_STATUS_CODES", (408, 429, 500, 503))
    no_answer = getattr(_http, "_DEFAULT_RETRY_ON_EXCEPTIONS", ())
    if hf_constants.HF_HUB_OFFLINE or file.cached() is not None:
        return
    endpoint, timeout = hf_constants.ENDPOINT, hf_constants.HF_HUB_ETAG_TIMEOUT
    url = hf_hub_url(file.repo, file.filename, revision=file.revision)
    try:
        get_hf_file_metadata(url, timeout=timeout, retry_on_errors=False)
    except HfHubHTTPError as err:
        response = err.response
        status = getattr(response, "status_code", None)
        if status in passing_status or (status or 0) >= 500:
            reason = getattr(response, "reason_phrase", "") or ""
            raise HubUnavailable(
                f"the hub ({endpoint}) answered {status} {reason}".rstrip() + f" for {file}"
            ) from None
    except no_answer as err:
        first = (str(err).splitlines() or [""])[0][:120]
        raise HubUnavailable(
            f"the hub ({endpoint}) did not answer for {file} within {timeout} s "
            f"({type(err).__name__}: {first}; HF_HUB_ETAG_TIMEOUT sets the wait)"
        ) from None
