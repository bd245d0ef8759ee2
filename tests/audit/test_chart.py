"""The statistics charts: whole-count axes, escaped labels, accessible SVG."""

from __future__ import annotations

import pytest

from gongshu.audit.chart import axis, bar_chart, column_chart


@pytest.mark.parametrize("value", [0, 1, 3, 9, 57, 1460, 7058, 1_000_001])
def test_axis_covers_the_largest_value_in_whole_steps(value: int) -> None:
    top, ticks = axis(value)
    assert top >= value and ticks[0] == 0 and ticks[-1] == top
    assert all(t == int(t) for t in ticks) and 2 <= len(ticks) <= 7


def test_charts_escape_labels_and_carry_their_numbers() -> None:
    svg = str(
        bar_chart(title="按机构", desc="说明", labels=["<script>x</script>", "乙"],
                  values=[12, 3], value_title="调用次数")
    )  # fmt: skip
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'role="img"' in svg and "调用次数: 12" in svg
    days = str(
        column_chart(title="每日", desc="说明", labels=["03-01", "03-02"], values=[0, 5],
                     value_title="调用次数", x_title="日期")
    )  # fmt: skip
    assert days.count("<rect") == 2 and "03-02 · 调用次数: 5" in days
