#!/usr/bin/env python3
"""The reference `dev_tools.py`: `python scripts/dev_tools.py --tool health-check`.
Runs klaviyo-bridge's klaviyo-dev-tools (install the package first: `pip install .`)."""

try:
    from klaviyo_bridge._cli import dev_tools_main
except ImportError:
    raise SystemExit("klaviyo_bridge is not installed: run `pip install .` (or `make demo`) from the repository root")

if __name__ == "__main__":
    dev_tools_main()
