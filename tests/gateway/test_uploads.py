"""Uploaded files: one storage contract run against the local directory and a real
S3-compatible server (moto's, started here on a free port); image intake (type sniffed
from the bytes, limits, re-encoding without metadata, favicon sizes); and the logo and
favicon endpoints with their public URLs."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from gateway.errors import TooLarge
from gateway.uploads import (
    MAX_IMAGE_BYTES,
    BadImage,
    LocalStorage,
    S3Storage,
    Storage,
    UnsupportedImage,
    check_key,
    intake_favicon,
    intake_logo,
    sniff,
)
from tests.gateway.conftest import Gateway, free_port

ACCESS, SECRET = "testing", "testing"


def picture(kind: str = "PNG", size: tuple[int, int] = (64, 32),
            colour: tuple[int, int, int] = (200, 30, 40), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind, **save)
    return out.getvalue()


def pixel(image: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = image.getpixel(xy)
    assert isinstance(value, tuple)
    return value


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET).create_bucket(Bucket="uploads")
    yield endpoint
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "uploads")
    endpoint = request.getfixturevalue("s3_endpoint")
    return S3Storage(endpoint, "uploads", ACCESS, SECRET, prefix=f"{tmp_path.name}/")


def test_storage_contract_put_get_replace_delete(storage: Storage) -> None:
    async def scenario() -> None:
        assert await storage.get("tenants/1/logo.png") is None
        await storage.put("tenants/1/logo.png", b"\x89PNG first", "image/png")
        stored = await storage.get("tenants/1/logo.png")
        assert stored is not None
        assert (stored.data, stored.content_type) == (b"\x89PNG first", "image/png")
        await storage.put("tenants/1/logo.png", b"second", "image/x-icon")  # replaced
        stored = await storage.get("tenants/1/logo.png")
        assert stored is not None and (stored.data, stored.content_type) == (
            b"second", "image/x-icon")
        await storage.put("tenants/2/logo.png", b"other firm", "image/png")
        await storage.delete("tenants/1/logo.png")
        assert await storage.get("tenants/1/logo.png") is None
        other = await storage.get("tenants/2/logo.png")
        assert other is not None and other.data == b"other firm"
        await storage.delete("tenants/1/logo.png")  # deleting nothing is not an error

    asyncio.run(scenario())


@pytest.mark.parametrize("key", ["../etc/passwd", "/etc/passwd", "a/../b", "a//b", "A/b",
                                 "a/b/", "", "a/..x"])
def test_a_key_never_leaves_the_storage(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        asyncio.run(storage.put(key, b"x", "text/plain"))
    with pytest.raises(ValueError, match="not a storage key"):
        check_key(key)


def test_local_files_live_under_the_data_dir(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "uploads")
    asyncio.run(storage.put("tenants/3/logo-ab.png", b"data", "image/png"))
    assert (tmp_path / "uploads" / "tenants" / "3" / "logo-ab.png").read_bytes() == b"data"
    assert not [p for p in (tmp_path / "uploads" / "tenants" / "3").iterdir()
                if p.name.startswith(".upload-")]  # no temporary file left behind


# -- image intake -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["PNG", "JPEG", "WEBP", "ICO"])
def test_each_taken_type_is_sniffed_and_re_encoded_as_png(kind: str) -> None:
    data = picture(kind, (48, 48))
    assert sniff(data) == kind
    logo = intake_logo(data)
    assert logo.content_type == "image/png"
    image = Image.open(io.BytesIO(logo.data))
    assert image.format == "PNG" and image.size == (48, 48)


def test_metadata_is_stripped_and_a_large_logo_is_scaled_down() -> None:
    info = PngInfo()
    info.add_text("Comment", "secret-gps-and-author")
    exif = Image.Exif()
    exif[0x010E] = "exif-description"  # ImageDescription
    data = picture("PNG", (1600, 400), pnginfo=info, exif=exif)
    assert b"secret-gps-and-author" in data and b"exif-description" in data
    logo = intake_logo(data)
    assert b"secret-gps-and-author" not in logo.data
    assert b"exif-description" not in logo.data
    assert Image.open(io.BytesIO(logo.data)).size == (512, 128)


def test_jpeg_exif_is_dropped() -> None:
    exif = Image.Exif()
    exif[0x013B] = "Artist Name Here"
    data = picture("JPEG", (40, 40), exif=exif)
    assert b"Artist Name Here" in data
    assert b"Artist Name Here" not in intake_logo(data).data


def test_favicon_sizes_are_generated() -> None:
    files = intake_favicon(picture("PNG", (300, 150)))
    assert set(files) == {"favicon.ico", "apple-touch-icon.png"}
    ico = Image.open(io.BytesIO(files["favicon.ico"].data))
    assert ico.format == "ICO" and files["favicon.ico"].content_type == "image/x-icon"
    assert sorted(ico.info["sizes"]) == [(16, 16), (32, 32), (48, 48)]
    touch = Image.open(io.BytesIO(files["apple-touch-icon.png"].data))
    assert touch.size == (180, 180)
    # the picture is centred on a transparent square, not stretched
    assert pixel(touch, (90, 90))[:3] == (200, 30, 40)
    assert pixel(touch, (90, 5))[3] == 0


def test_svg_is_refused_naming_the_script_risk() -> None:
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'
    with pytest.raises(UnsupportedImage, match=r"SVG.*script") as caught:
        intake_logo(svg)
    assert caught.value.status == 415


@pytest.mark.parametrize("data, message", [
    (b"GIF89a\x01\x00\x01\x00", "not a PNG, JPEG, WebP or ICO"),
    (b"%PDF-1.7 hello", "not a PNG, JPEG, WebP or ICO"),
    (b"", "empty"),
])
def test_other_types_are_415(data: bytes, message: str) -> None:
    with pytest.raises(UnsupportedImage, match=message):
        intake_logo(data)


def test_a_truncated_image_is_422() -> None:
    data = picture("PNG", (64, 64))
    with pytest.raises(BadImage, match="PNG image cannot be read") as caught:
        intake_logo(data[:60])
    assert caught.value.status == 422


def test_too_many_bytes_is_413_before_decoding() -> None:
    with pytest.raises(TooLarge, match=f"at most {MAX_IMAGE_BYTES}"):
        intake_logo(b"\x89PNG\r\n\x1a\n" + bytes(MAX_IMAGE_BYTES))


def bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` with little data behind it."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


def test_too_many_pixels_is_422_before_decoding() -> None:
    with pytest.raises(BadImage, match="5000×5000 pixels; at most 16,777,216"):
        intake_logo(bomb(5000, 5000))
    with pytest.raises(BadImage, match="more pixels than the 16,777,216"):
        intake_logo(bomb(20000, 20000))  # Pillow's own bomb check comes first here


# -- the endpoints ------------------------------------------------------------------------

def admin_token(gateway: Gateway, host: str = "127.0.0.1", role: str = "admin") -> str:
    address = f"{role}-{host.replace(':', '-')}@example.com"
    gateway.verified_user(address, headers={"Host": host})
    gateway.promote(address, role)
    return str(gateway.login(address, headers={"Host": host})["access_token"])


def put_image(gateway: Gateway, what: str, data: bytes, token: str | None,
              host: str | None = None):
    headers = {"Content-Type": "image/png"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if host:
        headers["Host"] = host
    return gateway.http.put(f"{gateway.url}/api/v1/admin/tenant/{what}", data=data,
                            headers=headers, timeout=30)


def test_admin_uploads_a_logo_served_at_a_stable_url(gateway: Gateway) -> None:
    token = admin_token(gateway)
    assert gateway.get("/brand/logo.png").status_code == 404  # none yet
    answer = put_image(gateway, "logo", picture("JPEG", (100, 50)), token)
    assert answer.status_code == 200, answer.text
    url = answer.json()["url"]
    assert url.startswith("/brand/logo.png?v=")
    tenant = gateway.get("/api/v1/tenant").json()
    assert tenant["logo_url"] == url
    served = gateway.get(url)
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert "immutable" in served.headers["Cache-Control"]
    assert Image.open(io.BytesIO(served.content)).size == (100, 50)
    unversioned = gateway.get("/brand/logo.png")
    assert unversioned.content == served.content
    assert unversioned.headers["Cache-Control"] == "public, max-age=300"
    # a new upload: a new URL; the old digest no longer names the current file
    again = put_image(gateway, "logo", picture("PNG", (20, 20)), token)
    assert again.json()["url"] != url
    assert gateway.get(url).headers["Cache-Control"] == "public, max-age=300"


def test_admin_uploads_a_favicon_and_the_page_links_it(gateway: Gateway) -> None:
    token = admin_token(gateway)
    answer = put_image(gateway, "favicon", picture("PNG", (64, 64)), token)
    assert answer.status_code == 200, answer.text
    assert answer.json()["url"].startswith("/favicon.ico?v=")
    assert gateway.get("/api/v1/tenant").json()["favicon_url"] == answer.json()["url"]
    ico = gateway.get("/favicon.ico")
    assert ico.status_code == 200 and ico.headers["Content-Type"] == "image/x-icon"
    touch = gateway.get("/brand/apple-touch-icon.png")
    assert Image.open(io.BytesIO(touch.content)).size == (180, 180)
    page = gateway.get("/dashboard").text
    assert f'href="{answer.json()["url"]}"' in page and "/favicon.svg" not in page


def test_upload_refusals_name_the_problem(gateway: Gateway) -> None:
    token = admin_token(gateway)
    malformed = put_image(gateway, "logo", picture("PNG")[:50], token)
    assert malformed.status_code == 422
    assert "cannot be read" in malformed.json()["error"]["message"]
    svg = put_image(gateway, "logo", b"<svg xmlns='http://www.w3.org/2000/svg'/>", token)
    assert svg.status_code == 415 and "script" in svg.json()["error"]["message"]
    big = put_image(gateway, "favicon", b"\x89PNG\r\n\x1a\n" + bytes(MAX_IMAGE_BYTES), token)
    assert big.status_code == 413
    assert f"at most {MAX_IMAGE_BYTES}" in big.json()["error"]["message"]
    assert gateway.get("/api/v1/tenant").json()["logo_url"] == ""  # nothing stored


def test_only_admins_upload_and_only_their_own_firm(configured, tmp_path: Path) -> None:
    gateway = configured(data_dir=tmp_path)
    trader = admin_token(gateway, role="trader")
    risk = admin_token(gateway, role="risk")
    assert put_image(gateway, "logo", picture(), None).status_code == 401
    assert put_image(gateway, "logo", picture(), trader).status_code == 404
    assert put_image(gateway, "logo", picture(), risk).status_code == 404
    gateway.sql("INSERT INTO tenants (slug, name) VALUES ('beta', 'Beta')")
    gateway.sql("INSERT INTO tenant_domains (domain, tenant_id) "
                "SELECT 'beta.test', id FROM tenants WHERE slug = 'beta'")
    owner = admin_token(gateway, role="owner")
    assert put_image(gateway, "logo", picture(colour=(1, 2, 3)), owner).status_code == 200
    # the default firm's admin token means nothing at beta's host
    assert put_image(gateway, "logo", picture(), owner, host="beta.test").status_code == 401
    beta = admin_token(gateway, "beta.test")
    answer = put_image(gateway, "logo", picture(colour=(9, 9, 9)), beta, host="beta.test")
    assert answer.status_code == 200
    mine = gateway.get("/brand/logo.png", headers={"Host": "beta.test"})
    theirs = gateway.get("/brand/logo.png")
    assert pixel(Image.open(io.BytesIO(mine.content)), (0, 0))[:3] == (9, 9, 9)
    assert pixel(Image.open(io.BytesIO(theirs.content)), (0, 0))[:3] == (1, 2, 3)
    assert list((tmp_path / "uploads" / "tenants").iterdir())  # under the data dir
