"""`collector.imports_frozen`: the collector off inside the block, what exists frozen at its end, and the
collector's previous state restored (on or off, also when the block raises)."""

import gc

import pytest

from engagement_pipeline.frozen_imports import imports_frozen


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_off_inside_and_as_before_after(enabled: bool) -> None:
    before = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with imports_frozen():
            assert not gc.isenabled()
            with imports_frozen():  # nested: the outer block's state (off) stays
                pass
            assert not gc.isenabled()
            built = [[] for _ in range(3)]
        assert gc.isenabled() is enabled
        assert not any(o is built for o in gc.get_objects())  # frozen: in no generation the collector walks
        with pytest.raises(ValueError), imports_frozen():
            raise ValueError
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if before else gc.disable)()
