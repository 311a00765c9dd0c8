"""The built-in plugins of linalg-harness, installed as the import package ``harness_builtins``.

Each module here is one plugin, registered in pyproject.toml under the entry-point group
``harness`` exactly as a third-party plugin registers; the host has no private path to them.
"""
