# Copyright (c) medvlp contributors. All rights reserved.
"""Tests of medvlp.text and its tools (a package, so module names stay unique)."""
