# Copyright (c) medvlp contributors. All rights reserved.
"""Normalising the fields of image-report records: splits, views, labels, report text."""
import math
from typing import Any, Optional

#: Canonical split names (MIMIC-CXR's); ``val``/``valid``/``validation`` mean ``validate``.
SPLITS = ('train', 'validate', 'test')
SPLIT_ALIASES = {'val': 'validate', 'valid': 'validate', 'validation': 'validate'}

#: ``views='frontal'`` keeps these views and any view starting with ``'AP '`` or ``'PA '``
#: (``'AP SUPINE'``, ``'AP AXIAL'``, ``'PA LLD'``...). View names compare case-insensitively.
FRONTAL_VIEWS = ('PA', 'AP')


def normalize_split(split: Any) -> Optional[str]:
    """``'val'`` -> ``'validate'``; None/empty stays None; other names are lower-cased."""
    if split is None or (isinstance(split, float) and math.isnan(split)):
        return None
    split = str(split).strip().lower()
    return SPLIT_ALIASES.get(split, split) or None


def normalize_view(view: Any) -> Optional[str]:
    """Upper-case, single-spaced view name (``'AP Supine'`` -> ``'AP SUPINE'``)."""
    if view is None or (isinstance(view, float) and math.isnan(view)):
        return None
    view = ' '.join(str(view).split()).upper()
    return view or None


def is_frontal(view: Optional[str]) -> bool:
    """Whether a normalised view name is a frontal projection."""
    return bool(view) and (view in FRONTAL_VIEWS or view.startswith(('AP ', 'PA ')))


def parse_label(value: Any) -> Optional[int]:
    """Map a label cell to 1, 0, -1 (uncertain) or None (not mentioned).

    Accepts ints, floats (``1.0``, ``-1.0``, NaN) and strings (``'1'``, ``'-1.0'``,
    ``''``, ``'nan'``), as written by CheXpert-style label tables.

    Raises:
        ValueError: For any other value.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == '' or value.lower() in ('nan', 'none', 'null'):
            return None
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f'label value {value!r} is not 1, 0, -1 or empty') from None
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if not value.is_integer():
            raise ValueError(f'label value {value!r} is not 1, 0, -1 or empty')
        value = int(value)
    if value not in (1, 0, -1):
        raise ValueError(f'label value {value!r} is not 1, 0, -1 or empty')
    return value


#: Strings that spreadsheet and dataframe exports write for a missing cell.
MISSING_TEXT = ('nan', 'none', 'null')


def is_empty_text(value: Any) -> bool:
    """None, NaN, blank strings and the strings ``NaN``/``nan``/``None``/``null`` (as
    pandas and spreadsheets write missing cells) are empty report text."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and (not value.strip()
                                       or value.strip().lower() in MISSING_TEXT)
