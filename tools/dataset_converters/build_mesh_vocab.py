# Copyright (c) medvlp contributors. All rights reserved.
"""Rebuild medvlp's curated radiology MeSH vocabulary from a MeSH descriptor list.

Every heading of the seed list (``medvlp/text/resources/radiology_mesh_seed.tsv`` by default)
is looked up in a MeSH descriptor CSV with the columns ``id,term`` (for example
``shared/data/vocab/mesh_terms.csv``); the descriptor UI and the MeSH spelling of the heading
are written, with the seed's forms, to the file given with ``--out``. The output depends only
on the two inputs (no dates, no absolute paths), so rebuilding from the same files reproduces
the shipped vocabulary (``medvlp/text/resources/radiology_mesh.tsv``) byte for byte. Writing
over a shipped resource file needs ``--force``.

A seed heading that is not in the MeSH list is an error (the tool names every such heading and
exits with status 1) unless ``--allow-missing`` is given, in which case it is left out with a
warning.

Example::

    python tools/dataset_converters/build_mesh_vocab.py ../shared/data/vocab/mesh_terms.csv \
        --out my_radiology_mesh.tsv
"""
import argparse
import csv
import hashlib
import os.path as osp
import sys
from typing import Dict, List, Sequence, Tuple

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from medvlp.text.mesh import FORM_SEPARATOR, MeshEntry, MeshVocabulary  # noqa: E402
from medvlp.text.resources import (MESH_SEED_FILE, MESH_VOCAB_FILE,  # noqa: E402
                                   resource_path)


class SeedError(ValueError):
    """The seed list or the MeSH list cannot be used; the message says why."""


def sha256_of(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 16), b''):
            digest.update(block)
    return digest.hexdigest()


def read_mesh_terms(path: str) -> Dict[str, Tuple[str, str]]:
    """Read a MeSH CSV with ``id`` and ``term`` columns.

    Returns:
        Dict[str, Tuple[str, str]]: lower-case term -> (descriptor id, term as spelt in MeSH).

    Raises:
        SeedError: If the file lacks the ``id`` or ``term`` column.
    """
    with open(path, encoding='utf-8', newline='') as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or not {'id', 'term'} <= set(reader.fieldnames):
            raise SeedError(f'{path}: expected the columns "id,term", got {reader.fieldnames}')
        return {row['term'].strip().lower(): (row['id'].strip(), row['term'].strip())
                for row in reader if row['id'] and row['term']}


def read_seed(path: str) -> List[Tuple[int, str, List[str]]]:
    """Read the seed list: ``(line number, heading, forms)`` per non-comment line.

    Raises:
        SeedError: On a line without exactly one tab, a repeated heading or an empty form list.
    """
    rows, seen = [], {}
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            line = line.rstrip('\n')
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            cells = line.split('\t')
            if len(cells) != 2:
                raise SeedError(f'{path}:{number}: expected "<heading><TAB><form>|<form>...", '
                                f'got {line!r}')
            heading = cells[0].strip()
            forms = [form.strip() for form in cells[1].split(FORM_SEPARATOR) if form.strip()]
            if not forms:
                raise SeedError(f'{path}:{number}: heading {heading!r} has no forms')
            if heading.lower() in seen:
                raise SeedError(f'{path}:{number}: heading {heading!r} repeats line '
                                f'{seen[heading.lower()]}')
            seen[heading.lower()] = number
            rows.append((number, heading, forms))
    return rows


def build_entries(seed: Sequence[Tuple[int, str, List[str]]],
                  mesh: Dict[str, Tuple[str, str]]) -> Tuple[List[MeshEntry], List[str]]:
    """Resolve seed headings against MeSH.

    Returns:
        Tuple[List[MeshEntry], List[str]]: the entries found, and a message per seed heading
        that is not a MeSH descriptor.
    """
    entries, missing = [], []
    for number, heading, forms in seed:
        found = mesh.get(heading.lower())
        if found is None:
            missing.append(f'line {number}: {heading!r} is not a MeSH descriptor heading')
            continue
        unique_forms = list(dict.fromkeys(form.lower() for form in forms))
        entries.append(MeshEntry(found[0], found[1], tuple(unique_forms)))
    return entries, missing


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Rebuild the curated radiology MeSH vocabulary from a MeSH term list.')
    parser.add_argument('mesh_terms', help='MeSH descriptor CSV with the columns id,term')
    parser.add_argument('--seed', default=resource_path(MESH_SEED_FILE),
                        help='curated seed list (default: the shipped radiology_mesh_seed.tsv)')
    parser.add_argument('--out', required=True,
                        help='output vocabulary file, e.g. my_radiology_mesh.tsv (load it with '
                        'MeshVocabulary.load(path))')
    parser.add_argument('--force', action='store_true',
                        help='allow --out to replace a file shipped in medvlp/text/resources '
                        '(the vocabulary medvlp uses by default)')
    parser.add_argument('--allow-missing', action='store_true',
                        help='leave out seed headings that are not in the MeSH list instead '
                        'of failing')
    return parser.parse_args(argv)


def is_shipped_resource(path: str) -> bool:
    """Whether ``path`` is (or would be) a file in medvlp's resource folder."""
    folder = osp.dirname(osp.realpath(resource_path(MESH_VOCAB_FILE)))
    return osp.dirname(osp.realpath(path)) == folder


def main(argv=None) -> int:
    args = parse_args(argv)
    if is_shipped_resource(args.out) and not args.force:
        print(f'error: --out {args.out} is a resource shipped with medvlp; write to another '
              'file, or pass --force to replace it (e.g. after changing the seed list)',
              file=sys.stderr)
        return 1
    for path in (args.mesh_terms, args.seed):
        if not osp.isfile(path):
            print(f'error: {path} does not exist', file=sys.stderr)
            return 1
    try:
        mesh = read_mesh_terms(args.mesh_terms)
        entries, missing = build_entries(read_seed(args.seed), mesh)
        vocabulary = MeshVocabulary(entries)
    except ValueError as err:  # SeedError, or a form clash found by MeshVocabulary
        print(f'error: {err}', file=sys.stderr)
        return 1
    if missing:
        for message in missing:
            print(f'{"warning" if args.allow_missing else "error"}: {args.seed}: {message}',
                  file=sys.stderr)
        if not args.allow_missing:
            print(f'error: {len(missing)} seed heading(s) are not in {args.mesh_terms}; fix the '
                  'seed or pass --allow-missing to leave them out', file=sys.stderr)
            return 1
    n_forms = sum(len(entry.forms) for entry in vocabulary)
    vocabulary.save(args.out, comments=(
        'medvlp curated chest-radiology MeSH vocabulary. Generated file, do not edit: change '
        f'{osp.basename(args.seed)} and run tools/dataset_converters/build_mesh_vocab.py.',
        f'seed: {osp.basename(args.seed)} sha256={sha256_of(args.seed)}',
        f'mesh: {osp.basename(args.mesh_terms)} sha256={sha256_of(args.mesh_terms)} '
        f'({len(mesh)} descriptors)',
        f'{len(vocabulary)} headings, {n_forms} forms. MeSH content: U.S. National Library of '
        'Medicine (NLM terms and conditions).',
    ))
    print(f'wrote {len(vocabulary)} headings and {n_forms} forms to {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
