"""Bring a database's schema up to date with Alembic, from code or `python -m backend.migrate`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

logger = logging.getLogger(__name__)


def alembic_config(database_url: str) -> Config:
    """An Alembic Config built in code: no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not an option, because ConfigParser would treat a % in a password as syntax.
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the schema of `database_url` to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Downgrade the schema of `database_url` to `revision`."""
    command.downgrade(alembic_config(database_url), revision)


def main(argv: list[str] | None = None) -> None:
    """CLI: upgrade the configured database (or --url) to head."""
    from backend.config import get_settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="database URL (default: DATABASE_URL from the environment or .env)")
    parser.add_argument("--revision", default="head")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = args.url or get_settings().database_url
    logger.info("migrating %s to %s", make_url(url).render_as_string(hide_password=True), args.revision)
    upgrade(url, args.revision)


if __name__ == "__main__":
    main()
