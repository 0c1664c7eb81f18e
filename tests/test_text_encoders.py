"""Text encoders: the offline bag of words, CLIP (pooled) and sentence encoders (mean pooling)."""

from __future__ import annotations

import logging

import pytest
import torch
from conftest import CAPTIONS

from stackgan_hf.text import (
    HashedBagOfWordsEncoder,
    encode_prompts,
    load_text_encoder,
    resolve_pooling,
    text_embedding_dim,
    tokenize_caption,
)


def test_tokenize_caption_lowercases_and_splits_words():
    assert tokenize_caption("A red-winged Bird, 2 eyes.") == ["a", "red", "winged", "bird", "2", "eyes"]


def test_vocabulary_is_ordered_by_frequency_then_alphabet():
    vocab = HashedBagOfWordsEncoder.build_vocabulary(["b a", "a c", "a b"], min_count=1)
    assert vocab == ["a", "b", "c"]
    assert HashedBagOfWordsEncoder.build_vocabulary(["b a", "a c", "a b"], min_count=2) == ["a", "b"]
    assert HashedBagOfWordsEncoder.build_vocabulary(["b a", "a c", "a b"], max_size=1) == ["a"]


def test_ngram_vocabulary_gives_every_seen_pair_its_own_row():
    captions = ["a red winged bird", "a red crowned bird", "the red crown"]
    vocab = HashedBagOfWordsEncoder.build_vocabulary(captions, max_ngram=2)
    assert vocab[:4] == ["red", "a", "a red", "bird"]  # by count, then alphabetically: words and pairs alike
    assert "red winged" in vocab and "crowned bird" in vocab and "the red crown" not in vocab
    assert HashedBagOfWordsEncoder.build_vocabulary(captions, max_ngram=2, min_count=2) == vocab[:4]
    hashed = HashedBagOfWordsEncoder(vocabulary=HashedBagOfWordsEncoder.build_vocabulary(captions))
    seen = HashedBagOfWordsEncoder(vocabulary=vocab)
    # At 2,048 buckets these two pairs share one hashed row: by them the encoder cannot tell a red wing from a
    # red crown. With the pairs in the vocabulary each has its own.
    assert hashed._row("red winged") == hashed._row("red crowned")
    assert seen._row("red winged") != seen._row("red crowned")
    assert seen._row("red winged") == vocab.index("red winged") < len(vocab)
    rows = seen.feature_rows("a red crowned bird")
    assert rows == [
        vocab.index(f) for f in ("a", "red", "crowned", "bird", "a red", "red crowned", "crowned bird")
    ]
    assert seen.feature_rows("a blue bird")[-1] == seen._hashed_row("blue bird")  # unseen: hashed as before
    assert len(hashed.feature_rows("a red crowned bird")) == len(rows)


def test_bag_of_words_embeds_deterministically_with_unit_scale(bag_of_words):
    embeddings = bag_of_words(CAPTIONS)
    assert embeddings.shape == (len(CAPTIONS), 24) and embeddings.dtype == torch.float32
    torch.testing.assert_close(embeddings, bag_of_words(CAPTIONS), rtol=0, atol=0)
    # The same seed and vocabulary build the same table in another process or machine.
    rebuilt = HashedBagOfWordsEncoder(
        **{k: v for k, v in bag_of_words.config.items() if not k.startswith("_")}
    )
    torch.testing.assert_close(rebuilt(CAPTIONS), embeddings, rtol=0, atol=0)
    # Unit variance per dimension whatever the caption length: norms near sqrt(24).
    norms = embeddings.norm(dim=1) / 24**0.5
    assert ((norms > 0.5) & (norms < 1.6)).all(), norms


def test_bag_of_words_sees_color_part_binding_only_through_word_pairs(bag_of_words):
    a, b = "a red crown and blue wings", "a blue crown and red wings"
    with_pairs = bag_of_words([a, b])
    assert not torch.allclose(with_pairs[0], with_pairs[1])
    no_pairs = HashedBagOfWordsEncoder(vocabulary=bag_of_words.config.vocabulary, use_word_pairs=False)
    unigram_only = no_pairs([a, b])
    torch.testing.assert_close(unigram_only[0], unigram_only[1])


def test_bag_of_words_handles_unknown_words_and_refuses_wordless_prompts(bag_of_words):
    assert bag_of_words(["a purple flamingo"]).abs().sum() > 0  # hashed out-of-vocabulary words
    with pytest.raises(ValueError, match="no words"):
        bag_of_words(["?!"])


