"""asv benchmarks, generated from the plugin registry and a harness suite file.

asv imports every module of this package to discover benchmarks: keep it to benchmark
modules. See docs/regression-tracking.md.
"""
