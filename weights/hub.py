"""`--checkpoint hf:USER/REPO[@REVISION]`: a release file from the Hugging Face hub, through
huggingface_hub.

The repo holds RELEASE_FILE (model.safetensors, this repo's release format: `python export.py --hub
DIR` writes such a folder). `hf_hub_download` does the download and the cache, so HF_HUB_OFFLINE=1,
HF_HOME / HF_HUB_CACHE, revisions (branch, tag or commit) and private repos (HF_TOKEN or `hf auth
login`) behave as in every other library that reads the hub. Each failure becomes one line naming
the repo and revision; a hub answering server errors costs one request, not huggingface_hub's
retries (models/hub_files.py).
"""

from __future__ import annotations

from pathlib import Path

from models.hub_files import HubFile, HubUnavailable, ask_hub_once, make_hub_offline_fast
from weights.checkpoint import HUB_PREFIX, RELEASE_FILE, CheckpointError


class HubError(CheckpointError):
    """A hub repo, revision or file that cannot be had (absent, private, offline and not cached)."""


def parse_hub_spec(spec: str) -> tuple[str, str | None]:
    """'hf:user/repo@rev' -> ('user/repo', 'rev'); the revision is None when not given (the repo's
    main).
    """
    body = spec[len(HUB_PREFIX) :] if spec.startswith(HUB_PREFIX) else spec
    repo, at, revision = body.partition("@")
    if repo.count("/") != 1 or not all(repo.split("/")) or (at and not revision):
        raise HubError(
            f"--checkpoint {spec}: expected hf:USER/REPO or hf:USER/REPO@REVISION "
            "(a branch, tag or commit)"
        )
    return repo, revision or None


def hub_checkpoint(spec: str) -> Path:
    """The local path of the repo's RELEASE_FILE (downloaded into, or read from, huggingface_hub's
    cache).
    """
    from huggingface_hub import errors as hf
    from huggingface_hub import hf_hub_download

    repo, revision = parse_hub_spec(spec)
    where = f"{repo}@{revision}" if revision else repo
    make_hub_offline_fast()  # no network: the cache at once, not a minute of retries
    try:
        ask_hub_once(HubFile(repo, RELEASE_FILE, revision))  # a failing hub: one request, not 7
        return Path(
            hf_hub_download(
                repo, RELEASE_FILE, revision=revision, library_name="adain-style-transfer"
            )
        )
    except HubUnavailable as err:
        why = (
            f"{err}; the hub is down, overloaded or unreachable: try again later, or download "
            f"{RELEASE_FILE} elsewhere and pass its path"
        )
    # offline and not cached (a subclass: caught before EntryNotFound)
    except hf.LocalEntryNotFoundError:
        why = (
            f"{RELEASE_FILE} of the hub repo {where} is not in the huggingface_hub cache and the "
            "hub cannot be reached (HF_HUB_OFFLINE or no network); download it once online, or "
            "pass a local file"
        )
    except hf.RevisionNotFoundError:
        why = f"the hub repo {repo} has no revision '{revision}' (a branch, tag or commit)"
    except hf.GatedRepoError:
        why = (
            f"the hub repo {repo} is gated: accept its terms on huggingface.co and log in "
            "(hf auth login)"
        )
    except hf.RepositoryNotFoundError:
        why = (
            f"the hub repo {repo} does not exist or is private (for a private repo set HF_TOKEN "
            "or run hf auth login)"
        )
    except hf.EntryNotFoundError:
        why = (
            f"the hub repo {where} holds no {RELEASE_FILE} (write one with python export.py "
            "--hub DIR)"
        )
    except (hf.HfHubHTTPError, OSError, ValueError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        why = f"the hub repo {where} could not be read ({type(err).__name__}: {first[:160]})"
    raise HubError(f"--checkpoint {spec}: {why}")
