"""Console scripts: the same Rust code as the `klaviyo-client` and `klaviyo-dev-tools`
binaries, so flags and output are identical."""

from __future__ import annotations

import sys

from ._native import run_cli


def _run(program: str, name: str) -> None:
    sys.stdout.flush()
    raise SystemExit(run_cli(program, [name, *sys.argv[1:]]))


def client_main() -> None:
    _run("client", "klaviyo-client")


def dev_tools_main() -> None:
    _run("dev-tools", "klaviyo-dev-tools")
