"""What a file is, from its bytes, and the cleaned copy we keep of it.

The type is read from the first bytes (magic numbers), never from the name or the declared
type: a `.jpg` that is a script is refused. An image must also decode (Pillow; HEIC through
pillow-heif) and is re-encoded in its own format without EXIF (GPS, camera, times), XMP or
comments, turned upright first by its EXIF orientation, and a JPEG thumbnail is made. PDFs
are kept as sent (they are not images, and there is nothing of the phone's in them)."""

import io
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

pillow_heif.register_heif_opener()

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
HEIC = "image/heic"
PDF = "application/pdf"
ALLOWED_TYPES = (JPEG, PNG, WEBP, HEIC, PDF)
IMAGE_TYPES = (JPEG, PNG, WEBP, HEIC)
# Pillow's format name for each image type.
_FORMATS = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP", HEIC: "HEIF"}
# HEIF brands of HEVC-coded images (an AVIF or other HEIF file is not one of ours).
_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx")
# Larger than any phone photo (a 200-megapixel sensor), small enough to refuse decompression bombs.
MAX_PIXELS = 210_000_000 // 4
THUMBNAIL_SIZE = (320, 320)
# A photo printed on a PDF: sharp on a printed page (190 mm at 200 dpi), small in the file.
PRINT_SIZE = (1600, 1600)


class ContentRefused(Exception):
    """The bytes are not a file we keep; `message` says why."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def sniff_type(head: bytes) -> str | None:
    """The allowed type these first bytes begin, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        brands = [head[8:12]] + [head[offset : offset + 4] for offset in range(16, min(box_size, len(head)), 4)]
        if any(brand in _HEIC_BRANDS for brand in brands):
            return HEIC
    if head.startswith(b"%PDF-"):
        return PDF
    return None


@dataclass(frozen=True)
class CleanFile:
    """What we keep: the bytes (images re-encoded without metadata), their type, and for
    images the size in pixels, a JPEG thumbnail and a JPEG copy sized for printing on a PDF."""

    content: bytes
    content_type: str
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    print_copy: bytes | None = None


def clean_file(data: bytes) -> CleanFile:
    """Check `data` and answer what to keep; raises ContentRefused."""
    content_type = sniff_type(data[:64])
    if content_type is None:
        raise ContentRefused(
            "The file is not a JPEG, PNG, WebP or HEIC image or a PDF (its bytes say so, whatever its name).",
            code="file_type_not_allowed",
        )
    if content_type == PDF:
        return CleanFile(content=data, content_type=PDF)
    return _clean_image(data, content_type)


def _clean_image(data: bytes, content_type: str) -> CleanFile:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise ContentRefused("The image has too many pixels.", code="image_too_large")
            upright = ImageOps.exif_transpose(opened)
            upright.load()
            icc_profile = opened.info.get("icc_profile")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ContentRefused(f"The image cannot be read: {type(error).__name__}.", code="file_unreadable") from error
    # Only what we pass is written: no EXIF, XMP or comments, whatever the original held.
    upright.info = {}
    image = upright if content_type != JPEG or upright.mode in ("RGB", "L", "CMYK") else upright.convert("RGB")
    options: dict[str, object] = {"quality": 90} if content_type in (JPEG, WEBP, HEIC) else {"optimize": False}
    if icc_profile and content_type != HEIC:
        options["icc_profile"] = icc_profile  # colours as shot; no personal data in a colour profile
    output = io.BytesIO()
    image.save(output, format=_FORMATS[content_type], **options)
    # The print copy from the decoded image, the thumbnail from the print copy: each resize
    # starts from the smallest image that is still large enough.
    print_copy = image.copy()
    # A gap of 1: halve by box averaging first (cheap), then resample what is left.
    print_copy.thumbnail(PRINT_SIZE, reducing_gap=1.0)
    if print_copy.mode not in ("RGB", "L"):
        print_copy = print_copy.convert("RGB")
    thumbnail = print_copy.copy()
    thumbnail.thumbnail(THUMBNAIL_SIZE)
    return CleanFile(
        content=output.getvalue(),
        content_type=content_type,
        width=image.width,
        height=image.height,
        thumbnail=_jpeg(thumbnail, quality=80),
        print_copy=_jpeg(print_copy, quality=85),
    )


def _jpeg(image: Image.Image, *, quality: int) -> bytes:
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=quality)
    return output.getvalue()
