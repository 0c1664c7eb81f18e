"""Prints the parameter count of each StackGAN subnetwork at the default (birds) configuration, as Markdown.

python scripts/count_parameters.py [--text_embedding_dim 1024]
"""

from __future__ import annotations

import argparse

from stackgan_hf.models import architecture_table
from stackgan_hf.utils.cli import positive_int


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--text_embedding_dim", type=positive_int, default=1024)
    args = parser.parse_args(argv)
    print(architecture_table(args.text_embedding_dim))


if __name__ == "__main__":
    main()
