#!/usr/bin/env python3
"""The reference `klaviyo_client.py`: `python scripts/klaviyo_client.py --action track-event ...`.
Runs klaviyo-bridge's klaviyo-client (install the package first: `pip install .`)."""

try:
    from klaviyo_bridge._cli import client_main
except ImportError:
    raise SystemExit("klaviyo_bridge is not installed: run `pip install .` (or `make demo`) from the repository root")

if __name__ == "__main__":
    client_main()
