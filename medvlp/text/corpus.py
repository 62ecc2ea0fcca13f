# Copyright (c) medvlp contributors. All rights reserved.
"""Reading report corpora for the training tools (tokenizer, Punkt model).

Accepted inputs, by path:

* a folder: every ``*.txt`` below it (sorted) is one raw report, as in MIMIC-CXR's
  ``files/p10/p10000032/s50414267.txt``;
* ``*.txt``: one raw report;
* ``*.jsonl`` / ``*.jsonl.gz``: one JSON object per line;
* ``*.json`` / ``*.json.gz``: a list of objects, or medvlp's ``{"data_list": [...]}``.

A JSON object gives its text through a ``report`` field (a medvlp record) or through
section fields such as ``findings`` and ``impression`` (IU/OpenI JSONL). Raw reports are
cleaned and split into sections; the requested sections are kept, with the same fallback as
:class:`~medvlp.text.processor.ReportProcessor`. Reports without usable text are skipped.
"""
import glob
import gzip
import json
import os.path as osp
from typing import IO, Iterable, Iterator, Optional, Sequence

from .cleaning import clean_report_text
from .errors import EmptyReportError
from .sections import extract_sections, select_sections, tidy_section_text


def _open_text(path: str) -> IO[str]:
    if path.endswith('.gz'):
        return gzip.open(path, 'rt', encoding='utf-8')
    return open(path, encoding='utf-8', errors='replace')


def _record_text(record: dict, sections: Sequence[str]) -> Optional[str]:
    """Training text of one JSON object, or None when it has none."""
    if not isinstance(record, dict):
        return None
    if isinstance(record.get('report'), str):
        return _report_text(record['report'], sections)
    found = {}
    for name in sections:
        value = record.get(name)
        if isinstance(value, str):
            try:
                found[name] = tidy_section_text(clean_report_text(value))
            except EmptyReportError:
                continue
    return '\n\n'.join(found.values()) or None


def _report_text(text: str, sections: Sequence[str]) -> Optional[str]:
    """Training text of one raw report, or None when it is empty."""
    try:
        parsed = extract_sections(clean_report_text(text))
    except EmptyReportError:
        return None
    chosen, _ = select_sections(parsed, sections)
    return '\n\n'.join(chosen) or None


def _json_records(path: str) -> Iterator[dict]:
    with _open_text(path) as f:
        if '.jsonl' in osp.basename(path):
            for line in f:
                if line.strip():
                    yield json.loads(line)
            return
        content = json.load(f)
    if isinstance(content, dict):
        content = content.get('data_list', [])
    yield from content


def iter_report_texts(paths: Iterable[str], sections: Sequence[str] = ('findings', 'impression'),
                      limit: Optional[int] = None) -> Iterator[str]:
    """Yield the training text of every report in ``paths`` (formats in the module docstring).

    Args:
        paths (Iterable[str]): Files or folders.
        sections (Sequence[str]): Sections to keep. Defaults to findings and impression.
        limit (int, optional): Stop after this many reports.

    Raises:
        FileNotFoundError: If a path does not exist.
        ValueError: If a file has an unsupported suffix.
    """
    count = 0
    for path in paths:
        if osp.isdir(path):
            files = sorted(glob.glob(osp.join(path, '**', '*.txt'), recursive=True))
            texts: Iterable[Optional[str]] = (_report_text(_read(file), sections)
                                              for file in files)
        elif not osp.isfile(path):
            raise FileNotFoundError(f'corpus path not found: {path}')
        elif path.endswith('.txt'):
            texts = [_report_text(_read(path), sections)]
        elif path.endswith(('.json', '.jsonl', '.json.gz', '.jsonl.gz')):
            texts = (_record_text(record, sections) for record in _json_records(path))
        else:
            raise ValueError(f'unsupported corpus file {path}: expected a folder of .txt '
                             'reports, a .txt report, or .json/.jsonl(.gz) records')
        for text in texts:
            if text:
                yield text
                count += 1
                if limit is not None and count >= limit:
                    return


def _read(path: str) -> str:
    with _open_text(path) as f:
        return f.read()
