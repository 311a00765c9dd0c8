"""Registry look-ups and typed parameters."""

from __future__ import annotations

from typing import Literal

import pytest

from harness import method
from harness.model.params import bind, params_from_signature
from harness.plugins.registry import Registry, UnknownNameError


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load()


@pytest.mark.parametrize(
    ("kind", "typo", "meant"),
    [
        ("method", "newton_shulz", "newton_schulz"),
        ("task", "orthogonalise", "orthogonalize"),
        ("backend", "numpi", "numpy"),
        ("backend", "torch_cuda", "torch-cuda"),
    ],
)
def test_unknown_name_lists_close_matches(registry, kind, typo, meant):
    with pytest.raises(UnknownNameError) as err:
        registry.get(kind, typo)
    assert meant in err.value.suggestions
    assert f"unknown {kind} {typo!r}; did you mean" in str(err.value)


def test_unknown_name_without_close_match_says_so(registry):
    with pytest.raises(UnknownNameError, match=r"^unknown method 'zzz'$"):
        registry.method("zzz")


def test_parameters_come_from_the_signature():
    def f(G, *, xp, steps: int = 5, mode: Literal["a", "b"] = "a", tol: float = 1e-6):
        return G

    params = {p.name: p for p in params_from_signature(f, skip=("xp",))}
    assert params["steps"].type is int and params["steps"].default == 5
    assert params["mode"].choices == ("a", "b")
    assert bind(tuple(params.values()), {"tol": 1}) == {"steps": 5, "mode": "a", "tol": 1.0}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"steps": "five"}, "not of type int"),
        ({"steps": True}, "not of type int"),
        ({"mode": "c"}, "not one of 'a', 'b'"),
        ({"stesp": 3}, "unknown parameter"),
    ],
)
def test_bind_rejects_bad_values(values, message):
    def f(G, *, xp, steps: int = 5, mode: Literal["a", "b"] = "a"):
        return G

    with pytest.raises(ValueError, match=message):
        bind(params_from_signature(f, skip=("xp",)), values)


def test_method_parameter_without_annotation_or_default_is_refused():
    with pytest.raises(TypeError, match="needs a type annotation"):

        @method(family="sketch")
        def untyped(A, *, xp, k=3):
            return A

    with pytest.raises(TypeError, match="needs a default"):

        @method(family="sketch")
        def no_default(A, *, xp, k: int):
            return A


def test_method_family_is_checked():
    with pytest.raises(ValueError, match="family 'orthogonaliser'"):

        @method(family="orthogonaliser")
        def typo(G, *, xp):
            return G


def test_unsupported_reason_names_what_the_method_runs_on(registry):
    svd = registry.method("svd_polar")
    assert svd.unsupported_reason("torch", "float64") is None
    assert "does not run in bfloat16" in svd.unsupported_reason("torch", "bfloat16")
