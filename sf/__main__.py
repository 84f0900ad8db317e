"""`python -m sf` is the `sf` command."""

from sf.cli import main

raise SystemExit(main())
