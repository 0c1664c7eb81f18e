"""``stackgan_hf.utils.hub``: token check, model cards from templates, uploads (to the loopback FakeHub)."""

from __future__ import annotations

import huggingface_hub.constants
import pytest
from fake_hub import FakeHub
from huggingface_hub import ModelCard

import stackgan_hf.utils.hub
from stackgan_hf.utils.hub import (
    HubTokenError,
    model_card_template,
    require_hub_token,
    upload_output_dir,
    write_model_card,
)


def test_require_hub_token_prefers_the_explicit_token(monkeypatch):
    monkeypatch.setattr(stackgan_hf.utils.hub, "get_token", lambda: "hf_from_login")
    assert require_hub_token("hf_explicit") == "hf_explicit"
    assert require_hub_token() == "hf_from_login"


def test_require_hub_token_without_token_says_what_to_do(monkeypatch):
    monkeypatch.setattr(stackgan_hf.utils.hub, "get_token", lambda: None)
    with pytest.raises(HubTokenError) as error:
        require_hub_token()
    message = str(error.value)
    assert "--push_to_hub" in message and "HF_TOKEN" in message and "login" in message


def test_model_card_template_lookup():
    assert model_card_template("ddpm_mnist").name == "ddpm_mnist.md"
    with pytest.raises(FileNotFoundError, match="no_such_card"):
        model_card_template("no_such_card")


def test_write_model_card_from_a_template(tmp_path):
    template = tmp_path / "template.md"
    template.write_text("---\n{{ card_data }}\n---\n\n# {{ model_id }}\n\nTrained for {{ steps }} steps.\n")
    path = write_model_card(
        tmp_path / "out",
        template,
        library_name="diffusers",
        pipeline_tag="unconditional-image-generation",
        datasets=["ylecun/mnist"],
        tags=["ddpm", "mnist"],
        license="apache-2.0",
        model_id="me/ddpm-mnist",
        steps=1234,
    )
    assert path == tmp_path / "out" / "README.md"
    card = ModelCard.load(path)
    assert card.data.library_name == "diffusers"
    assert card.data.pipeline_tag == "unconditional-image-generation"
    assert card.data.datasets == ["ylecun/mnist"] and card.data.tags == ["ddpm", "mnist"]
    assert card.data.license == "apache-2.0"
    assert "# me/ddpm-mnist" in card.text and "1234 steps" in card.text


def test_ddpm_card_template_renders(tmp_path):
    path = write_model_card(
        tmp_path,
        model_card_template("ddpm_mnist"),
        library_name="diffusers",
        pipeline_tag="unconditional-image-generation",
        datasets=["ylecun/mnist"],
        model_id="me/ddpm-mnist",
        dataset_name="ylecun/mnist",
        resolution=32,
        parameters="686,769",
        block_out_channels=[16, 32, 64],
        layers_per_block=1,
        num_train_timesteps=1000,
        beta_start=1e-4,
        beta_end=0.02,
        beta_schedule="linear",
        prediction_type="epsilon",
        global_step=10,
        train_batch_size=64,
        learning_rate=1e-3,
        lr_warmup_steps=100,
        use_ema=True,
        mixed_precision="no",
        hardware="CPU",
        final_loss="0.0300",
        has_samples=True,
    )
    text = path.read_text()
    assert 'DDPMPipeline.from_pretrained("me/ddpm-mnist")' in text
    assert "686,769" in text and "crop `[2:30, 2:30]`" in text and "![samples](samples.png)" in text


def test_upload_output_dir_sends_the_pipeline_but_not_checkpoints_or_logs(tmp_path, monkeypatch):
    output_dir = tmp_path / "run"
    files = {
        "model_index.json": b'{"_class_name": "DDPMPipeline"}',
        "unet/config.json": b"{}",
        "README.md": b"---\nlibrary_name: diffusers\n---\n# card\n",
        "checkpoint-500/optimizer.bin": b"state",
        "logs/ddpm_mnist/events.out.tfevents.1": b"events",
    }
    for name, content in files.items():
        (output_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (output_dir / name).write_bytes(content)

    # The tests run with HF_HUB_OFFLINE=1; the fake Hub is on loopback, so this one test lifts it.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    with FakeHub(required_token="hf_test_token") as hub:
        url = upload_output_dir(output_dir, "acme/ddpm-mnist", token="hf_test_token", endpoint=hub.endpoint)
        uploaded = hub.files("acme/ddpm-mnist")
        assert url.startswith(f"{hub.endpoint}/acme/ddpm-mnist/commit/")
        assert sorted(uploaded) == ["README.md", "model_index.json", "unet/config.json"]
        assert uploaded["model_index.json"] == files["model_index.json"]
        # Uploading again to the existing repo works (exist_ok) and commits what changed.
        (output_dir / "README.md").write_bytes(files["README.md"] + b"More steps.\n")
        upload_output_dir(output_dir, "acme/ddpm-mnist", token="hf_test_token", endpoint=hub.endpoint)
        assert len(hub.commits("acme/ddpm-mnist")) == 3
        assert hub.files("acme/ddpm-mnist")["README.md"].endswith(b"More steps.\n")


def test_upload_of_a_missing_directory_fails_before_any_request(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to upload"):
        upload_output_dir(tmp_path / "missing", "acme/x", token="t", endpoint="http://127.0.0.1:9")


@pytest.mark.parametrize(
    ("text_encoder", "expected", "absent"),
    [
        ("bag-of-words", "bag-of-words\ntext encoder knows no synonyms", "It knows only"),
        (
            "results/text_encoders/char_cnn_rnn/cub50_encoder",
            "its text encoder (`results/text_encoders",
            "synonyms",
        ),
    ],
)
def test_stackgan_card_limitations_name_the_text_encoder_it_has(tmp_path, text_encoder, expected, absent):
    summary = {"steps": 1, "images": 2, "batch_size": 2, "processes": 1, "mixed_precision": "no"}
    summary |= {"device": "cpu", "wall_time_s_this_run": 1.0, "final": {}}
    path = write_model_card(
        tmp_path,
        model_card_template("stackgan"),
        model_id="me/stackgan",
        stage=1,
        dataset="synthetic-birds",
        text_encoder=text_encoder,
        summary=summary,
        config_yaml="{}",
        beyond_v1=[],
        kl_coefficient=2.0,
        lr_schedule="",
        sample_grid=None,
    )
    limitations = path.read_text().split("## Limitations")[1]
    assert expected in limitations and absent not in limitations
