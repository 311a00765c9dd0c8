"""YAML benchmark suites, from file to cases: reading a file and its ``extends:`` chain
(``files``), the JSON Schema (``schema``), checks of values (``values``), include/exclude
rules (``rules``), and validation against the registry with expansion into cases (``loader``)."""
