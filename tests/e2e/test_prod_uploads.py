"""Two backends, one photo: under the production profile with UPLOAD_STORE=s3 (moto's S3 server on
127.0.0.1), a shipper's photo uploaded through backend A is served to an agent by backend B.

One stack for the file (tools/prod.py's throwaway_production on PostgreSQL + Redis from
var/test-services.env, databases of its own, skipped without them). Backends are called on their own
ports, not through nginx, so that the write and the read are known to happen in different processes;
the photo is in the bucket and not in UPLOAD_DIR, which the two processes happen to share here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# The agent's account, the console login and the stack's helpers of the multi-process tests.
from tests.e2e.test_multiprocess import backend, create_agent, log_in, production_services
from tests.fakes.images import png_bytes
from tests.fakes.s3_server import LocalS3, local_s3
from tools.prod import Production, throwaway_production

pytestmark = pytest.mark.e2e
PREFIX = f"prod-{uuid.uuid4().hex[:8]}/"


@pytest.fixture(scope="module")
def s3() -> Iterator[LocalS3]:
    with local_s3("carrier-prod-uploads") as server:
        yield server


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory, s3: LocalS3) -> Iterator[Production]:
    base, redis_url = production_services()
    workdir = tmp_path_factory.mktemp("prod-uploads")
    store = s3.env(prefix=PREFIX)  # UPLOAD_* and S3_* reach every process (tools.prod PASSED_PREFIXES)
    with throwaway_production(
        workdir, postgres_url=base, redis_url=redis_url, extra_env=store, door_limits=False
    ) as running:
        create_agent(running)
        yield running


def test_a_photo_uploaded_on_backend_a_is_shown_to_an_agent_on_backend_b(
    prod: Production, s3: LocalS3
) -> None:
    a, b = backend(prod, 0), backend(prod, 1)
    photo = png_bytes(7, 5, (180, 40, 20))
    session = httpx.post(f"{a}/widget/session", json={}, timeout=10)
    assert session.status_code == 200, session.text
    token, conversation_id = session.json()["session"], session.json()["conversation_id"]
    uploaded = httpx.post(
        f"{a}/widget/upload",
        headers={"X-Widget-Session": token},
        files={"file": ("crushed.png", photo, "image/png")},
        data={"text": "the box arrived crushed", "client_id": "prod-photo-0001"},
        timeout=60,
    )
    assert uploaded.status_code == 200, uploaded.text
    cookie = log_in(b)
    detail = httpx.get(
        f"{b}/console/api/conversations/{conversation_id}", headers={"Cookie": cookie}, timeout=10
    )
    assert detail.status_code == 200, detail.text[:500]
    [listed] = detail.json()["photos"]
    shown = httpx.get(f"{b}/console/api/attachments/{listed['id']}", headers={"Cookie": cookie}, timeout=10)
    assert shown.status_code == 200, shown.text[:500]
    assert shown.content == photo and shown.headers["content-type"] == "image/png"
    # The widget on backend B shows it again too (a shipper whose next request lands there).
    again = httpx.get(
        f"{b}/widget/attachments/{listed['id']}", headers={"X-Widget-Session": token}, timeout=10
    )
    assert again.status_code == 200 and again.content == photo
    # Kept in the bucket under the prefix, not on the shared disk.
    objects = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix=PREFIX)  # type: ignore[attr-defined]
    keys = [item["Key"] for item in objects.get("Contents", [])]
    assert [key for key in keys if key.startswith(f"{PREFIX}{conversation_id.replace(':', '_')}/")], keys
    uploads = Path(prod.stacks[0].env()["UPLOAD_DIR"])
    assert not uploads.exists() or not any(uploads.rglob("*.png"))
