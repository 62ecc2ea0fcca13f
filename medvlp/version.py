# Copyright (c) medvlp contributors. All rights reserved.
__version__ = '0.1.0'


def parse_version_info(version_str: str) -> tuple:
    """Parse a version string like ``'0.1.0'`` or ``'0.1.0rc1'`` into a tuple."""
    parts = []
    for piece in version_str.split('.'):
        if piece.isdigit():
            parts.append(int(piece))
        else:
            digits = ''.join(ch for ch in piece if ch.isdigit())
            rest = piece[len(digits):]
            parts.extend([int(digits) if digits else 0, rest])
    return tuple(parts)


version_info = parse_version_info(__version__)
