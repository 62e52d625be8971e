# The native module's surface is typed in klaviyo_bridge/__init__.pyi.
from typing import Any

def __getattr__(name: str) -> Any: ...
