"""Uploaded files (a firm's logo and favicon; later, KYC documents) and image intake.

Storage is by key (``tenants/7/logo.png``) behind one small interface, :class:`Storage`:

- :class:`LocalStorage`, the default: files under ``<data dir>/uploads``, each beside a
  ``.type`` file holding its content type; written to a temporary name and renamed, so a
  reader never sees half a file.
- :class:`S3Storage`: a bucket of an S3-compatible server (``UPLOADS_S3_ENDPOINT`` and
  ``UPLOADS_S3_BUCKET``), through boto3 in a worker thread (boto3 blocks).

A key is a relative path of ``[a-z0-9._-]`` segments: never absolute, never ``..``.

Images are never stored as sent (:func:`intake_image`): the type is sniffed from the bytes
(PNG, JPEG, WebP, ICO; SVG is refused, it can carry script), the size in bytes and pixels
is bounded before decoding, and the picture is decoded and encoded again by Pillow, which
drops its metadata (EXIF, comments, colour profiles) and anything hidden after it.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PIL import Image, UnidentifiedImageError

from gateway.errors import ApiError, TooLarge
from streams.settings import Settings

_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}(/[a-z0-9][a-z0-9._-]{0,99}){0,7}$")

MAX_IMAGE_BYTES = 512 * 1024  # an upload's body; larger is 413
MAX_IMAGE_PIXELS = 4096 * 4096  # width × height before decoding; larger is 422
LOGO_MAX_SIDE = 512  # a logo is scaled down to fit this box (it shows 28 px high)
FAVICON_ICO_SIZES = (16, 32, 48)
TOUCH_ICON_SIDE = 180  # apple-touch-icon


class UnsupportedImage(ApiError):
    """Not an image of a type taken here (415)."""

    status, code = 415, "unsupported_image"


class BadImage(ApiError):
    """An image of a taken type that cannot be decoded or is too large in pixels (422)."""

    status, code = 422, "bad_image"


@dataclass(frozen=True)
class Stored:
    data: bytes
    content_type: str


class Storage(Protocol):
    """Where uploaded files live, by key."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> Stored | None:
        """The file at ``key``, or None when there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key`` (nothing there is not an error)."""
        ...


def check_key(key: str) -> str:
    """``key`` when it is a safe relative key, else ValueError."""
    if not _KEY.match(key) or any(part in (".", "..") or part.startswith("..")
                                  for part in key.split("/")):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class LocalStorage:
    """Files under a directory (``<data dir>/uploads`` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, self._path(key), data, content_type)

    @staticmethod
    def _put(path: Path, data: bytes, content_type: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, content in ((path.with_name(path.name + ".type"),
                                 content_type.encode()), (path, data)):
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(handle, "wb") as file:
                    file.write(content)
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise

    async def get(self, key: str) -> Stored | None:
        return await asyncio.to_thread(self._get, self._path(key))

    @staticmethod
    def _get(path: Path) -> Stored | None:
        try:
            data = path.read_bytes()
            kind = path.with_name(path.name + ".type").read_text().strip()
        except FileNotFoundError:
            return None
        return Stored(data, kind or "application/octet-stream")

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(self._delete, path)

    @staticmethod
    def _delete(path: Path) -> None:
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".type").unlink(missing_ok=True)


class S3Storage:
    """Objects in a bucket of an S3-compatible server (boto3, in a worker thread)."""

    def __init__(self, endpoint: str, bucket: str, access_key: str = "", secret_key: str = "",
                 region: str = "us-east-1", prefix: str = "") -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint or None, region_name=region,
            aws_access_key_id=access_key or None, aws_secret_access_key=secret_key or None,
            config=Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 2}))

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket,
                                Key=self._key(key), Body=data, ContentType=content_type)

    async def get(self, key: str) -> Stored | None:
        return await asyncio.to_thread(self._get, self._key(key))

    def _get(self, key: str) -> Stored | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        return Stored(answer["Body"].read(),
                      answer.get("ContentType") or "application/octet-stream")

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket,
                                Key=self._key(key))


# -- image intake -------------------------------------------------------------------------

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x00\x00\x01\x00", "ICO"),
)


def sniff(data: bytes) -> str | None:
    """The image type the bytes begin with (PNG, JPEG, WEBP, ICO, SVG), or None."""
    for magic, kind in _SIGNATURES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
        return "SVG"
    return None


def _open(data: bytes, limit: int) -> Image.Image:
    """The decoded picture (sniffed, bounded in bytes and pixels)."""
    if len(data) > limit:
        raise TooLarge(f"the image is {len(data)} bytes; at most {limit} "
                       f"({limit // 1024} KiB)")
    if not data:
        raise UnsupportedImage("the body is empty: send the image's bytes as the body")
    kind = sniff(data)
    if kind == "SVG":
        raise UnsupportedImage("SVG images are not taken: an SVG can carry script; send a "
                               "PNG, JPEG, WebP or ICO")
    if kind is None:
        raise UnsupportedImage("not a PNG, JPEG, WebP or ICO image (judged from its bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data), formats=[kind])
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise BadImage(f"the image is {width}×{height} pixels; at most "
                               f"{MAX_IMAGE_PIXELS:,} pixels in all are taken")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(f"the image has more pixels than the {MAX_IMAGE_PIXELS:,} pixels in "
                       "all that are taken") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise BadImage(f"the {kind} image cannot be read: {error}") from None
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA")
    return image


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)  # no info= passed: no text chunks, no EXIF
    return out.getvalue()


def _fit(image: Image.Image, side: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return copy


def _square(image: Image.Image, side: int) -> Image.Image:
    """``image`` scaled to fit a transparent ``side`` square, centred."""
    fitted = _fit(image.convert("RGBA"), side)
    canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    canvas.paste(fitted, ((side - fitted.width) // 2, (side - fitted.height) // 2))
    return canvas


def intake_logo(data: bytes, limit: int = MAX_IMAGE_BYTES) -> Stored:
    """A logo as stored: a PNG at most :data:`LOGO_MAX_SIDE` on its longer side, with no
    metadata."""
    return Stored(_png(_fit(_open(data, limit), LOGO_MAX_SIDE)), "image/png")


def intake_favicon(data: bytes, limit: int = MAX_IMAGE_BYTES) -> dict[str, Stored]:
    """A favicon's files: ``favicon.ico`` (16, 32 and 48 px) and ``apple-touch-icon.png``
    (180 px), each square with the picture centred."""
    image = _open(data, limit)
    largest = _square(image, max(FAVICON_ICO_SIZES))
    ico = io.BytesIO()
    largest.save(ico, "ICO", sizes=[(side, side) for side in FAVICON_ICO_SIZES])
    return {"favicon.ico": Stored(ico.getvalue(), "image/x-icon"),
            "apple-touch-icon.png": Stored(_png(_square(image, TOUCH_ICON_SIDE)),
                                           "image/png")}


def storage_for(settings: Settings) -> Storage:
    """The storage the settings name: the S3-compatible server at
    ``UPLOADS_S3_ENDPOINT``, else ``<data dir>/uploads``."""
    if settings.uploads_s3_endpoint:
        return S3Storage(settings.uploads_s3_endpoint, settings.uploads_s3_bucket,
                         settings.uploads_s3_access_key, settings.uploads_s3_secret_key,
                         settings.uploads_s3_region)
    return LocalStorage(settings.data_dir / "uploads")
