"""Dagster metadata that the UI can plot and explain, with personal data masked.

- `table_metadata`: `dagster/column_schema` (a `TableSchema` from the frame's dtypes) and `dagster/row_count`,
  shown on the asset's Overview; numbers given as plain floats/ints land in its Plots tab, run after run.
- `table_preview`: a `MetadataValue.table` (typed columns, sortable in the UI) of the first rows.
- `preview`: the Markdown preview used across the assets; both previews mask every email address
  (`d***@acme.io`) and reduce people's names to initials, because the event log keeps them for ever and is read
  by everyone with access to the UI. Customer (company) names are kept: they are what the page is about.
"""

from __future__ import annotations

import math

import dagster as dg
import pandas as pd

from engagement_pipeline.report.escape import mask_email, mask_emails_in
from engagement_pipeline.report.markdown import markdown_table

PERSON_NAME_COLUMNS = frozenset({"attendee_name", "contact_name", "champion_name", "matched_contact", "name_raw",
                                 "display_name"})
EMAIL_COLUMNS = frozenset({"attendee_email", "contact_email", "champion_email", "email", "attendee_key"})


def _type(dtype: object) -> str:
    kind = getattr(dtype, "kind", "O")
    return {"i": "int", "u": "int", "f": "float", "b": "bool", "M": "datetime", "m": "timedelta"}.get(kind, "string")


def column_schema(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(str(c), _type(t)) for c, t in frame.dtypes.items()])


def table_metadata(frame: pd.DataFrame) -> dict[str, object]:
    """`dagster/column_schema` and `dagster/row_count` for a DataFrame asset."""
    return {"dagster/column_schema": column_schema(frame), "dagster/row_count": dg.MetadataValue.int(len(frame))}


def _initials(name: object) -> str:
    parts = [p for p in str(name).replace(".", " ").split() if p]
    return " ".join(f"{p[0].upper()}." for p in parts) if parts else ""


def masked(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy safe to show in the event log: emails masked everywhere, person-name columns as initials."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if column in EMAIL_COLUMNS:
            out[column] = values.map(lambda v: mask_email(v) if isinstance(v, str) else v)
        elif column in PERSON_NAME_COLUMNS:
            out[column] = values.map(lambda v: _initials(v) if isinstance(v, str) else v)
        elif values.dtype == object:
            out[column] = values.map(lambda v: mask_emails_in(v) if isinstance(v, str) and "@" in v else v)
    return out


def preview(frame: pd.DataFrame, rows: int = 10) -> dg.MetadataValue:
    """The first rows as a Markdown table (masked), for the asset page."""
    if frame.empty:
        return dg.MetadataValue.md("_empty_")
    return dg.MetadataValue.md(markdown_table(masked(frame.head(rows))))


def _plain(value: object) -> str | int | float | bool | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def table_preview(frame: pd.DataFrame, columns: list[str] | None = None, rows: int = 10) -> dg.MetadataValue:
    """The first `rows` rows of `columns` as a typed `MetadataValue.table` (masked)."""
    shown = masked(frame[columns] if columns else frame).head(rows)
    schema = column_schema(shown)
    records = [dg.TableRecord({str(k): _plain(v) for k, v in row.items()})
               for row in shown.to_dict(orient="records")]
    return dg.MetadataValue.table(records=records, schema=schema)
