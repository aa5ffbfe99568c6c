"""The comparison function and the tolerance table."""
import numpy as np
import pytest

from equivalence.compare import (BITWISE, TOLERANCES, Mismatch, assert_equivalent,
                                 compare_observations, tolerance_for)


def test_bitwise_by_default_catches_one_ulp():
    a = np.array([1.0, 2.0], np.float32)
    b = a.copy()
    b[1] = np.nextafter(b[1], np.float32(3))
    with pytest.raises(Mismatch, match=r"1 of 2 elements differ.*index \(1,\).*bitwise"):
        assert_equivalent(b, a, what="x")


def test_signed_zero_counts_under_bitwise_and_nan_matches_nan():
    with pytest.raises(Mismatch):
        assert_equivalent(np.array([-0.0]), np.array([0.0]), what="zero")
    assert_equivalent(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), what="nan")


def test_a_large_difference_from_an_expected_zero_is_a_mismatch_not_a_warning():
    # Found by a nightly shard (test_resume, a loss of 45.8 against 0.0): the relative
    # difference overflowed, and NumPy's RuntimeWarning — an error under the suite's
    # filterwarnings — took the place of the discrepancy's message.
    with pytest.raises(Mismatch, match=r"\(45\.776\d* vs expected 0\).*relative difference inf"):
        assert_equivalent(np.array([45.77617645]), np.array([0.0]), what="loss")


@pytest.mark.parametrize("rtol, atol", [(0.0, 0.0), (1e-3, 1e-3)])
def test_equal_infinities_agree_and_an_infinity_against_a_number_is_a_mismatch(rtol, atol):
    # Found by the ci matrix on tf221 (stop 37: train_steps under mixed_float16, a loss that
    # overflowed to inf in every API): inf - inf is NaN, and NumPy's RuntimeWarning — an
    # error under the suite's filterwarnings — took the place of the comparison.
    inf = np.array([np.inf, -np.inf, 1.0], np.float16)
    assert_equivalent(inf, inf.copy(), what="loss", rtol=rtol, atol=atol)
    with pytest.raises(Mismatch, match=r"1 of 3 elements differ.*\(inf vs expected 1\)"):
        assert_equivalent(np.array([np.inf, -np.inf, np.inf], np.float16), inf, what="loss",
                          rtol=rtol, atol=atol)


def test_tolerance_needs_both_rtol_and_atol():
    with pytest.raises(ValueError, match="both"):
        assert_equivalent(np.zeros(1), np.zeros(1), what="x", rtol=1e-3)


def test_within_tolerance_passes_and_beyond_fails():
    a = np.array([1.0, 1.0 + 1e-7])
    assert_equivalent(a, np.ones(2), what="x", rtol=1e-6, atol=0.0)
    with pytest.raises(Mismatch, match="rtol=1e-09"):
        assert_equivalent(a, np.ones(2), what="x", rtol=1e-9, atol=0.0)


def test_shape_dtype_and_structure_mismatches_are_named():
    with pytest.raises(Mismatch, match="shape/dtype"):
        assert_equivalent(np.zeros(2, np.float32), np.zeros(2, np.float64), what="x")
    with pytest.raises(Mismatch, match="2 arrays, expected 1"):
        assert_equivalent([np.zeros(1), np.zeros(1)], [np.zeros(1)], what="w")
    with pytest.raises(Mismatch, match="'b'"):
        assert_equivalent(["a", "b"], ["a", "c"], what="names")


def test_compare_observations_names_the_disagreeing_api_only():
    seq = {"y": np.ones(3)}
    observed = {"sequential": seq, "functional": {"y": np.ones(3)},
                "subclassed": {"y": np.zeros(3)}}
    assert set(compare_observations(observed)) == {"subclassed"}


def test_every_tolerance_has_a_reason_and_unknown_checks_are_bitwise():
    assert all(t.reason and t.rtol >= 0 and t.atol >= 0 for t in TOLERANCES)
    assert tolerance_for("call", "float32") is BITWISE


def test_a_refusal_every_api_shares_is_the_expected_observation():
    # A Lambda of a Python lambda must be refused in safe mode (LayerInfo.refusal): refused
    # alike by every API the saving check agrees; one API loading it stays a finding, an
    # API failing otherwise keeps its error, and a stack without such a layer never gets
    # the rule.
    from equivalence.checks import CHECKS, compare
    from equivalence.compare import ERROR
    from equivalence.spec import InputSpec, LayerSpec, StackSpec

    refusal = {ERROR: "ValueError: Requested the deserialization of a `Lambda` layer whose "
                      "`function` is a Python lambda. This carries a potential risk of "
                      "arbitrary code execution"}
    loaded = {"original": {"y": np.zeros(2)}, "loaded": {"y": np.zeros(2)}}
    spec = StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Lambda", scale=2.0),))
    plain = StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Dense", units=1),))
    check = CHECKS["keras_file"]
    apis = ("sequential", "functional", "subclassed")
    assert compare(check, spec, dict.fromkeys(apis, refusal)) == {}
    assert set(compare(check, spec, {**dict.fromkeys(apis, refusal), "functional": loaded})
               ) == {"sequential", "subclassed"}
    assert set(compare(check, plain, dict.fromkeys(apis, refusal))) == set(apis)
    other = {ERROR: "ValueError: Unknown layer: 'SubclassedStack'"}  # fails before it
    assert set(compare(check, spec, {**dict.fromkeys(apis, refusal), "subclassed": other})
               ) == {"subclassed"}


