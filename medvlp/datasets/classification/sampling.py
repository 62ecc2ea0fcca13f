# Copyright (c) medvlp contributors. All rights reserved.
"""Deterministic, seeded, patient-disjoint, stratified splits and label fractions.

For data without official lists. Patients (not images) are shuffled, so all images of one
patient land in the same split. Stratification is by each patient's rarest positive class
(patients without any positive form their own stratum), which keeps every class, rare
ones included, in each split and fraction in about the same proportion. The label fractions
are nested: the 1% training patients are among the 10%, which are among the 100%.
"""
import random
from collections import defaultdict
from typing import Dict, Hashable, List, Mapping, Sequence, Tuple

import numpy as np


def _patient_strata(patients: Mapping[Hashable, np.ndarray]) -> Dict[int, List[Hashable]]:
    """Stratum of each patient: its rarest positive class, ``-1`` for none."""
    totals = np.sum(np.stack(list(patients.values())), axis=0)
    strata: Dict[int, List[Hashable]] = defaultdict(list)
    for patient, positives in patients.items():
        classes = np.flatnonzero(positives)
        key = int(classes[np.argmin(totals[classes])]) if len(classes) else -1
        strata[key].append(patient)
    return strata


def patient_disjoint_split(
        samples: Sequence[Tuple[Hashable, Hashable, Sequence[int]]],
        val_ratio: float = 0.1,
        test_ratio: float = 0.2,
        train_fractions: Sequence[int] = (1, 10, 100),
        seed: int = 0) -> Dict[str, List[Hashable]]:
    """Split samples into train (at each label fraction), val and test by patient.

    Args:
        samples: ``(sample key, patient id, multi-hot labels)`` for every sample.
        val_ratio (float): Share of the patients for validation.
        test_ratio (float): Share of the patients for testing.
        train_fractions (Sequence[int]): Percentages of the training patients to keep, each
            a nested subset of the next larger one.
        seed (int): Seed of the shuffle; the same seed and samples give the same split.

    Returns:
        dict: ``{'train_<f>': keys, ..., 'val': keys, 'test': keys}``, keys in input order.
    """
    if not 0 <= val_ratio + test_ratio < 1:
        raise ValueError(f'val_ratio + test_ratio must be in [0, 1), got '
                         f'{val_ratio} + {test_ratio}')
    patients: Dict[Hashable, np.ndarray] = {}
    for _, patient, labels in samples:
        labels = np.asarray(labels, dtype=bool)
        patients[patient] = patients[patient] | labels if patient in patients else labels
    rng = random.Random(seed)
    rank: Dict[Hashable, Tuple[str, float]] = {}
    for stratum in sorted(_patient_strata(patients).items()):
        members = sorted(stratum[1], key=str)
        rng.shuffle(members)
        n = len(members)
        n_test, n_val = round(n * test_ratio), round(n * val_ratio)
        n_train = n - n_test - n_val
        for i, patient in enumerate(members):
            if i < n_test:
                rank[patient] = ('test', 0.0)
            elif i < n_test + n_val:
                rank[patient] = ('val', 0.0)
            else:
                # position among this stratum's training patients, as a percentage
                rank[patient] = ('train', 100.0 * (i - n_test - n_val + 1) / n_train)
    out: Dict[str, List[Hashable]] = {f'train_{f}': [] for f in train_fractions}
    out.update(val=[], test=[])
    for key, patient, _ in samples:
        split, position = rank[patient]
        if split != 'train':
            out[split].append(key)
            continue
        for fraction in train_fractions:
            if position <= fraction + 1e-9:
                out[f'train_{fraction}'].append(key)
    return out

