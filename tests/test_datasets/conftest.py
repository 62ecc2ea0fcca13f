# Copyright (c) medvlp contributors. All rights reserved.
"""Fixtures of the dataset tests: the real shared data and small files built from it."""
import logging
import os
import os.path as osp
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def shared_data_path() -> pathlib.Path:
    """``$MEDVLP_SHARED_DATA``, else ``<repo>/../shared/data``."""
    return pathlib.Path(os.environ.get('MEDVLP_SHARED_DATA',
                                       osp.join(REPO_ROOT.parent, 'shared', 'data')))


@pytest.fixture(scope='session')
def shared_data() -> pathlib.Path:
    """The real test data folder; skips the test when it is not there."""
    path = shared_data_path()
    if not (path / 'openi').is_dir() or not (path / 'covid-cxr').is_dir():
        pytest.skip(f'real test data not found at {path} (set MEDVLP_SHARED_DATA to the '
                    'shared/data folder holding openi/ and covid-cxr/)')
    return path


@pytest.fixture(scope='session')
def covid_images(shared_data) -> list:
    """Sorted paths of the real covid-cxr PNGs (greyscale first, then RGB ones)."""
    folder = shared_data / 'covid-cxr' / 'images'
    return sorted(folder.glob('*.png'))


@pytest.fixture()
def text_module():
    """medvlp.text, or a skip while it is not installed."""
    return pytest.importorskip('medvlp.text')


class _LogCollector(logging.Handler):

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def text(self) -> str:
        return '\n'.join(r.getMessage() for r in self.records)


@pytest.fixture()
def mm_log():
    """Collects what is logged through mmengine's current MMLogger during the test."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    collector = _LogCollector()
    logger.addHandler(collector)
    yield collector
    logger.removeHandler(collector)
