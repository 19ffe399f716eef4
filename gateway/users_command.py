"""``proptrade users create``: a verified user made by the operator — the first admin,
risk officer or owner of a firm.

The password is read from standard input with ``--password-stdin`` (one line, for
scripts), else asked twice at the terminal; it passes the same policy as a registration.
Exit status: 0 created; 1 refused (unknown firm, weak password, taken address — the
message names which); 2 a setting, the database or the command line is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

import asyncpg

from gateway.errors import ApiError
from gateway.notifications import link_base
from gateway.staff import ROLES, create_user
from storage.database import create_pool
from storage.migrations import MigrationError, migrate
from streams.settings import Settings, SettingsError, load_settings

PROG = "proptrade users create"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True, help="the user's e-mail address")
    parser.add_argument("--role", required=True, choices=ROLES,
                        help="trader, risk (the risk desk), admin (the firm's) or owner "
                             "(the platform's)")
    parser.add_argument("--firm", metavar="SLUG", default=None,
                        help="the firm's slug (default: the default firm)")
    parser.add_argument("--name", default="", help="the name shown to others")
    parser.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input "
                             "(default: ask at the terminal)")
    parser.add_argument("--schema", default="public", help="PostgreSQL schema (default public)")


class Refused(Exception):
    """What the operator must fix before the user can be created."""


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise Refused("--password-stdin: standard input is empty")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise Refused("no terminal to ask the password at: pipe it with --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("The same password again: ") != first:
        raise Refused("the two passwords differ")
    return first


async def create(settings: Settings, args: argparse.Namespace, password: str) -> str:
    await migrate(settings.database_url, args.schema)
    pool = await create_pool(settings.database_url, args.schema, min_size=1, max_size=2)
    try:
        row, tenant = await create_user(pool, args.email, password, args.role, args.firm,
                                        args.name)
        async with pool.acquire() as connection:
            base = await link_base(connection, tenant.id, settings)
    finally:
        await pool.close()
    return (f"created {row['role']} {row['email']} (user {row['id']}) at firm "
            f"{tenant.slug!r} ({tenant.name}), e-mail verified; sign in at {base}")


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    try:
        password = read_password(args.password_stdin)
        print(asyncio.run(create(settings, args, password)))
    except Refused as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    except ApiError as error:
        print(f"{PROG}: error: {error.message}", file=sys.stderr)
        return 1
    except (MigrationError, OSError, ValueError, asyncpg.PostgresError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    return 0
