# Copyright (c) medvlp contributors. All rights reserved.
"""Fixtures of the report-text tests: the real shared data and objects built from it."""
import json
import os
import pathlib
from typing import List

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

@pytest.fixture(scope='session')
def shared_data() -> pathlib.Path:
    """``$MEDVLP_SHARED_DATA`` or ``<repo>/../shared/data``; skips the test when absent."""
    path = pathlib.Path(os.environ.get('MEDVLP_SHARED_DATA')
                        or REPO_ROOT.parent / 'shared' / 'data')
    if not path.is_dir():
        pytest.skip(f'real data not found at {path}; set MEDVLP_SHARED_DATA')
    return path


@pytest.fixture(scope='session')
def openi_path(shared_data) -> pathlib.Path:
    path = shared_data / 'openi' / 'openi_reports.jsonl'
    if not path.is_file():
        pytest.skip(f'real data not found at {path}; set MEDVLP_SHARED_DATA')
    return path


@pytest.fixture(scope='session')
def openi_reports(openi_path) -> List[dict]:
    """All IU/OpenI reports (dicts with findings, impression, mesh_major, ...)."""
    with open(openi_path, encoding='utf-8') as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='session')
def punkt_tab_dir(shared_data) -> pathlib.Path:
    """The shared English punkt_tab model folder."""
    path = shared_data / 'vocab' / 'nltk_data' / 'tokenizers' / 'punkt_tab' / 'english'
    if not path.is_dir():
        pytest.skip(f'real data not found at {path}; set MEDVLP_SHARED_DATA')
    return path


@pytest.fixture(scope='session')
def splitter(punkt_tab_dir):
    """SentenceSplitter on the shared punkt_tab model (given explicitly: no search)."""
    from medvlp.text import SentenceSplitter
    return SentenceSplitter(punkt_file=str(punkt_tab_dir))


@pytest.fixture(scope='session')
def processor(splitter):
    """ReportProcessor with the shared punkt_tab model and default everything else."""
    from medvlp.text import ReportProcessor
    return ReportProcessor(splitter=splitter)


@pytest.fixture(scope='session')
def openi_records(processor, openi_reports) -> dict:
    """uid -> processed record (findings + impression) for every OpenI report with text."""
    from medvlp.text import EmptyReportError
    records = {}
    for report in openi_reports:
        try:
            records[report['uid']] = processor.process_sections(
                {'findings': report['findings'], 'impression': report['impression']})
        except EmptyReportError:
            continue
    return records


@pytest.fixture(scope='session')
def tokenizer():
    from medvlp.text import WordPieceTokenizer
    return WordPieceTokenizer()
