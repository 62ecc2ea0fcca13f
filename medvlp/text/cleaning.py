# Copyright (c) medvlp contributors. All rights reserved.
"""Normalisation of raw report text before section parsing.

:func:`clean_report_text` keeps the line structure (section headers are found at line starts)
but makes everything else predictable: Unicode is repaired and NFKC-normalised, line endings
are ``\\n``, spaces and tabs inside a line collapse to one space, lines are stripped, at most
one blank line separates paragraphs, and every de-identification placeholder run (MIMIC-CXR
``___``, IU/OpenI ``XXXX``, ``XXXX XXXX XXXX``) becomes a single ``___``.
"""
import math
import re
import unicodedata
from typing import Any

from .errors import EmptyReportError

#: The one placeholder every de-identified span is rewritten to (a single WordPiece token in
#: the shipped MIMIC vocabulary).
DEID_TOKEN = '___'

# Control characters other than tab and newline (C0, DEL, C1), plus zero-width characters.
_CONTROL_RE = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff]')
# Runs of two or more spaces/tabs, or any single whitespace other than space and newline.
_SPACES_RE = re.compile(r'[^\S\n]{2,}|[^\S \n]')
_BLANK_LINES_RE = re.compile(r'\n{3,}')
# MIMIC writes ___ (sometimes longer); OpenI writes XXXX, also glued to words (x-XXXX).
# Written as ``_{2,}|(?<![A-Za-z])X{3,}(?![A-Za-z])`` with the look-behind after the literal
# XXX, so both branches start with a literal and the regex engine can skip ahead (~4x faster).
_DEID_RE = re.compile(r'__+|XXX(?<![A-Za-z]XXX)X*(?![A-Za-z])')
# A run of placeholders separated by spaces or slashes only: "___ ___", "___/___".
_DEID_RUN_RE = re.compile(r'___(?:[ /]+___)+')


def has_only_single_spaces(text: str, allow_newlines: bool = False) -> bool:
    """True when the only whitespace in ``text`` is single spaces (and, if allowed, newlines).

    A fast test (no regular expression) that lets the whitespace substitutions of the text
    pipeline skip text they would return unchanged. It may answer False for text that is in
    fact single-spaced (non-ASCII text, which may hold Unicode spaces, or ASCII text with
    other control characters); the substitution then runs, as it always did.
    """
    if not text.isascii() or '  ' in text:
        return False
    # for ASCII text str.isprintable() is False exactly for \x00-\x1f and \x7f
    if text.isprintable():
        return True
    return allow_newlines and text.replace('\n', '').isprintable()


def _is_printable_ascii(text: str) -> bool:
    """ASCII without control characters (tabs and newlines allowed): nothing to remove.

    For ASCII text ``str.isprintable`` is False exactly for ``\x00-\x1f`` and ``\x7f``,
    the ASCII part of the control-character pattern once tabs and newlines are set aside.
    """
    return text.isascii() and text.replace('\n', '').replace('\t', '').isprintable()


def _is_missing(text: Any) -> bool:
    """Whether ``text`` is None or a float NaN (how pandas writes an empty CSV cell)."""
    return text is None or (isinstance(text, float) and math.isnan(text))


def _repair_unicode(text: str) -> str:
    """Fix mojibake with ftfy when it is installed, then apply NFKC."""
    try:
        import ftfy
    except ImportError:  # ftfy is a runtime requirement, but cleaning must not depend on it
        fixed = text
    else:
        fixed = ftfy.fix_text(text, normalization='NFKC')
    return unicodedata.normalize('NFKC', fixed)


def clean_report_text(text: Any) -> str:
    """Normalise the whitespace, Unicode and de-identification placeholders of a report.

    Args:
        text (str): Raw report or note text. ``bytes`` are decoded as UTF-8 (invalid bytes
            are replaced, never fatal).

    Returns:
        str: The cleaned text; lines are kept, paragraphs are separated by one blank line.

    Raises:
        EmptyReportError: If ``text`` is None, a float NaN, empty, or only whitespace
            (also after removing control characters).
        TypeError: If ``text`` is neither ``str``, ``bytes`` nor a missing value.
    """
    if _is_missing(text):
        raise EmptyReportError(f'report text is missing ({text!r})')
    if isinstance(text, bytes):
        text = text.decode('utf-8', errors='replace')
    if not isinstance(text, str):
        raise TypeError(f'report text must be a str, got {type(text).__name__}')
    if not text.isascii():
        text = _repair_unicode(text)
    if '\r' in text:
        text = text.replace('\r\n', '\n').replace('\r', '\n')
    printable = _is_printable_ascii(text)
    if not printable:
        text = _CONTROL_RE.sub('', text)
    if 'XXX' in text or '__' in text:  # cheap guard: the placeholder regex is slow
        text = _DEID_RUN_RE.sub(DEID_TOKEN, _DEID_RE.sub(DEID_TOKEN, text))
    # Printable ASCII with newlines and no tab stays so (placeholders are printable ASCII):
    # has_only_single_spaces(text, allow_newlines=True) then only looks for double spaces.
    single_spaced = '  ' not in text if printable and '\t' not in text else \
        has_only_single_spaces(text, allow_newlines=True)
    if not single_spaced:
        text = _SPACES_RE.sub(' ', text)
    if '\n' in text:
        # spaces and newlines are now the only whitespace: without a space next to a
        # newline, only the text's ends are left to strip, which text.strip() does below
        if ' \n' in text or '\n ' in text:
            text = '\n'.join(line.strip() for line in text.split('\n'))
        if '\n\n\n' in text:
            text = _BLANK_LINES_RE.sub('\n\n', text)
    text = text.strip()
    if not text:
        raise EmptyReportError('report text is empty or only whitespace')
    return text
