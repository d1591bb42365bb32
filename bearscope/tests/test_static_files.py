"""Static files under production settings: collected with hashed names and served by gunicorn (WhiteNoise)."""

import json

import requests

from bearscope.testing.processes import free_port, manage, product_env, web_server


def test_gunicorn_serves_hashed_compressed_static_files_under_production_settings(tmp_path):
    static_root = tmp_path / "static"
    env = product_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DJANGO_STATIC_ROOT=str(static_root)
    )
    manage(env, "collectstatic", "--noinput")
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["bearscope/base.css"]
    assert hashed != "bearscope/base.css" and (static_root / f"{hashed}.gz").exists()

    port = free_port()
    server = web_server(env, port, workers=1).start()
    try:
        base = f"http://127.0.0.1:{port}"
        server.wait_http(f"{base}/healthz")
        served = requests.get(f"{base}/static/{hashed}", headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert served.status_code == 200, server.log_tail()
        assert served.headers["Content-Type"].startswith("text/css")
        assert served.headers["Content-Encoding"] == "gzip"
        assert "immutable" in served.headers["Cache-Control"]
        assert served.text == (static_root / hashed).read_text()
        # The sign-in page links the hashed name, not the source one.
        login = requests.get(f"{base}/accounts/login/", timeout=10)
        assert f"/static/{hashed}" in login.text
    finally:
        server.close()
