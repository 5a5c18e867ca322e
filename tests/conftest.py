import matplotlib
import pytest
from hypothesis import settings

matplotlib.use("Agg")

# Rendering a batch takes milliseconds to tens of them: no per-example deadline, and a
# modest number of examples so the suite stays quick on a 2-core machine.
settings.register_profile("course", deadline=None, max_examples=40)
settings.load_profile("course")


@pytest.fixture(scope="session")
def scenes():
    """One shared batch of cluttered scenes (rendering it once keeps the suite fast)."""
    from helpers.scenes import make_scenes

    return make_scenes(2000, seed=7, distractors=(0, 6))
