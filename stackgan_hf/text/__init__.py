"""Text encoders: prompts -> ``[B, D]`` float embeddings."""

from .bag_of_words import HashedBagOfWordsEncoder, tokenize_caption
from .char_cnn_rnn import CharCNNRNNEncoder, char_tokenizer
from .encoders import encode_prompts, load_text_encoder, resolve_pooling, text_embedding_dim

__all__ = [
    "CharCNNRNNEncoder",
    "char_tokenizer",
    "HashedBagOfWordsEncoder",
    "encode_prompts",
    "load_text_encoder",
    "resolve_pooling",
    "text_embedding_dim",
    "tokenize_caption",
]
