"""The archive of one person's data: a zip of `data.json` and a readable `index.html`, written as it reads.

Rows stream from the database in chunks (`holdings`) straight into the zip's JSON member, while the
same rows go into the HTML page in a temporary file beside it, copied into the zip at the end: memory
stays flat whatever the person's history. The zip is written as `<name>.part` and renamed when
complete, so a half-written file is never offered.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.html import escape

from portal.models import User

from ..audit import Actor, audit_append
from .holdings import SECTIONS, holdings_count, person_profile
from .models import DataRequest

FORMAT = "bank-partnership-portal/data-archive/1"
PROGRESS_EVERY_SECONDS = 0.5
STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;line-height:1.4}
table{border-collapse:collapse;width:100%;margin-bottom:2rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f3f3}td code{font-size:.8rem;word-break:break-word}
"""


def archive_dir() -> Path:
    """Return the folder archives are written to, creating it."""
    folder = Path(settings.COMPLIANCE_ARCHIVE_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def archive_path(request: DataRequest) -> Path | None:
    """Return where the request's zip is, or None when it has none (not ready, expired, erased)."""
    if not request.file_name:
        return None
    return archive_dir() / request.file_name


class Progress:
    """Counts rows written and keeps the request's progress, at most every `interval` seconds."""

    def __init__(self, request_id: int, total: int, interval: float) -> None:
        self.request_id, self.total, self.interval = request_id, total, interval
        self.done, self.written_at = 0, time.monotonic()

    def step(self) -> None:
        self.done += 1
        now = time.monotonic()
        if now - self.written_at >= self.interval:
            DataRequest.objects.filter(pk=self.request_id).update(done=self.done, total=max(self.total, self.done))
            self.written_at = now


def _cell(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dict | list):
        return f"<code>{escape(json.dumps(value, ensure_ascii=False, separators=(', ', ': '), default=str))}</code>"
    return str(escape(str(value)))


def _write_sections(person: User, data: IO[bytes], page: IO[str], progress: Callable[[], None]) -> dict[str, int]:
    """Write every section as JSON into `data` and as HTML tables into `page`; return the rows per section."""
    counts: dict[str, int] = {}
    profile = person_profile(person)
    head = {"format": FORMAT, "generated_at": timezone.now().isoformat(), "person": profile}
    data.write(json.dumps(head, ensure_ascii=False)[:-1].encode())
    page.write("<h2>Your account</h2>\n<table>\n")
    page.writelines(f"<tr><th scope='row'>{escape(k)}</th><td>{_cell(v)}</td></tr>\n" for k, v in profile.items())
    page.write("</table>\n")
    for section in SECTIONS:
        data.write(f',"{section.key}":['.encode())
        page.write(f"<h2 id='{section.key}'>{escape(section.title)}</h2>\n<p>{escape(section.explanation)}</p>\n")
        count, columns = 0, None
        for row in section.iterate(person):
            if columns is None:
                columns = list(row)
                page.write("<table>\n<tr>" + "".join(f"<th scope='col'>{escape(c)}</th>" for c in columns) + "</tr>\n")
            data.write((b"," if count else b"") + json.dumps(row, ensure_ascii=False, default=str).encode())
            page.write("<tr>" + "".join(f"<td>{_cell(row[c])}</td>" for c in columns) + "</tr>\n")
            count += 1
            progress()
        page.write("</table>\n" if columns is not None else "<p>Nothing.</p>\n")
        data.write(b"]")
        counts[section.key] = count
    data.write(b"}")
    return counts


def _write_zip(person: User, target: Path, progress: Callable[[], None]) -> dict[str, int]:
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8", dir=target.parent) as page,
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zipped,
    ):
        page.write(
            "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
            "<title>Your data at the bank partnership portal</title>"
            "<link rel='stylesheet' href='style.css'></head><body>\n"
            f"<h1>Your data at the bank partnership portal</h1>\n<p>Everything we held about you on "
            f"{escape(timezone.now().strftime('%d %B %Y at %H:%M UTC'))}. Times are in UTC. "
            "The same data, for computers, is in data.json.</p>\n"
        )
        with zipped.open("data.json", "w", force_zip64=True) as data:
            counts = _write_sections(person, data, page, progress)
        page.write("</body></html>\n")
        page.seek(0)
        with zipped.open("index.html", "w", force_zip64=True) as html:
            while chunk := page.read(1 << 16):
                html.write(chunk.encode("utf-8"))
        zipped.writestr("style.css", STYLE)
    return counts


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def archive_build(*, request_id: int, interval: float = PROGRESS_EVERY_SECONDS) -> DataRequest | None:
    """Write the archive of the request's person, keep its progress on the request, and audit it ready.

    A request that is not waiting (already built, failed, or redelivered after finishing) is left alone.
    """
    started = DataRequest.objects.filter(
        pk=request_id, kind=DataRequest.Kind.ARCHIVE, state__in=[DataRequest.State.QUEUED, DataRequest.State.RUNNING]
    ).update(state=DataRequest.State.RUNNING, started_at=timezone.now(), done=0)
    if not started:
        return None
    request = DataRequest.objects.select_related("user").get(pk=request_id)
    total = holdings_count(request.user)
    DataRequest.objects.filter(pk=request_id).update(total=total)
    name = f"{request.pk}-{secrets.token_hex(12)}.zip"
    target = archive_dir() / name
    partial = target.with_suffix(".part")
    progress = Progress(request_id, total, interval)
    try:
        counts = _write_zip(request.user, partial, progress.step)
        os.replace(partial, target)
    except Exception as error:
        partial.unlink(missing_ok=True)
        DataRequest.objects.filter(pk=request_id).update(
            state=DataRequest.State.FAILED,
            error=f"The archive could not be written ({type(error).__name__}); ask for it again.",
            finished_at=timezone.now(),
        )
        raise
    now = timezone.now()
    with transaction.atomic():
        request = DataRequest.objects.select_for_update().get(pk=request_id)
        request.state, request.finished_at = DataRequest.State.READY, now
        request.done, request.total = progress.done, max(total, progress.done)
        request.file_name, request.file_size, request.file_sha256 = name, target.stat().st_size, _sha256_of(target)
        request.expires_at = now + timedelta(days=settings.RETENTION_EXPORT_DAYS)
        request.save()
        audit_append(
            action="data_request.archive_ready",
            actor=Actor.system("data requests"),
            target=request,
            data={"rows": counts, "bytes": request.file_size, "sha256": request.file_sha256},
        )
    return request


def archive_progress(request: DataRequest) -> dict[str, Any]:
    """Return what the page's progress bar polls for."""
    return {
        "state": request.state,
        "state_label": request.get_state_display(),
        "done": request.done,
        "total": request.total,
        "percent": request.percent,
        "finished": request.finished,
        "ready": request.state == DataRequest.State.READY,
    }
