"""``python -m pytest_pods``: the same as the ``pytest-pods`` command."""

from pytest_pods.cli import main

raise SystemExit(main())
