"""End-to-end tests of ``fake_hub.FakeHub`` driven by the real ``huggingface_hub`` client in subprocesses."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

from fake_hub import DEFAULT_TOKEN, FakeHub

REPO_ID = "acme/tiny-model"


def _write_source_folder(folder: Path) -> dict[str, bytes]:
    """Create a small model folder (a JSON config and a safetensors-like binary); return path -> bytes."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    weights = struct.pack("<Q", len(header)) + header + struct.pack("<4f", 0.0, -1.5, 2.0, 1e-7) + b"\x00\xff"
    files = {
        "config.json": json.dumps({"model_type": "tiny", "hidden_size": 4}).encode(),
        "unet/diffusion_pytorch_model.safetensors": weights,
    }
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return files


def _run_client(hub: FakeHub, tmp_path: Path, code: str, *args: str) -> dict:
    """Run ``code`` with a fresh interpreter wired to ``hub``; return the JSON it prints on its last line."""
    env = hub.client_env(hf_home=tmp_path / "hf_home")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"client failed:\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def _read_tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()
    }


def test_upload_folder_then_snapshot_download_roundtrip(tmp_path: Path) -> None:
    source = tmp_path / "source"
    expected = _write_source_folder(source)
    cache_dir = tmp_path / "fresh_cache"

    with FakeHub() as hub:
        output = _run_client(
            hub,
            tmp_path,
            """
            import json, sys
            from huggingface_hub import HfApi, create_repo, snapshot_download

            repo_id, source, cache_dir = sys.argv[1:]
            url = create_repo(repo_id, exist_ok=True)
            create_repo(repo_id, exist_ok=True)  # second call answers 409, swallowed by exist_ok
            info = HfApi().upload_folder(repo_id=repo_id, folder_path=source, commit_message="add model")
            snapshot = snapshot_download(repo_id, cache_dir=cache_dir)
            print(json.dumps({"url": str(url), "oid": info.oid, "snapshot": snapshot}))
            """,
            REPO_ID,
            str(source),
            str(cache_dir),
        )

        assert output["url"] == f"{hub.endpoint}/{REPO_ID}"
        assert output["oid"] == hub.head(REPO_ID)
        assert [c.message for c in hub.commits(REPO_ID)] == ["initial commit", "add model"]
        assert hub.files(REPO_ID) == expected

        snapshot = Path(output["snapshot"])
        assert snapshot.is_relative_to(cache_dir.resolve())
        assert snapshot.name == output["oid"]
        assert _read_tree(snapshot) == expected

        lines = hub.request_lines()
        assert lines.count("POST /api/repos/create") == 2
        assert f"POST /api/models/{REPO_ID}/preupload/main" in lines
        assert f"POST /api/models/{REPO_ID}/commit/main" in lines
        assert {r.authorization for r in hub.requests} == {f"Bearer {DEFAULT_TOKEN}"}


def test_seeded_repo_download_goes_through_http(tmp_path: Path) -> None:
    source = tmp_path / "source"
    expected = _write_source_folder(source)

    with FakeHub(required_token=DEFAULT_TOKEN) as hub:
        commit = hub.add_folder(REPO_ID, source)
        output = _run_client(
            hub,
            tmp_path,
            """
            import json, sys
            from pathlib import Path
            from huggingface_hub import hf_hub_download, snapshot_download

            repo_id, cache_dir = sys.argv[1:]
            config = hf_hub_download(repo_id, "config.json", cache_dir=cache_dir)
            snapshot = snapshot_download(repo_id, cache_dir=cache_dir)
            print(json.dumps({"config": Path(config).read_text(), "snapshot": snapshot}))
            """,
            REPO_ID,
            str(tmp_path / "cache"),
        )

        assert json.loads(output["config"]) == json.loads(expected["config.json"])
        assert _read_tree(Path(output["snapshot"])) == expected

        lines = hub.request_lines()
        weights = "unet/diffusion_pytorch_model.safetensors"
        assert lines == [
            f"HEAD /{REPO_ID}/resolve/main/config.json",
            f"GET /{REPO_ID}/resolve/main/config.json",
            f"GET /api/models/{REPO_ID}/revision/main",
            f"GET /api/models/{REPO_ID}/tree/{commit}",
            # config.json is already cached for this commit: only the weights are fetched
            f"HEAD /{REPO_ID}/resolve/{commit}/{weights}",
            f"GET /{REPO_ID}/resolve/{commit}/{weights}",
        ]
        assert all(r.status == 200 for r in hub.requests)
        assert hub.requests[3].query == "recursive=true&expand=false"


def test_errors_map_to_huggingface_hub_exceptions(tmp_path: Path) -> None:
    with FakeHub() as hub:
        hub.add_files(REPO_ID, {"config.json": b"{}"})
        output = _run_client(
            hub,
            tmp_path,
            """
            import json, sys
            from huggingface_hub import hf_hub_download
            from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

            repo_id, cache_dir = sys.argv[1:]
            caught = []
            for target, filename in [(repo_id, "missing.bin"), ("acme/does-not-exist", "config.json")]:
                try:
                    hf_hub_download(target, filename, cache_dir=cache_dir)
                except (EntryNotFoundError, RepositoryNotFoundError) as err:
                    caught.append(type(err).__name__)
            print(json.dumps(caught))
            """,
            REPO_ID,
            str(tmp_path / "cache"),
        )

        assert output == ["RemoteEntryNotFoundError", "RepositoryNotFoundError"]
        assert [r.status for r in hub.requests] == [404, 404]
