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
