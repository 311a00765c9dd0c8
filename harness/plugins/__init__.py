"""The host's side of plugins: the hook specifications (``hookspecs``), finding and loading
plugins through entry points (``discovery``), the name → object registry built from their
hooks (``registry``), and the conformance checks of ``harness check-plugin`` (``conformance``)."""
