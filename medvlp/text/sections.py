# Copyright (c) medvlp contributors. All rights reserved.
"""Splitting a radiology report into its sections.

A header is a known section name (any case) followed by a colon, either at the start of a line
or, when it is written upper case or capitalised, right after the end of a sentence on the same
line ("... clear. IMPRESSION: Normal."). Upper-case names that are not known ("WET READ:") are
headers too when they start a line; they keep their own lower-case name. Since every header
ends with a colon, only the text before each colon is examined (a few per report). Known names are
mapped to canonical keys (:data:`SECTION_ALIASES`). MIMIC-CXR's ``FINAL REPORT`` banner is
dropped, and text before the first header is kept under ``'preamble'``.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .cleaning import has_only_single_spaces

#: Canonical section key -> header spellings (lower case, single spaces) that map to it.
SECTION_ALIASES: Dict[str, Tuple[str, ...]] = {
    'findings': ('findings', 'finding', 'report', 'description'),
    'impression': ('impression', 'impressions', 'conclusion', 'conclusions', 'summary',
                   'findings and impression', 'findings/impression', 'impression and findings',
                   'interpretation', 'opinion'),
    'indication': ('indication', 'indications', 'history', 'clinical history',
                   'clinical indication', 'clinical information', 'clinical data',
                   'clinical details', 'reason for exam', 'reason for examination',
                   'reason for this examination', 'reason for study', 'medical condition',
                   'patient history'),
    'comparison': ('comparison', 'comparisons', 'comparison exam', 'comparison study',
                   'comparison studies', 'prior studies', 'reference exam'),
    'technique': ('technique', 'techniques', 'procedure'),
    'examination': ('examination', 'examinations', 'exam', 'study', 'type of examination'),
    'recommendations': ('recommendation', 'recommendations', 'recommendation(s)'),
    'notification': ('notification', 'notifications', 'communication'),
    'addendum': ('addendum', ),
}

_CANONICAL = {alias: key for key, aliases in SECTION_ALIASES.items() for alias in aliases}
# An unknown header is upper case: "WET READ", "PORTABLE AP CHEST", "CHEST, TWO VIEWS".
_GENERIC_HEADER_RE = re.compile(r"[A-Z][A-Z0-9 ,/&()'-]{1,48}[A-Z)]")
_BANNER_RE = re.compile(r'^[ \t]*FINAL REPORT[ \t]*:?[ \t]*$', re.IGNORECASE | re.M)
_PARAGRAPH_RE = re.compile(r'\n[ \t]*\n')
# Whitespace other than a single space (replacing it by one space collapses all whitespace).
_WHITESPACE_RE = re.compile(r'\s{2,}|[^\S ]')

PREAMBLE = 'preamble'


def canonical_section_name(header: str) -> str:
    """Map a header as written ("CLINICAL HISTORY", "Findings") to its canonical key.

    Unknown headers keep their own name in lower case with single spaces.
    """
    name = _single_spaced(header.strip().lower())
    return _CANONICAL.get(name, name)


def _single_spaced(name: str) -> str:
    """``name`` with every whitespace run as one space (the regex only when needed)."""
    return name if has_only_single_spaces(name) else _WHITESPACE_RE.sub(' ', name)


def _known(name: str) -> bool:
    return _single_spaced(name.lower()) in _CANONICAL


def _header_before(text: str, colon: int) -> Optional[int]:
    """Start of the header that ends at ``text[colon] == ':'``, or None if there is none."""
    line_start = text.rfind('\n', 0, colon) + 1
    segment = text[line_start:colon]
    name = segment.strip()
    if name and (_known(name) or _GENERIC_HEADER_RE.fullmatch(name)):
        return line_start + segment.index(name)  # a header that starts the line
    # A known header right after a sentence end on the same line, written HEADER or Header.
    sentence_end = max(segment.rfind('.'), segment.rfind('?'), segment.rfind('!'))
    if sentence_end < 0:
        return None
    name = segment[sentence_end + 1:].strip()
    if name and name[0].isupper() and _known(name):
        return line_start + segment.rindex(name)
    return None


#: ``_header_in(segment)`` of the short segments seen (a segment is the text from a line
#: start up to a colon; a report's headers repeat from report to report, the long segments
#: before other colons do not). Emptied when full.
_HEADER_MEMO: Dict[str, Optional[Tuple[int, str]]] = {}
_HEADER_MEMO_SIZE = 4096
#: Longest segment kept in the memo.
_HEADER_MEMO_LENGTH = 64


def _header_in(segment: str) -> Optional[Tuple[int, str]]:
    """Where the header that ends ``segment`` starts in it and its canonical name, or None.

    ``segment`` is the text between a line start and a colon: :func:`_header_before` and
    :func:`canonical_section_name` look at nothing else, so the answer is kept per segment.
    """
    short = len(segment) <= _HEADER_MEMO_LENGTH
    found = _HEADER_MEMO.get(segment) if short else None
    if found is None and not (short and segment in _HEADER_MEMO):
        start = _header_before(segment, len(segment))
        if start is not None:
            found = (start, canonical_section_name(segment[start:]))
        if short:
            if len(_HEADER_MEMO) >= _HEADER_MEMO_SIZE:
                _HEADER_MEMO.clear()
            _HEADER_MEMO[segment] = found
    return found


def _header_spans(text: str) -> List[Tuple[int, int, str]]:
    """Return ``(start, end, canonical name)`` of every header, in order.

    Headers always end with a colon, so only the text before each colon is inspected.
    """
    spans: List[Tuple[int, int, str]] = []
    colon = text.find(':')
    while colon >= 0:
        line_start = text.rfind('\n', 0, colon) + 1
        found = _header_in(text[line_start:colon])
        if found is not None:
            start = line_start + found[0]
            if not spans or start >= spans[-1][1]:
                spans.append((start, colon + 1, found[1]))
        colon = text.find(':', colon + 1)
    return spans


def tidy_section_text(text: str) -> str:
    """Collapse line wraps inside paragraphs; paragraphs stay separated by a blank line."""
    # Whitespace at the ends only adds blank paragraphs (dropped) or is stripped with its
    # paragraph, so it can go first; one paragraph left then needs no split and join.
    text = text.strip()
    if '\n' not in text:
        return _tidy_paragraph(text)
    paragraphs = (_tidy_paragraph(part) for part in _PARAGRAPH_RE.split(text))
    return '\n\n'.join(part for part in paragraphs if part)


def _tidy_paragraph(text: str) -> str:
    """``text`` with every whitespace run as one space, stripped."""
    return text.strip() if has_only_single_spaces(text) else _WHITESPACE_RE.sub(' ', text).strip()


def extract_sections(text: str) -> Dict[str, str]:
    """Split a report into its sections.

    Args:
        text (str): Report text, ideally already passed through
            :func:`~medvlp.text.cleaning.clean_report_text`.

    Returns:
        Dict[str, str]: An ordered dict from canonical lower-case section name (``'findings'``,
        ``'impression'``, ``'indication'``, ``'comparison'``, ``'technique'``,
        ``'examination'``, ``'recommendations'``, ``'notification'``, ``'addendum'``,
        ``'preamble'``, or an unknown header's own name) to its text, in order of first
        appearance. Line wraps inside a paragraph become spaces; paragraphs are separated by a
        blank line. A section repeated in the report is joined into one entry. Sections that are
        missing or empty are absent.
    """
    return OrderedDict(section_dict(text))


def section_dict(text: str) -> Dict[str, str]:
    """:func:`extract_sections` as a plain ``dict`` (the same items in the same order)."""
    if 'final report' in text.lower():
        text = _BANNER_RE.sub('', text)
    spans = _header_spans(text)
    if not spans:
        body = tidy_section_text(text)
        return {PREAMBLE: body} if body else {}
    sections: Dict[str, str] = {}  # insertion-ordered
    if spans[0][0]:  # else no preamble (the tidy text of '' is '')
        body = tidy_section_text(text[:spans[0][0]])
        if body:
            sections[PREAMBLE] = body
    for index, (_, end, name) in enumerate(spans):
        stop = spans[index + 1][0] if index + 1 < len(spans) else len(text)
        body = tidy_section_text(text[end:stop])
        if body:  # a section repeated in the report is joined into one entry
            sections[name] = sections[name] + '\n\n' + body if name in sections else body
    return sections


def select_sections(sections: Mapping[str, str],
                    names: Sequence[str] = ('findings', 'impression')) -> Tuple[List[str], bool]:
    """The texts used for training: the ``names`` sections that exist, in ``names`` order.

    When none of them exists, the fallback is every other section except the preamble, in
    report order, or the preamble itself when nothing else is there.

    Returns:
        Tuple[List[str], bool]: The texts, and whether the fallback was used.
    """
    chosen = [sections[name] for name in names if sections.get(name)]
    if chosen:
        return chosen, False
    rest = [text for name, text in sections.items() if name != PREAMBLE and text]
    return (rest or [text for text in sections.values() if text]), True
