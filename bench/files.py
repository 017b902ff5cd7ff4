"""Attachments: what completing a 12-megapixel photo costs (reading it back from storage, the
type and size checks, the re-encode without EXIF, the thumbnail, writing both), and the render
of an invoice PDF that prints six such photos.

- complete: `POST /attachments/{id}/complete` through Django's whole stack in-process, after
  the photo was POSTed with its presigned form to the S3 server (not timed), ROUNDS times.
  It reads the photo back, re-encodes it without EXIF and writes it, its print copy and its
  thumbnail.
- pdf: `GET /invoices/{id}/pdf` right after a PATCH (a new version: rendered, the photos'
  print copies read from storage), with six photos chosen and with none, PDF_ROUNDS times.

The photo is a 4000 x 3000 JPEG (quality 92) with GPS in its EXIF; its content is a
gradient with noise, so it compresses like a photo rather than like a flat colour.
Run through `make bench` or `python -m bench.files`; writes bench/results/files.json.
"""

import io
import statistics

import httpx
from PIL import ExifTags, Image

from bench.provision import percentile
from bench.setup import business_api, run_in_process

ROUNDS = 12
PDF_ROUNDS = 8
PHOTOS_ON_PDF = 6
SIZE = (4000, 3000)


def twelve_megapixel_photo() -> bytes:
    gradient = Image.linear_gradient("L").resize(SIZE)
    noise = Image.effect_noise(SIZE, 40)
    image = Image.merge("RGB", (gradient, noise, Image.blend(gradient, noise, 0.5)))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "BenchPhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.0)
    output = io.BytesIO()
    image.save(output, format="JPEG", quality=92, exif=exif)
    return output.getvalue()


def timed(operation) -> float:
    import time

    started = time.perf_counter()
    operation()
    return (time.perf_counter() - started) * 1000


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 1),
        "p99_ms": round(percentile(samples, 0.99), 1),
        "max_ms": round(max(samples), 1),
    }


def main() -> dict:
    api = business_api(business_name="Bench Photos", email="files@bench.test")

    def call(method: str, path: str, body: dict | None = None):
        response = api(method, path, body)
        return response.json() if response["Content-Type"].startswith("application/json") else response

    photo = twelve_megapixel_photo()
    customer = call("post", "/customers", {"name": "Ada Lovelace"})["id"]
    item = {"description": "Leak repair", "quantity": "1", "unit_price": 12000, "tax_rate": "8.25"}
    invoice = call("post", "/invoices", {"customer_id": customer, "items": [item]})

    def upload(parent: str) -> int:
        started = call(
            "post", f"{parent}/attachments", {"filename": "p.jpg", "content_type": "image/jpeg", "size": len(photo)}
        )
        form = started["upload"]
        posted = httpx.post(
            form["url"], data=form["fields"], files={"file": ("p.jpg", photo, "image/jpeg")}, timeout=60
        )
        assert posted.status_code == 204, posted.text
        return started["attachment"]["id"]

    complete = []
    for _ in range(ROUNDS):
        attachment = upload(f"/customers/{customer}")
        complete.append(timed(lambda attachment=attachment: call("post", f"/attachments/{attachment}/complete")))

    path = f"/invoices/{invoice['id']}"
    pdf: dict[str, list[float]] = {"no photos": [], f"{PHOTOS_ON_PDF} photos": []}
    for _ in range(PDF_ROUNDS):
        invoice = call("patch", path, {"version": invoice["version"], "notes": "A new version."})
        pdf["no photos"].append(timed(lambda: call("get", f"{path}/pdf")))
    for _ in range(PHOTOS_ON_PDF):
        attachment = upload(path)
        call("post", f"/attachments/{attachment}/complete")
        call("patch", f"/attachments/{attachment}", {"on_pdf": True})
    sizes = []
    for _ in range(PDF_ROUNDS):
        invoice = call("patch", path, {"version": invoice["version"], "notes": "A new version."})
        pdf[f"{PHOTOS_ON_PDF} photos"].append(timed(lambda: sizes.append(len(call("get", f"{path}/pdf").content))))
    return {
        "photo": {"pixels": SIZE[0] * SIZE[1], "bytes": len(photo)},
        "complete_rounds": ROUNDS,
        "complete": summary(complete),
        "pdf_rounds": PDF_ROUNDS,
        "pdf_render": {name: summary(samples) for name, samples in pdf.items()},
        "pdf_bytes_with_photos": max(sizes),
    }


def print_figures(figures: dict) -> None:
    print(f"photo: {figures['photo']['pixels'] / 1e6:.0f} MP, {figures['photo']['bytes'] / 1e6:.1f} MB")
    print(f"{'':<40} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    rows = {"complete a 12 MP photo": figures["complete"]} | {
        f"invoice PDF, {name}": row for name, row in figures["pdf_render"].items()
    }
    for name, row in rows.items():
        print(f"{name:<40} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['max_ms']:>8.1f}")


if __name__ == "__main__":
    run_in_process("files", main, print_figures)
