"""The broker's S3-compatible object store: conditional puts, listing, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from streams.objectstore import ObjectStore, Server, StoreError


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@pytest.fixture
def opened() -> Iterator[Callable[..., ObjectStore]]:
    """``opened(root, **options)``: an ObjectStore, closed after the test."""
    stores: list[ObjectStore] = []

    def open_store(root: Path, **options: Any) -> ObjectStore:
        stores.append(ObjectStore(root, **options))
        return stores[-1]

    yield open_store
    for store in stores:
        store.close()


def test_conditional_puts_answer_412(
        tmp_path: Path, opened: Callable[..., ObjectStore]) -> None:
    store = opened(tmp_path)
    first = run(store.put("b", "w/watermark.json", b'{"high":1}', if_none_match="*"))
    with pytest.raises(StoreError) as exists:
        run(store.put("b", "w/watermark.json", b'{"high":9}', if_none_match="*"))
    assert exists.value.status == 412
    second = run(store.put("b", "w/watermark.json", b'{"high":2}', if_match=first))
    assert second != first
    with pytest.raises(StoreError) as stale:  # another writer's version: refused
        run(store.put("b", "w/watermark.json", b'{"high":3}', if_match=first))
    assert stale.value.status == 412
    with pytest.raises(StoreError) as missing:
        run(store.put("b", "absent", b"x", if_match=first))
    assert missing.value.status == 412
    assert store.read("b", "w/watermark.json") == b'{"high":2}'


def test_a_restart_keeps_objects_and_etags_and_drops_torn_writes(
        tmp_path: Path, opened: Callable[..., ObjectStore]) -> None:
    store = opened(tmp_path)
    etag = run(store.put("b", "a/b c/%x.batch", b"payload"))
    (tmp_path / ".tmp" / "cut-short").write_bytes(b"half a wri")  # a write killed mid-way
    store.close()
    again = opened(tmp_path)
    assert again.read("b", "a/b c/%x.batch") == b"payload"
    assert again.etag("b", "a/b c/%x.batch") == etag
    assert again.list("b", "", None, "", 1000)[0] == ["a/b c/%x.batch"]
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_listing_pages_prefixes_and_delimiters(
        tmp_path: Path, opened: Callable[..., ObjectStore]) -> None:
    store = opened(tmp_path, fsync=False)
    keys = [f"t/p0/records/{n:020}.batch" for n in range(25)] + ["t/p0/watermark.json",
                                                                 "t/p1/watermark.json", "u/x"]
    for key in reversed(keys):
        run(store.put("b", key, b"x"))
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        found, _, next_token = store.list("b", "t/p0/records/", None, token, 10)
        seen += found
        pages += 1
        if next_token is None:
            break
        token = next_token
    assert seen == keys[:25]
    assert pages == 3
    assert store.list("b", "t/", "/", "", 1000) == ([], ["t/p0/", "t/p1/"], None)
    assert store.list("b", "t/", "/", "", 1) == ([], ["t/p0/"], "t/p0/")
    assert store.list("b", "t/", "/", "t/p0/", 1) == ([], ["t/p1/"], None)
    run(store.delete("b", "u/x"))
    assert store.list("b", "u/", None, "", 1000) == ([], [], None)


def test_the_list_answer_is_listobjectsv2_xml(
        tmp_path: Path, opened: Callable[..., ObjectStore]) -> None:
    store = opened(tmp_path, fsync=False)
    run(store.put("b", "k&1", b"abc"))
    status, _, body = Server(store).list_objects("b", {"list-type": ["2"]})
    assert status == 200
    assert b"<Contents><Key>k&amp;1</Key><LastModified>" in body
    assert b"<Size>3</Size>" in body
    assert b"<IsTruncated>false</IsTruncated>" in body
    with pytest.raises(StoreError, match="ListObjectsV2"):
        Server(store).list_objects("b", {})


def test_bad_keys_are_refused(
        tmp_path: Path, opened: Callable[..., ObjectStore]) -> None:
    store = opened(tmp_path)
    with pytest.raises(StoreError, match="unsupported key component"):
        run(store.put("b", "a/../etc", b"x"))


def test_concurrent_conditional_puts_one_wins(
        tmp_path: Path, opened: Callable[..., ObjectStore]) -> None:
    store = opened(tmp_path, fsync=False)

    async def race() -> list[object]:
        return await asyncio.gather(
            *(store.put("b", "w.json", str(n).encode(), if_none_match="*") for n in range(8)),
            return_exceptions=True)

    outcomes = run(race())
    assert sum(isinstance(o, str) for o in outcomes) == 1
    assert all(isinstance(o, StoreError) and o.status == 412
               for o in outcomes if not isinstance(o, str))
    assert store._locks == {}


def test_retention_keeps_the_newest_batches_of_each_partition(
        tmp_path: Path, opened: Callable[..., ObjectStore]) -> None:
    store = opened(tmp_path, retain=3)
    partition = "clusters/c/topics/t/partitions/0000000000/"
    other = "clusters/c/topics/t/partitions/0000000001/"
    for offset in range(0, 50, 10):
        run(store.put("b", f"{partition}records/{offset:020d}.batch", b"x"))
    run(store.put("b", f"{other}records/{0:020d}.batch", b"y"))
    run(store.put("b", f"{partition}watermark.json", b"{}"))  # not a batch: never expired
    kept = store.list("b", partition + "records/", None, "", 1000)[0]
    assert kept == [f"{partition}records/{offset:020d}.batch" for offset in (20, 30, 40)]
    assert store.list("b", other, None, "", 1000)[0] == [f"{other}records/{0:020d}.batch"]
    assert store.read("b", f"{partition}watermark.json") == b"{}"
    with pytest.raises(StoreError) as gone:
        store.read("b", f"{partition}records/{0:020d}.batch")
    assert gone.value.status == 404
    assert store.expired == 2
    store.close()  # the expired files are gone from the disk too: a restart agrees
    again = opened(tmp_path, retain=3)
    assert again.list("b", partition + "records/", None, "", 1000)[0] == kept
