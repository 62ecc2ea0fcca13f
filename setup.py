# Copyright (c) medvlp contributors. All rights reserved.
"""Packaging for medvlp: ``pip install -e .`` (see tools/setup_env.sh for the full stack)."""
import os.path as osp
import re

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_version() -> str:
    with open(osp.join(HERE, 'medvlp', 'version.py'), encoding='utf-8') as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def parse_requirements(fname: str) -> list:
    """Read requirement lines from ``requirements/<fname>``, skipping comments."""
    reqs = []
    with open(osp.join(HERE, 'requirements', fname), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-r'):
                reqs.append(line)
    return reqs


def readme() -> str:
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


setup(
    name='medvlp',
    version=read_version(),
    description='Report-guided pre-training of chest X-ray models on OpenMMLab',
    long_description=readme(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    python_requires='>=3.9',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    include_package_data=True,
    package_data={'medvlp': ['text/resources/*', 'datasets/splits/*', 'datasets/splits/*/*',
                            'models/classifiers/prompts/*.json', '.mim/**/*']},
    install_requires=parse_requirements('runtime.txt'),
    extras_require={
        'all': parse_requirements('runtime.txt') + parse_requirements('mminstall.txt')
        + parse_requirements('optional.txt') + parse_requirements('tests.txt'),
        'mim': parse_requirements('mminstall.txt'),
        'optional': parse_requirements('optional.txt'),
        'tests': parse_requirements('tests.txt'),
        'docs': parse_requirements('docs.txt'),
    },
    zip_safe=False,
)
