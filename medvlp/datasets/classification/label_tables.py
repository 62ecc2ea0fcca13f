# Copyright (c) medvlp contributors. All rights reserved.
"""Reading the official label tables of NIH ChestX-ray14, CheXpert and RSNA Pneumonia.

Shared by ``tools/dataset_converters/prepare_{nih,chexpert,rsna}.py`` and the tests that
check medvlp's shipped split lists against the tables.
"""
import csv
import gzip
import io
import os.path as osp
import zipfile
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from medvlp.utils.cli import UserError
from .split_list import NIH_CLASSES

#: The 14 observations of CheXpert's ``train.csv``, in its column order.
CHEXPERT_OBSERVATIONS = ('No Finding', 'Enlarged Cardiomediastinum', 'Cardiomegaly',
                         'Lung Opacity', 'Lung Lesion', 'Edema', 'Consolidation', 'Pneumonia',
                         'Atelectasis', 'Pneumothorax', 'Pleural Effusion', 'Pleural Other',
                         'Fracture', 'Support Devices')
CHEXPERT_META_COLUMNS = ('Path', 'Sex', 'Age', 'Frontal/Lateral', 'AP/PA')
#: The standard 5-class recipe (U-Ones for three classes, U-Zeros for two): what an
#: uncertain (-1) label becomes. Blank (not mentioned) is always negative.
CHEXPERT_UNCERTAINTY_POLICY: Dict[str, int] = {
    'Atelectasis': 1,
    'Edema': 1,
    'Pleural Effusion': 1,
    'Cardiomegaly': 0,
    'Consolidation': 0,
}
CHEXPERT_VALUES = {'1.0': 1, '1': 1, '0.0': 0, '0': 0, '': 0}
CHEXPERT_UNCERTAIN = ('-1.0', '-1')

NIH_COLUMNS = ('Image Index', 'Finding Labels', 'Follow-up #', 'Patient ID', 'Patient Age',
               'Patient Gender', 'View Position', 'OriginalImage[Width', 'Height]',
               'OriginalImagePixelSpacing[x', 'y]')
NIH_NO_FINDING = 'No Finding'
RSNA_COLUMNS = ('patientId', 'x', 'y', 'width', 'height', 'Target')


class LabelTableError(UserError, ValueError):
    """A label table that does not have the expected layout or values."""


def read_table_text(path: str) -> str:
    """The text of a CSV table, from ``.csv``, ``.csv.gz`` or a ``.zip`` holding one CSV."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'label table "{path}" does not exist')
    if path.endswith('.gz'):
        with gzip.open(path, 'rb') as f:
            return f.read().decode('utf-8-sig')
    if path.endswith('.zip'):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith('.csv')]
            if len(names) != 1:
                raise LabelTableError(f'{path}: expected one CSV file in the archive, found '
                                      f'{names or archive.namelist()}')
            return archive.read(names[0]).decode('utf-8-sig')
    with open(path, encoding='utf-8-sig') as f:
        return f.read()


def read_table(path: str, required: Sequence[str],
               optional: Sequence[str] = ()) -> List[Dict[str, str]]:
    """Read a CSV table whose header must hold ``required`` and nothing but ``optional``.

    Raises:
        LabelTableError: Naming the missing or the unexpected columns.
    """
    reader = csv.DictReader(io.StringIO(read_table_text(path), newline=''))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    unexpected = [c for c in header if c not in required and c not in optional]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f'missing columns {missing}')
        if unexpected:
            parts.append(f'unexpected columns {unexpected}')
        raise LabelTableError(f'{path}: {" and ".join(parts)}; expected the columns '
                              f'{list(required) + list(optional)}')
    reader.fieldnames = header
    return [{k: (v or '').strip() for k, v in row.items()} for row in reader]


def nih_labels(findings: str, where: str = '') -> np.ndarray:
    """Multi-hot labels (MRM's 14-class order) of an NIH ``Finding Labels`` cell.

    Findings are joined by ``|``; ``No Finding`` means all zero.

    Raises:
        LabelTableError: For a finding that is not one of the 14 classes.
    """
    labels = np.zeros(len(NIH_CLASSES), dtype=np.uint8)
    for name in (f.strip() for f in findings.split('|')):
        if name == NIH_NO_FINDING:
            continue
        if name not in NIH_CLASSES:
            raise LabelTableError(f'{where}unknown NIH finding {name!r}; expected '
                                  f'{NIH_NO_FINDING!r} or one of {list(NIH_CLASSES)}')
        labels[NIH_CLASSES.index(name)] = 1
    return labels


def chexpert_labels(row: Mapping[str, str],
                    classes: Sequence[str],
                    policy: Optional[Mapping[str, int]] = None,
                    where: str = '') -> np.ndarray:
    """0/1 labels of a CheXpert row for ``classes`` under an uncertainty ``policy``.

    ``1.0`` → 1, ``0.0`` and blank → 0, ``-1.0`` → ``policy[class]`` (default
    :data:`CHEXPERT_UNCERTAINTY_POLICY`).

    Raises:
        LabelTableError: For a value that is none of these, or an uncertain value of a class
            the policy does not cover.
    """
    policy = CHEXPERT_UNCERTAINTY_POLICY if policy is None else policy
    labels = np.zeros(len(classes), dtype=np.uint8)
    for i, name in enumerate(classes):
        value = row[name]
        if value in CHEXPERT_UNCERTAIN:
            if name not in policy:
                raise LabelTableError(f'{where}uncertain {name!r} but the uncertainty policy '
                                      f'only covers {sorted(policy)}')
            labels[i] = policy[name]
        elif value in CHEXPERT_VALUES:
            labels[i] = CHEXPERT_VALUES[value]
        else:
            raise LabelTableError(f'{where}{name!r} has value {value!r}; expected 1.0, 0.0, '
                                  '-1.0 or blank')
    return labels


def rsna_targets(rows: Iterable[Mapping[str, str]], where: str = '') -> Dict[str, int]:
    """``patientId`` → 1 if any of its rows (one per box) has ``Target`` 1, else 0."""
    targets: Dict[str, int] = {}
    for lineno, row in enumerate(rows, start=2):
        if row['Target'] not in ('0', '1'):
            raise LabelTableError(f'{where}line {lineno}: Target must be 0 or 1, got '
                                  f'{row["Target"]!r}')
        pid = row['patientId']
        targets[pid] = max(targets.get(pid, 0), int(row['Target']))
    return targets


def read_chexpert_table(path: str) -> List[Dict[str, str]]:
    """The rows of CheXpert's ``train.csv`` / ``valid.csv`` (columns checked)."""
    return read_table(path, CHEXPERT_META_COLUMNS + CHEXPERT_OBSERVATIONS)


def read_nih_table(path: str) -> List[Dict[str, str]]:
    """The rows of NIH's ``Data_Entry_2017*.csv`` (columns checked)."""
    return read_table(path, NIH_COLUMNS[:2], NIH_COLUMNS[2:])


def read_rsna_table(path: str) -> List[Dict[str, str]]:
    """The rows of RSNA's ``stage_2_train_labels.csv`` (columns checked)."""
    return read_table(path, RSNA_COLUMNS)


def format_split_line(image: str, labels: Sequence[int]) -> str:
    """One split-list line: ``<image> <y_1> ... <y_k>``."""
    return ' '.join([image] + [str(int(v)) for v in labels])


def split_list_lines(entries: Iterable[Tuple[str, Sequence[int]]]) -> str:
    """The text of a split list (one line per entry, final newline)."""
    return ''.join(format_split_line(image, labels) + '\n' for image, labels in entries)
