"""The SQLite stamp reader's shortcuts: `PRAGMA data_version` (select the stamps again only
after another connection committed) and one read shared by the requests stepping in one
event-loop iteration (transport/fast_path.py)."""

import asyncio
import sqlite3
from pathlib import Path

from models.versions import SqliteStamps


def _database(path: Path) -> sqlite3.Connection:
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE version_stamp (name TEXT PRIMARY KEY, value INTEGER)")
    writer.execute("INSERT INTO version_stamp VALUES ('catalog', 1)")
    return writer


async def test_a_commit_by_another_connection_is_seen_by_the_next_read(tmp_path: Path) -> None:
    writer = _database(tmp_path / "stamps.db")
    stamps = SqliteStamps(str(tmp_path / "stamps.db"))
    try:
        assert await stamps.read() == {"catalog": 1}
        assert await stamps.read() == {"catalog": 1}
        writer.execute("UPDATE version_stamp SET value = value + 1")
        assert await stamps.read() == {"catalog": 2}
        writer.execute("INSERT INTO version_stamp VALUES ('currency', 5)")
        assert await stamps.read() == {"catalog": 2, "currency": 5}
    finally:
        await stamps.close()
        writer.close()


async def test_a_read_on_arrival_lasts_one_loop_iteration(tmp_path: Path) -> None:
    writer = _database(tmp_path / "stamps.db")
    stamps = SqliteStamps(str(tmp_path / "stamps.db"))
    try:
        first = stamps.read_on_arrival()
        writer.execute("UPDATE version_stamp SET value = value + 1")
        assert stamps.read_on_arrival() == first == {"catalog": 1}  # same iteration: shared
        await asyncio.sleep(0)  # the next iteration: a request arriving now reads again
        assert stamps.read_on_arrival() == {"catalog": 2}
    finally:
        await stamps.close()
        writer.close()