def test_predict_vs_call_tolerance_follows_the_stack_s_measured_rounding_response():
    # TF 2.18's ci run: Rescaling(1/255, offset=-1) makes three values of order 1 nearly
    # equal, LayerNormalization divides their differences by ~sqrt(epsilon): predict and
    # __call__ differed by 4e-6 in every API alike, past the fixed atol (1e-6). The stack's
    # measured response to one ulp holds that difference; the same difference in a stack
    # that does not magnify rounding, or ten times the widened tolerance here, is reported.
    import dataclasses

    from equivalence.checks import CHECKS, DEFAULT_MODE, compare, observe
    from equivalence.spec import InputSpec, LayerSpec, StackSpec

    check = CHECKS["predict_vs_call"]
    assert all(CHECKS[t.check].within for t in TOLERANCES if t.per_rounding)
    jit = dataclasses.replace(DEFAULT_MODE, jit_compile=True)
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    conditioned = StackSpec(InputSpec("vector", (3,)), (
        LayerSpec.of("Rescaling", scale=1 / 255, offset=-1.0),
        LayerSpec.of("LayerNormalization", center=True, scale=True)))
    plain = StackSpec(InputSpec("vector", (3,)), (LayerSpec.of("Dense", units=3),))
    magnified = observe(check, conditioned, jit, x=x)[0]
    ordinary = observe(check, plain, jit, x=x)[0]
    assert compare(check, conditioned, magnified) == {}
    response = magnified["sequential"]["rounding_response"]
    assert response > 10 * ordinary["sequential"]["rounding_response"] > 0
    allowed = tolerance_for("predict_vs_call", "float32").atol_for(magnified["sequential"])
    assert allowed > 4e-6

    def shifted(observed, by):
        return {api: {**obs, "call": obs["predict"] + by} for api, obs in observed.items()}

    assert set(compare(check, plain, shifted(ordinary, 4e-6))) == set(ordinary)
    assert set(compare(check, conditioned, shifted(magnified, 10 * allowed))) == set(magnified)
    assert compare(check, conditioned, shifted(magnified, allowed / 2)) == {}


def test_a_lambda_config_compares_its_code_not_marshal_s_bytes():
    # CPython's marshal flags an object for back-reference only where it is referenced
    # more than once: the same function, loaded and dumped again, is other bytes (a legacy
    # .h5 round trip on Keras 3.3.3 met it). The config compares the code's fields.
    import binascii
    import marshal

    from equivalence.portable import _plain_config

    def config(code_bytes, form):
        text = binascii.b2a_base64(code_bytes).decode("ascii")
        if form == 3:  # Keras 3: a serialized __lambda__
            return {"function": {"class_name": "__lambda__",
                                 "config": {"code": text, "defaults": None, "closure": None}}}
        return {"function": (text, None, None), "function_type": "lambda"}  # Keras 2

    code = eval("lambda x: x * 2.0").__code__  # noqa: S307
    first = marshal.dumps(code)
    again = marshal.dumps(marshal.loads(first))
    assert first != again  # the bytes differ ...
    other = marshal.dumps(eval("lambda x: x * -0.5").__code__)  # noqa: S307
    for form in (2, 3):
        assert _plain_config(config(first, form)) == _plain_config(config(again, form))
        assert _plain_config(config(first, form)) != _plain_config(config(other, form))
    # ... the code does not: its fields are what is compared
    assert "2.0" in _plain_config(config(first, 3))["function"]["config"]["code"]["consts"]
    assert "2.0" in _plain_config(config(first, 2))["function"][0]["consts"]


def test_an_error_keeps_the_innermost_exception_a_long_wrapper_would_cut_off():
    # Keras wraps a layer's from_config error once per level, each with the whole config
    # first ("... config={...}. Exception encountered: <inner>"): the observation must
    # keep the innermost cause, which a known entry's Raises names (RandomShear's factor).
    from equivalence.portable import describe_error

    inner = ValueError("The `factor` argument should be a number. Received: input_number=-0.2")
    wrapped = TypeError("Error when deserializing 'RandomShear' using config={"
                        + "'x': 1, " * 100 + f"}}.\n\nException encountered: {inner}")
    outer = TypeError(f"<class 'Sequential'> could not be deserialized properly. config="
                      f"{{{'k: 0, ' * 100}}}.\n\nException encountered: {wrapped}")
    line = describe_error(outer)
    assert line.startswith("TypeError: <class 'Sequential'> could not be deserialized")
    assert line.endswith("Exception encountered: " + str(inner))
    assert "\n" not in line and len(line) < 800
    short = describe_error(ValueError("plain. Exception encountered: all of it here"))
    assert short == "ValueError: plain. Exception encountered: all of it here"
