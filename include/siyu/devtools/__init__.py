"""Development and demo tools: not part of the production path.

Nothing else in ``siyu`` imports this package (an import-linter ``forbidden`` contract in
pyproject.toml, checked by ``tests/test_architecture.py``); the one exception is the ``siyu``
command, whose ``siyu generate`` imports ``siyu.devtools.generate`` inside the command.

* ``generate`` -- the sample landing-zone generator (``siyu generate``).
"""
