"""CharCNNRNNEncoder for diffusers' loader, from the installed stackgan-hf package.

`DiffusionPipeline.from_pretrained(<this pipeline>, trust_remote_code=True)` imports this file: the class
is `stackgan_hf.text.char_cnn_rnn.CharCNNRNNEncoder`; the weights and configs are in this folder.
Written by `StackGANPipeline.save_pretrained` (`stackgan_hf.pipeline_stackgan.add_pipeline_code`);
`StackGANPipeline.from_pretrained` does not import it.
"""

try:
    from stackgan_hf.text.char_cnn_rnn import CharCNNRNNEncoder
except ImportError as error:
    raise ImportError(
        "This pipeline's code is the stackgan-hf package (stackgan_hf): install it (`pip install -e .` in a "
        "clone of stackgan-hf) and load again."
    ) from error

__all__ = ["CharCNNRNNEncoder"]
