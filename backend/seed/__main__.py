"""`python -m backend.seed`: migrate the configured database, then seed the demo data."""

from backend.seed import main

main()
