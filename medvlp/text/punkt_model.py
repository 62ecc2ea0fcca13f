# Copyright (c) medvlp contributors. All rights reserved.
"""Finding, reading and writing Punkt sentence-boundary models, fully offline.

Two on-disk formats are supported, and neither is a pickle:

* a ``punkt_tab`` directory as NLTK ships it (``abbrev_types.txt``, ``collocations.tab``,
  ``sent_starters.txt``, ``ortho_context.tab``), e.g. ``<nltk_data>/tokenizers/punkt_tab/english``;
* a single JSON file written by ``tools/dataset_converters/train_punkt.py`` with the keys
  ``abbrev_types``, ``collocations``, ``sent_starters`` and ``ortho_context``.

Nothing here downloads anything: a missing model is reported as None / FileNotFoundError.
"""
import json
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Set, Tuple

from .resources import PUNKT_RADIOLOGY_FILE, resource_path

PUNKT_TAB_FILES = ('abbrev_types.txt', 'collocations.tab', 'sent_starters.txt',
                   'ortho_context.tab')
PUNKT_JSON_FORMAT = 'medvlp-punkt-params-v1'


def _punkt_parameters():
    """A fresh ``nltk`` ``PunktParameters`` (nltk is imported lazily: it is slow to import)."""
    from nltk.tokenize.punkt import PunktParameters
    return PunktParameters()


def _read_lines(path: str) -> List[str]:
    with open(path, encoding='utf-8') as f:
        return [line.rstrip('\n') for line in f if line.strip()]


def read_punkt_tab(directory: str):
    """Read a ``punkt_tab`` model directory into ``PunktParameters``.

    Raises:
        FileNotFoundError: If one of the four table files is missing (the message names it).
    """
    for name in PUNKT_TAB_FILES:
        if not osp.isfile(osp.join(directory, name)):
            raise FileNotFoundError(f'Punkt model directory {directory} has no {name}')
    params = _punkt_parameters()
    params.abbrev_types = set(_read_lines(osp.join(directory, 'abbrev_types.txt')))
    params.sent_starters = set(_read_lines(osp.join(directory, 'sent_starters.txt')))
    params.collocations = {tuple(line.split('\t')[:2])
                           for line in _read_lines(osp.join(directory, 'collocations.tab'))}
    ortho = defaultdict(int)
    for line in _read_lines(osp.join(directory, 'ortho_context.tab')):
        word, _, flags = line.rpartition('\t')
        ortho[word] = int(flags)
    params.ortho_context = ortho
    return params


def read_punkt_json(path: str):
    """Read a JSON Punkt model written by :func:`write_punkt_json`.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not such a model.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Punkt model file not found: {path}')
    with open(path, encoding='utf-8') as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path} is not a JSON Punkt model: {err}') from err
    if not isinstance(data, dict) or data.get('format') != PUNKT_JSON_FORMAT:
        raise ValueError(f'{path} is not a Punkt model written by train_punkt.py '
                         f'(expected "format": "{PUNKT_JSON_FORMAT}")')
    params = _punkt_parameters()
    params.abbrev_types = set(data['abbrev_types'])
    params.sent_starters = set(data['sent_starters'])
    params.collocations = {tuple(pair) for pair in data['collocations']}
    params.ortho_context = defaultdict(int, data['ortho_context'])
    return params


def write_punkt_json(params, path: str, metadata: Optional[dict] = None) -> None:
    """Write ``PunktParameters`` as a deterministic (sorted) JSON model file."""
    data = {
        'format': PUNKT_JSON_FORMAT,
        'metadata': metadata or {},
        'abbrev_types': sorted(params.abbrev_types),
        'sent_starters': sorted(params.sent_starters),
        'collocations': sorted(list(pair) for pair in params.collocations),
        'ortho_context': {word: flags for word, flags in sorted(params.ortho_context.items())
                          if flags},
    }
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write('\n')


def load_punkt_file(path: str):
    """Load a model given as a ``punkt_tab`` directory or a JSON file.

    Raises:
        FileNotFoundError: If ``path`` does not exist or the directory is incomplete.
        ValueError: If the file is not a Punkt model.
    """
    if osp.isdir(path):
        return read_punkt_tab(path)
    return read_punkt_json(path)


def nltk_data_dirs() -> List[str]:
    """Folders searched for ``tokenizers/punkt_tab``, in order.

    ``$MEDVLP_NLTK_DATA`` and ``$NLTK_DATA`` (both ``os.pathsep``-separated, read at call time)
    come first, then ``nltk.data.path``.
    """
    dirs: List[str] = []
    for var in ('MEDVLP_NLTK_DATA', 'NLTK_DATA'):
        dirs.extend(d for d in os.environ.get(var, '').split(os.pathsep) if d)
    import nltk.data
    dirs.extend(str(d) for d in nltk.data.path)
    return list(dict.fromkeys(dirs))


def find_punkt_tab(language: str = 'english') -> Optional[str]:
    """The first ``tokenizers/punkt_tab/<language>`` directory in :func:`nltk_data_dirs`."""
    for root in nltk_data_dirs():
        candidate = osp.join(root, 'tokenizers', 'punkt_tab', language)
        if all(osp.isfile(osp.join(candidate, name)) for name in PUNKT_TAB_FILES):
            return candidate
    return None


def read_radiology_lists(path: Optional[str] = None) -> Dict[str, Set[str]]:
    """Read ``punkt_radiology.txt``: section name -> set of lower-case tokens."""
    lists: Dict[str, Set[str]] = {}
    current: Optional[Set[str]] = None
    for line in _read_lines(path or resource_path(PUNKT_RADIOLOGY_FILE)):
        line = line.strip()
        if line.startswith('#'):
            continue
        if line.startswith('[') and line.endswith(']'):
            current = lists.setdefault(line[1:-1], set())
        elif current is None:
            raise ValueError(f'{path}: token {line!r} before the first [section]')
        else:
            current.add(line.lower())
    return lists


def apply_radiology_lists(params, lists: Dict[str, Set[str]], prime: bool = False) -> None:
    """Adjust ``params`` in place with the radiology lists.

    Args:
        params: ``PunktParameters`` to modify.
        lists (dict): From :func:`read_radiology_lists`.
        prime (bool): Also add the sentence starters (for the untrained fallback model).
    """
    params.abbrev_types |= lists.get('abbreviations', set())
    params.abbrev_types -= lists.get('not_abbreviations', set())
    if prime:
        params.sent_starters |= lists.get('sentence_starters', set())


def collocation_starts(collocations: Iterable[Tuple[str, str]]) -> Set[str]:
    """First words of the Punkt collocations (a cheap pre-check before the pair lookup)."""
    return {pair[0] for pair in collocations}