def test_bag_of_words_save_load_round_trip(tmp_path, bag_of_words):
    bag_of_words.save_pretrained(tmp_path)
    loaded = HashedBagOfWordsEncoder.from_pretrained(tmp_path)
    assert list(loaded.config.vocabulary) == list(bag_of_words.config.vocabulary)
    torch.testing.assert_close(loaded(CAPTIONS), bag_of_words(CAPTIONS), rtol=0, atol=0)
    assert not any(p.requires_grad for p in loaded.parameters())


def test_clip_uses_the_pooled_end_of_text_state(tiny_clip):
    model, tokenizer = tiny_clip
    assert resolve_pooling(model) == "pooled" and text_embedding_dim(model) == 32
    embeddings = encode_prompts(CAPTIONS[:2], model, tokenizer)
    assert embeddings.shape == (2, 32)
    inputs = tokenizer(
        CAPTIONS[:2], padding="max_length", max_length=32, truncation=True, return_tensors="pt"
    )
    with torch.no_grad():
        expected = model(**inputs).pooler_output
    torch.testing.assert_close(embeddings, expected)


def test_clip_truncates_long_prompts_with_a_warning(tiny_clip, caplog):
    model, tokenizer = tiny_clip
    long_prompt = "this bird is very very red " * 10  # far more than 32 character tokens
    with caplog.at_level(logging.WARNING, logger="stackgan_hf.text.encoders"):
        embeddings = encode_prompts([long_prompt, "a bird"], model, tokenizer)
    assert embeddings.shape == (2, 32)
    assert "truncated" in caplog.text and "32 tokens" in caplog.text
    # Truncation keeps the first 32 tokens: extra words at the end do not change the embedding.
    torch.testing.assert_close(encode_prompts([long_prompt + " blue"], model, tokenizer), embeddings[:1])


def test_sentence_encoder_mean_pools_over_the_attention_mask(tiny_sentence_encoder):
    model, tokenizer = tiny_sentence_encoder
    assert resolve_pooling(model) == "mean" and text_embedding_dim(model) == 24
    embeddings = encode_prompts(CAPTIONS, model, tokenizer)
    for caption, embedding in zip(CAPTIONS, embeddings):
        inputs = tokenizer([caption], return_tensors="pt")  # no padding at all
        with torch.no_grad():
            expected = model(**inputs).last_hidden_state.mean(dim=1)[0]
        torch.testing.assert_close(embedding, expected, atol=1e-5, rtol=1e-5)


def test_load_text_encoder_from_a_local_directory(tmp_path, tiny_clip, tiny_sentence_encoder):
    for name, (model, tokenizer) in {"clip": tiny_clip, "bert": tiny_sentence_encoder}.items():
        model.save_pretrained(tmp_path / name)
        tokenizer.save_pretrained(tmp_path / name)
        loaded_model, loaded_tokenizer = load_text_encoder(str(tmp_path / name))
        assert type(loaded_model).__name__ == type(model).__name__
        torch.testing.assert_close(
            encode_prompts(CAPTIONS, loaded_model, loaded_tokenizer),
            encode_prompts(CAPTIONS, model, tokenizer),
        )


def test_unknown_pooling_is_rejected(tiny_clip):
    with pytest.raises(ValueError, match="pooling must be one of"):
        resolve_pooling(tiny_clip[0], "max")


def test_word_triples_tie_a_color_to_its_part():
    # In "the crown is red" no adjacent pair holds both the part and the color; the triple does.
    caption = "the crown is red and the wings are blue"
    vocabulary = HashedBagOfWordsEncoder.build_vocabulary([caption])
    pairs = HashedBagOfWordsEncoder(vocabulary=vocabulary, embedding_dim=16, max_ngram=2)
    triples = HashedBagOfWordsEncoder(vocabulary=vocabulary, embedding_dim=16, max_ngram=3)
    words = caption.split()
    assert len(triples.feature_rows(caption)) == len(pairs.feature_rows(caption)) + len(words) - 2
    assert triples._hashed_row("crown is red") in triples.feature_rows(caption)
    assert pairs.feature_rows(caption) == triples.feature_rows(caption)[: len(pairs.feature_rows(caption))]
    with pytest.raises(ValueError, match="max_ngram must be at least 2"):
        HashedBagOfWordsEncoder(vocabulary=vocabulary, max_ngram=1)


def test_the_trainer_builds_a_vocabulary_of_words_and_word_pairs():
    import datasets

    from stackgan_hf.training import StackGANTrainingConfig
    from stackgan_hf.training.trainer import _build_text_encoder

    dataset = datasets.Dataset.from_dict({"captions": [["a red crown", "blue wings"], ["a red winged bird"]]})
    encoder, tokenizer, dim = _build_text_encoder(StackGANTrainingConfig(), dataset, None)
    assert tokenizer is None and dim == 256
    assert "red crown" in encoder.word_to_row and "winged" in encoder.word_to_row
