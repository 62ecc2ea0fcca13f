# Copyright (c) medvlp contributors. All rights reserved.
"""Reading and writing medvlp annotation files (JSON, JSONL, CSV; optionally gzipped)."""
import csv
import gzip
import io
import json
import os
import os.path as osp
from typing import Any, List, Optional, Sequence, Tuple

from mmengine.fileio import exists, get, get_text

def read_text(path: str, backend_args: Optional[dict] = None) -> str:
    """Read a UTF-8 text file (BOM tolerated), gunzipping ``.gz`` files."""
    if path.endswith('.gz'):
        return gzip.decompress(get(path, backend_args=backend_args)).decode('utf-8-sig')
    return get_text(path, encoding='utf-8-sig', backend_args=backend_args)


def json_records(content: Any, path: str) -> Tuple[dict, List[dict]]:
    """Split loaded JSON into ``(metainfo, rows)``: mmengine format or a plain list.

    Raises:
        ValueError: If ``content`` is neither.
    """
    if isinstance(content, dict) and 'data_list' in content:
        return dict(content.get('metainfo') or {}), content['data_list']
    if isinstance(content, list):
        return {}, content
    keys = list(content)[:10] if isinstance(content, dict) else type(content).__name__
    raise ValueError(
        f'annotation file "{path}" must hold a list of records or a dict with "metainfo" '
        f'and "data_list"; got {keys}')


def read_annotation_file(path: str,
                         backend_args: Optional[dict] = None) -> Tuple[dict, List[dict]]:
    """Read an annotation file into ``(metainfo, rows)``.

    Formats, chosen by suffix (each optionally gzipped, ``.csv.gz``):

    - ``.json``: mmengine's ``{"metainfo": {...}, "data_list": [...]}`` or a plain list
      of records;
    - ``.jsonl``: one JSON record per line (blank lines are ignored);
    - ``.csv``: one row per image with a header line; every cell is a string.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: For an unknown suffix or content that is not a list of records.
    """
    if not exists(path, backend_args=backend_args):
        raise FileNotFoundError(f'annotation file "{path}" does not exist')
    name = path[:-3] if path.endswith('.gz') else path
    suffix = osp.splitext(name)[1].lower()
    if suffix not in ('.json', '.jsonl', '.csv'):
        raise ValueError(f'annotation file "{path}" must end in .json, .jsonl or .csv '
                         '(optionally .gz)')
    text = read_text(path, backend_args)
    if suffix == '.json':
        metainfo, rows = json_records(json.loads(text), path)
    elif suffix == '.jsonl':
        metainfo, rows = {}, []
        for line_no, line in enumerate(text.split('\n'), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}, line {line_no}: not valid JSON ({e})') from e
    else:
        metainfo, rows = {}, list(csv.DictReader(io.StringIO(text, newline='')))
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f'{path}: record {i} is a {type(row).__name__}, not a dict')
    return metainfo, rows


def dump_annotation_file(path: str, metainfo: dict, data_list: Sequence[dict]) -> None:
    """Write ``{"data_list": [...], "metainfo": {...}}`` deterministically.

    Keys are sorted and each record sits on its own line, so two runs over the same
    input give byte-identical files and a ``diff`` shows changed records. Non-ASCII text
    is written as UTF-8. ``mmengine.load`` and :class:`ImageReportDataset` read it.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp_path = f'{path}.tmp'
    with open(tmp_path, 'w', encoding='utf-8', newline='\n') as f:
        f.write('{"data_list": [')
        for i, record in enumerate(data_list):
            f.write(',\n' if i else '\n')
            f.write(json.dumps(record, sort_keys=True, ensure_ascii=False))
        f.write('\n],\n"metainfo": ')
        f.write(json.dumps(metainfo, sort_keys=True, ensure_ascii=False))
        f.write('}\n')
    os.replace(tmp_path, path)
