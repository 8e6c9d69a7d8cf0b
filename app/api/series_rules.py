"""`/api/series-rules`: alarm rules on ingested series (above, below, stale), one per
series. Stored here; the server's `SeriesAlarms` (app/control/series_alarms.py) takes each
change from its event on `_series-rules` and applies it at once."""

from __future__ import annotations

from ..db.models import SeriesAlarmRule
from .crud import Resource
from .schemas import SeriesRuleIn, SeriesRuleOut, SeriesRulePatch

RESOURCE = Resource(
    name="series-rules",
    singular="series_rule",
    model=SeriesAlarmRule,
    create=SeriesRuleIn,
    patch=SeriesRulePatch,
    out=SeriesRuleOut,
    unique_field="series",
)
