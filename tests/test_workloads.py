"""The benchmark workload catalog: every workload is a valid spec that builds in every API."""
import pytest

from benchmarks.workloads import WORKLOADS
from equivalence.builders import build, validate
from equivalence.data import make_inputs
from equivalence.portable import APIS


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_workload_builds_in_every_api_with_the_same_output_shape(name):
    spec = WORKLOADS[name]
    validate(spec)
    x = make_inputs(spec, batch=2)
    shapes = {api: tuple(build(spec, api)(x, training=False).shape) for api in APIS}
    assert len(set(shapes.values())) == 1, shapes
