# Copyright (c) medvlp contributors. All rights reserved.
"""Every checkpoint a guide reads from work_dirs/ is written by a command of the docs: a
``--work-dir work_dirs/<name>`` (``make demo``'s included), or train.py's default
``work_dirs/<config name>``."""
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r'work_dirs/([\w.-]+)/[\w.-]+\.pth')
WRITTEN = re.compile(r'--work-dir\s+(?:\\\s*)?work_dirs/([\w.-]+)')


def _written_work_dirs():
    written = set()
    for path in list((REPO_ROOT / 'docs').rglob('*.md')) + [REPO_ROOT / 'README.md',
                                                           REPO_ROOT / 'Makefile']:
        written |= set(WRITTEN.findall(path.read_text(encoding='utf-8')))
    # tools/train.py without --work-dir writes to work_dirs/<config file name>
    written |= {config.stem for config in (REPO_ROOT / 'configs').rglob('*.py')}
    return written


def test_checkpoints_read_in_the_docs_are_written_by_a_documented_command():
    written = _written_work_dirs()
    assert 'demo' in written  # make demo
    unwritten = []
    for path in (REPO_ROOT / 'docs').rglob('*.md'):
        for line_no, line in enumerate(path.read_text(encoding='utf-8').splitlines(), 1):
            for work_dir in READ.findall(line):
                if work_dir not in written:
                    unwritten.append(f'{path.relative_to(REPO_ROOT)}:{line_no}: work_dirs/'
                                     f'{work_dir}')
    assert not unwritten, 'no documented command writes ' + ', '.join(unwritten)
