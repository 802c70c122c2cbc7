"""Console accounts from the command line: `python -m backend create-agent NAME --role agent|supervisor`.

The password is read from stdin (one line; asked twice without echo at a terminal), never from the
command line, where other users could read it in the process list.

    python -m backend create-agent li.wei --role agent [--display-name "Li Wei"]
    python -m backend set-password li.wei
    python -m backend ensure-demo-agents --var-dir var   (make run; refused in production)

Integration tokens for the carrier's systems (/api/v1); the token is printed once and stored hashed:

    python -m backend create-token tms --scope shipments:write [--scope shipments:read ...]
    python -m backend list-tokens
    python -m backend revoke-token tms

Customer classes (ABC) recomputed from revenue now, as the monthly job does:

    python -m backend recompute-classes [--dry-run]

The weekly volume watch for the last complete week (or the one given), as the weekly job does:

    python -m backend volume-watch [--week 2026-W48] [--dry-run]

The current period of every running care campaign drawn now, as the care job does:

    python -m backend care-open [--dry-run]
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from backend.models import AGENT_ROLES, INTEGRATION_SCOPES


class _Refused(Exception):
    """A message for the terminal and a non-zero exit."""


def read_password(stdin: TextIO) -> str:
    """The new password: typed twice at a terminal, else the first line of stdin."""
    if stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            raise _Refused("the two passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backend", description="Console accounts and integration tokens."
    )
    parser.add_argument("--url", help="database URL (default: DATABASE_URL from the environment or .env)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-agent", help="create an agent or supervisor; password on stdin")
    create.add_argument("name")
    create.add_argument("--role", choices=AGENT_ROLES, required=True)
    create.add_argument("--display-name", help="the name shown in the console (default: NAME)")
    password = commands.add_parser("set-password", help="give an account a new password (stdin); logs it out")
    password.add_argument("name")
    demo = commands.add_parser(
        "ensure-demo-agents",
        help="the demo logins of make run, random passwords in VAR_DIR (not in production)",
    )
    demo.add_argument("--var-dir", type=Path, required=True)
    token = commands.add_parser(
        "create-token",
        help=f"an integration token, printed once; scopes: {', '.join(INTEGRATION_SCOPES)}",
    )
    token.add_argument("name")
    # No `choices`: an unknown scope gets one clear line from the service rather than argparse's usage.
    token.add_argument("--scope", action="append", default=[], metavar="SCOPE", dest="scopes")
    commands.add_parser("list-tokens", help="integration tokens: names, scopes, dates (never the token)")
    revoke = commands.add_parser("revoke-token", help="revoke an integration token at once")
    revoke.add_argument("name")
    classes = commands.add_parser("recompute-classes", help="customer classes (ABC) from revenue, now")
    classes.add_argument("--dry-run", action="store_true", help="print what would change; store nothing")
    volume = commands.add_parser("volume-watch", help="flag customers whose volume dropped")
    volume.add_argument("--week", help="ISO week like 2026-W48 (default: the last complete week)")
    volume.add_argument("--dry-run", action="store_true", help="print who dropped; store nothing")
    care = commands.add_parser("care-open", help="draw the current period of every running care campaign")
    care.add_argument("--dry-run", action="store_true", help="print who would be added; store nothing")
    bulk = commands.add_parser("import", help="import customers, shipments, scans from NDJSON or CSV")
    bulk.add_argument("file", type=Path)
    bulk.add_argument("--kind", choices=("customer", "shipment", "event"), help="a CSV file's rows")
    bulk.add_argument("--batch", type=int, default=1000, help="rows per transaction (default 1000)")
    return parser


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    out = stdout or sys.stdout
    try:
        return _run(args, stdin or sys.stdin, out)
    except _Refused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> int:
    if args.command == "import":
        from backend.services.bulk_import import run_command

        return run_command(args, out)
    if args.command in ("create-token", "list-tokens", "revoke-token"):
        return _run_tokens(args, out)
    if args.command == "volume-watch":
        return _run_volume_watch(args, out)
    if args.command in ("care-open", "recompute-classes"):
        return _run_dry_runnable(args, out)
    from backend.config import get_settings
    from backend.db import database_session
    from backend.security.accounts import (
        DEMO_USERNAMES,
        AccountError,
        create_agent,
        ensure_demo_agents,
        set_agent_password,
    )

    try:
        settings = get_settings()
    except ValidationError as error:
        raise _Refused(f"the settings are not valid: {error}") from error
    if args.command == "ensure-demo-agents" and settings.app_env == "production":
        # Nothing to do rather than an error: make run's preparation must not fail on it.
        print("no demo agents in production (APP_ENV=production): none created; use create-agent", file=out)
        return 0
    if (
        args.command == "create-agent"
        and settings.app_env == "production"
        and args.name.lower() in DEMO_USERNAMES
    ):
        raise _Refused(f"{args.name!r} is a demo login, refused in production; choose another name")
    password = read_password(stdin) if args.command in ("create-agent", "set-password") else ""
    try:
        with database_session(args.url or settings.database_url) as session:
            if args.command == "create-agent":
                agent = create_agent(
                    session,
                    username=args.name,
                    password=password,
                    role=args.role,
                    display_name=args.display_name,
                )
                print(f"created {agent.role} {agent.username!r}", file=out)
            elif args.command == "set-password":
                agent = set_agent_password(session, username=args.name, password=password)
                print(f"new password set for {agent.username!r}; their sessions were ended", file=out)
            else:
                var_dir: Path = args.var_dir
                for account, what in ensure_demo_agents(session, var_dir):
                    where = var_dir / account.password_file
                    print(f"demo {account.role} {account.username!r} {what}: password in {where}", file=out)
    except AccountError as error:
        raise _Refused(str(error)) from error
    return 0


def _run_dry_runnable(args: argparse.Namespace, out: TextIO) -> int:
    """`recompute-classes` and `care-open`: a run (or its dry run) printed line by line."""
    if args.command == "care-open":
        from backend.services.care import run_cli
    else:
        from backend.services.customer_classes import run_cli

    try:
        lines = run_cli(args.url, dry_run=args.dry_run)
    except ValidationError as error:  # a bad CUSTOMER_CLASS_* or CARE_* setting: its one line, no traceback
        raise _Refused("; ".join(e["msg"] for e in error.errors())) from error
    print("\n".join(lines), file=out)
    return 0


def _run_volume_watch(args: argparse.Namespace, out: TextIO) -> int:
    from backend.services.volume_watch import BadWeek, run_cli

    try:
        lines = run_cli(args.url, week=args.week, dry_run=args.dry_run)
    except BadWeek as error:
        raise _Refused(f"the week must look like 2026-W48 (and exist); got {error}") from error
    except ValidationError as error:  # a bad VOLUME_* setting: its one line, no traceback
        raise _Refused("; ".join(e["msg"] for e in error.errors())) from error
    print("\n".join(lines), file=out)
    return 0


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _run_tokens(args: argparse.Namespace, out: TextIO) -> int:
    from backend.config import get_settings
    from backend.db import database_session
    from backend.services.integration_tokens import (
        TokenError,
        check_scopes,
        create_token,
        list_tokens,
        revoke_token,
    )

    try:
        if args.command == "create-token":
            check_scopes(args.scopes)  # before touching the database or the settings
        url = args.url or get_settings().database_url
    except TokenError as error:
        raise _Refused(str(error)) from error
    except ValidationError as error:
        raise _Refused(f"the settings are not valid: {error}") from error
    try:
        with database_session(url) as session:
            if args.command == "create-token":
                new = create_token(session, name=args.name, scopes=args.scopes)
                # The token alone on stdout, so `$(python -m backend create-token ...)` captures it; the
                # rest goes to stderr. It cannot be shown again: only its hash is stored.
                print(new.secret, file=out)
                print(
                    f"created token {new.record.name!r} with scopes {new.record.scopes}; "
                    "it is shown only this once",
                    file=sys.stderr,
                )
            elif args.command == "list-tokens":
                print("name\tscopes\tcreated\tlast used\trevoked", file=out)
                for record in list_tokens(session):
                    fields = (record.name, ",".join(record.scope_list), _when(record.created_at))
                    used, revoked = _when(record.last_used_at), _when(record.revoked_at)
                    print("\t".join((*fields, used, revoked)), file=out)
            else:
                record = revoke_token(session, name=args.name)
                print(f"revoked token {record.name!r} at {_when(record.revoked_at)}", file=out)
    except TokenError as error:
        raise _Refused(str(error)) from error
    return 0


if __name__ == "__main__":
    sys.exit(main())
