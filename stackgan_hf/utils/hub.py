"""Generic Hugging Face Hub helpers for the trainers: token check, model cards from templates, uploads.

Nothing here imports torch, and only :func:`upload_output_dir` touches the network.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, ModelCard, ModelCardData, get_token

_PACKAGED_CARDS = Path(__file__).resolve().parents[1] / "model_cards"  # in a wheel
# An editable install or a checkout reads the repository's folder.
MODEL_CARDS_DIR = (
    _PACKAGED_CARDS if _PACKAGED_CARDS.is_dir() else Path(__file__).resolve().parents[2] / "model_cards"
)
DEFAULT_UPLOAD_IGNORE = ("checkpoint-*", "checkpoint-*/**", "logs/**", "*.tmp")


class HubTokenError(RuntimeError):
    """``--push_to_hub`` was asked for but no Hugging Face token is available."""


def require_hub_token(token: str | None = None, flag: str | None = "--hub_token") -> str:
    """The token to push with: ``token`` if given, else the one of ``HF_TOKEN`` / ``hf auth login``.

    Raises ``HubTokenError`` with what to do when there is none (``flag``: the script's token option, if it
    has one). Does not contact the Hub, so that a script can call it first and fail before any work.
    """
    token = token or get_token()
    if not token:
        ways = "run `hf auth login` (or `huggingface-cli login`)" + (", " if flag else " or ")
        ways += "set the HF_TOKEN environment variable" + (f", or pass {flag}" if flag else "")
        raise HubTokenError(
            f"--push_to_hub needs a Hugging Face token with write access, and none was found: {ways}. "
            "Nothing was done."
        )
    return token


def check_model_path(path: str | os.PathLike, index_file: str = "model_index.json") -> str:
    """``path`` as a string if it is a saved pipeline folder (holding ``index_file``) or may be a Hub repo id;
    ``FileNotFoundError`` naming it otherwise, instead of huggingface_hub's "Repo id must use alphanumeric
    chars" for a local path that does not exist."""
    path = os.fspath(path)
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, index_file)):
            raise FileNotFoundError(
                f"{path} has no {index_file}: not a saved pipeline (a training run that did not finish? "
                "Resume it with --resume_from_checkpoint latest)."
            )
        return path
    # An absolute or ./ path, or one with more than one "/", names a folder, not a Hub repo id.
    if os.path.isabs(path) or path.startswith(".") or path.count("/") > 1:
        raise FileNotFoundError(f"{path}: no such model folder (nor a Hub repo id such as user/name).")
    return path


def model_card_template(name: str) -> Path:
    """The path of ``model_cards/{name}`` (``.md`` added if missing); ``FileNotFoundError`` if absent."""
    path = MODEL_CARDS_DIR / (name if name.endswith(".md") else f"{name}.md")
    if not path.is_file():
        raise FileNotFoundError(f"Model card template {path} does not exist.")
    return path


def write_model_card(
    output_dir: str | Path,
    template_path: str | Path,
    *,
    library_name: str | None = None,
    pipeline_tag: str | None = None,
    datasets: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    license: str | None = None,
    extra_metadata: dict[str, Any] | None = None,
    **template_vars: Any,
) -> Path:
    """Renders a Jinja model-card template to ``output_dir/README.md``.

    Args:
        output_dir: the folder the card is written to.
        template_path: a Jinja template (``{{ card_data }}`` is the YAML header), e.g. from ``model_cards/``.
        library_name, pipeline_tag, datasets, tags, license: the card's YAML metadata.
        extra_metadata: more YAML metadata.
        **template_vars: the template's own variables (model id, training figures, ...).

    Returns:
        The path of the card.
    """
    card_data = ModelCardData(
        library_name=library_name,
        pipeline_tag=pipeline_tag,
        datasets=list(datasets) if datasets else None,
        tags=list(tags) if tags else None,
        license=license,
        **(extra_metadata or {}),
    )
    card = ModelCard.from_template(card_data, template_path=str(template_path), **template_vars)
    path = Path(output_dir) / "README.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    card.save(path)
    return path


def upload_output_dir(
    output_dir: str | Path,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload trained model",
    ignore_patterns: Sequence[str] = DEFAULT_UPLOAD_IGNORE,
    endpoint: str | None = None,
) -> str:
    """Creates ``repo_id`` (a model repo) if needed and uploads ``output_dir``.

    Args:
        output_dir: a training output folder.
        repo_id: the Hub repository, ``user/name``.
        token: the Hub token (default: ``HF_TOKEN`` or the login's).
        private: create the repository private.
        commit_message: the commit's message.
        ignore_patterns: files left out; by default checkpoints and logs.
        endpoint: another Hub endpoint.

    Returns:
        The commit URL.
    """
    if not Path(output_dir).is_dir():
        raise FileNotFoundError(f"Output directory {output_dir} does not exist: nothing to upload.")
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id,
        folder_path=str(output_dir),
        commit_message=commit_message,
        ignore_patterns=list(ignore_patterns),
    )
    return info.commit_url
