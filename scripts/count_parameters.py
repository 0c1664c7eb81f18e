"""Prints the parameter count of each StackGAN subnetwork at the default (birds) configuration, as Markdown.

python scripts/count_parameters.py [--text_embedding_dim 1024]
"""

from __future__ import annotations

import argparse

from stackgan_hf.models import architecture_table

if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--text_embedding_dim", type=int, default=1024)
    args = parser.parse_args()
    print(architecture_table(args.text_embedding_dim))
