"""Lets `python -m llamacloud_batch` run the `llamacloud-batch` command."""

from .cli import main

raise SystemExit(main())
