"""Fixtures for the benchmarks: device parametrization, prepared models, metadata."""
import pytest

from benchmarks.devices import device_for, present_devices, selected_kinds

_MODELS = {}


def pytest_generate_tests(metafunc):
    if "device_kind" in metafunc.fixturenames:
        kinds = selected_kinds(metafunc.config.getoption("device"), present_devices())
        metafunc.parametrize("device_kind", kinds)


@pytest.fixture
def device(device_kind):
    found = device_for(device_kind, present_devices())
    if found is None:
        pytest.skip(f"no {device_kind.upper()} present (tf.config.list_physical_devices "
                    f"shows none): {device_kind} cases need one")
    return found


@pytest.fixture(autouse=True)
def user_settings():
    """Benchmarks run with the settings a user has: op determinism off, even inside the
    default test run (where the equivalence suite turns it on for its own checks). XLA
    refuses some ops under determinism (e.g. MaxPool gradients)."""
    from tensorflow.python.framework import config as tf_config

    was_on = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    yield
    if was_on:
        tf_config.enable_op_determinism()
