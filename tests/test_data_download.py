"""Fetching (local, file://, HTTP with basic auth on localhost), verifying and unpacking archives."""

import base64
import hashlib
import io
import json
import tarfile
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emibench.cli import main
from emibench.data.download import DownloadError, download_archives

HEADER = "Filename,Admiration,Amusement,Determination,Empathic Pain,Excitement,Joy\n"
FILES = {
    "train_split.csv": HEADER + "0,0,0,0,0,0,0\n",
    "valid_split.csv": HEADER + "1,0,0.5,0,0,0,0\n",
    "test_split.csv": "Filename\n2\n",
    "raw/00000.mp4": "not really a video",
    "raw/00001.mp4": "not really a video",
}


def make_tar(path):
    with tarfile.open(path, "w:gz") as tf:
        for name, text in FILES.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def make_zip(path, files=FILES):
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_local_tar_with_checksum(tmp_path):
    archive = make_tar(tmp_path / "hume.tar.gz")
    root = tmp_path / "root"
    download_archives(root, [{"url": str(archive), "sha256": sha(archive)}])
    assert (root / "train_split.csv").read_text() == FILES["train_split.csv"]
    assert (root / "raw" / "00001.mp4").exists()
    (root / "train_split.csv").write_text("edited")  # a second run does not unpack again
    download_archives(root, [{"url": str(archive), "sha256": sha(archive)}])
    assert (root / "train_split.csv").read_text() == "edited"


def test_file_url_zip_into_subfolder_and_cli(tmp_path):
    archive = make_zip(tmp_path / "hume.zip")
    root = tmp_path / "root"
    spec = {"archives": [{"url": archive.as_uri(), "dest": "."}]}
    ok = tmp_path / "ok.json"
    assert (
        main(["download", "--root", str(root), "--download", json.dumps(spec), "--output", str(ok)])
        == 0
    )
    report = json.loads(ok.read_text())
    assert report["splits"]["test"]["missing_media"] == ["00002"]  # a warning, not an error
    download_archives(tmp_path / "other", [{"url": archive.as_uri(), "dest": "extra"}])
    assert (tmp_path / "other" / "extra" / "valid_split.csv").exists()


def test_checksum_mismatch_names_the_archive(tmp_path, capfd):
    archive = make_zip(tmp_path / "videos_part1.zip")
    with pytest.raises(DownloadError, match="archive videos_part1.zip: sha256 mismatch"):
        download_archives(tmp_path / "root", [{"url": str(archive), "sha256": "0" * 64}])
    assert not (tmp_path / "root" / "train_split.csv").exists()
    spec = json.dumps({"archives": [{"url": str(archive), "sha256": "ab" * 32}]})
    assert (
        main(
            [
                "download",
                "--root",
                str(tmp_path / "r"),
                "--download",
                spec,
                "--output",
                str(tmp_path / "o.json"),
            ]
        )
        == 1
    )
    assert "videos_part1.zip: sha256 mismatch" in capfd.readouterr().err


def test_unsafe_or_unknown_archives(tmp_path):
    evil = make_zip(tmp_path / "evil.zip", {"../outside.txt": "x"})
    with pytest.raises(DownloadError, match="outside"):
        download_archives(tmp_path / "root", [{"url": str(evil)}])
    assert not (tmp_path / "outside.txt").exists()
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"neither zip nor tar")
    with pytest.raises(DownloadError, match="neither a zip nor a tar"):
        download_archives(tmp_path / "root", [{"url": str(junk)}])
    with pytest.raises(DownloadError, match="no such file"):
        download_archives(tmp_path / "root", [{"url": str(tmp_path / "absent.zip")}])
    with pytest.raises(DownloadError, match="unsupported scheme"):
        download_archives(tmp_path / "root", [{"url": "ftp://example.org/a.zip"}])


class _AuthHandler(SimpleHTTPRequestHandler):
    expected = "Basic " + base64.b64encode(b"alice:secret").decode()

    def do_GET(self):
        if self.headers.get("Authorization") != self.expected:
            self.send_error(401, "credentials required")
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def test_http_download_with_basic_auth(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    archive = make_zip(served / "hume.zip")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_AuthHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hume.zip"
        spec = [{"url": url, "sha256": sha(archive)}]
        monkeypatch.delenv("EMI_USER", raising=False)
        with pytest.raises(DownloadError, match="401.*EMI_USER"):
            download_archives(tmp_path / "root", spec, "EMI_USER", "EMI_PASS")
        monkeypatch.setenv("EMI_USER", "alice")
        monkeypatch.setenv("EMI_PASS", "secret")
        paths = download_archives(tmp_path / "root", spec, "EMI_USER", "EMI_PASS")
        assert paths[0] == tmp_path / "root" / ".downloads" / "hume.zip"
        assert (tmp_path / "root" / "valid_split.csv").exists()
    finally:
        server.shutdown()
        server.server_close()
