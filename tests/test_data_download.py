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
    with pytest.raises(
        DownloadError, match="a.zip on example.org: the url holds credentials"
    ) as caught:
        download_archives(tmp_path / "root", [{"url": "https://bob:hunter2@example.org/a.zip"}])
    assert "hunter2" not in str(caught.value)


class _Server:
    """A loopback HTTP server on ``host`` serving ``folder``; it records the Authorization header
    of every request, requires ``auth`` when given, and answers paths in ``redirects`` with a
    302 to the URL they map to."""

    def __init__(self, folder, host="127.0.0.1", auth=None, redirects=None):
        seen, redirects = [], redirects or {}

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                seen.append((self.path, self.headers.get("Authorization")))
                if self.path in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[self.path])
                    self.end_headers()
                    return
                if auth and self.headers.get("Authorization") != auth:
                    self.send_error(401, "credentials required")
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.seen = seen
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


ALICE = "Basic " + base64.b64encode(b"alice:secret").decode()


def test_http_download_with_basic_auth(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    archive = make_zip(served / "hume.zip")
    with _Server(served, auth=ALICE) as server:
        spec = [{"url": f"{server.url}/hume.zip", "sha256": sha(archive)}]
        monkeypatch.delenv("EMI_USER", raising=False)
        with pytest.raises(DownloadError, match="401.*EMI_USER"):
            download_archives(tmp_path / "root", spec, "EMI_USER", "EMI_PASS")
        monkeypatch.setenv("EMI_USER", "alice")
        monkeypatch.setenv("EMI_PASS", "secret")
        # plain http: the credentials stay home unless the config allows them
        with pytest.raises(DownloadError, match="401.*not sent over plain http"):
            download_archives(tmp_path / "root", spec, "EMI_USER", "EMI_PASS")
        assert [auth for _, auth in server.seen] == [None, None]
        paths = download_archives(tmp_path / "root", spec, "EMI_USER", "EMI_PASS", True)
        assert server.seen[-1] == ("/hume.zip", ALICE)
    assert paths[0] == tmp_path / "root" / ".downloads" / f"{sha(archive)}-hume.zip"
    assert (tmp_path / "root" / "valid_split.csv").exists()


def test_credentials_stay_with_their_host_across_redirects(tmp_path, monkeypatch):
    """127.0.0.1:A redirects to localhost:B (another host name and port): A receives the
    credentials, B does not; a redirect within A keeps them."""
    served = tmp_path / "served"
    served.mkdir()
    make_zip(served / "hume.zip")
    monkeypatch.setenv("EMI_USER", "alice")
    monkeypatch.setenv("EMI_PASS", "secret")
    with _Server(served, host="localhost") as other:
        moves = {"/away.zip": f"{other.url}/hume.zip", "/moved.zip": "/hume.zip"}
        with _Server(served, auth=ALICE, redirects=moves) as first:
            for name in ("away.zip", "moved.zip"):
                spec = [{"url": f"{first.url}/{name}", "dest": name}]
                download_archives(tmp_path / "root", spec, "EMI_USER", "EMI_PASS", True)
                assert (tmp_path / "root" / name / "train_split.csv").exists()
    assert first.seen == [("/away.zip", ALICE), ("/moved.zip", ALICE), ("/hume.zip", ALICE)]
    assert other.seen == [("/hume.zip", None)]


def test_archives_with_the_same_file_name_both_arrive(tmp_path):
    served = tmp_path / "served"
    for split in ("train", "valid"):
        (served / split).mkdir(parents=True)
        make_zip(served / split / "data.zip", {f"{split}_split.csv": FILES[f"{split}_split.csv"]})
    with _Server(served) as server:
        spec = [
            {"url": f"{server.url}/train/data.zip"},
            {"url": f"{server.url}/valid/data.zip", "sha256": sha(served / "valid" / "data.zip")},
        ]
        paths = download_archives(tmp_path / "root", spec)
        assert (tmp_path / "root" / "train_split.csv").exists()
        assert (tmp_path / "root" / "valid_split.csv").exists()
        assert len(set(paths)) == 2
        # a rerun reuses both downloads and unpacks neither again
        (tmp_path / "root" / "valid_split.csv").write_text("edited")
        assert download_archives(tmp_path / "root", spec) == paths
        assert (tmp_path / "root" / "valid_split.csv").read_text() == "edited"
    assert [path for path, _ in server.seen] == ["/train/data.zip", "/valid/data.zip"]


def test_a_download_failing_its_checksum_is_removed_not_reused(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    good = make_zip(served / "hume.zip")
    checksum = sha(good)
    downloads = tmp_path / "root" / ".downloads"
    with _Server(served) as server:
        spec = [{"url": f"{server.url}/hume.zip", "sha256": checksum}]
        downloads.mkdir(parents=True)
        (downloads / f"{checksum}-hume.zip").write_bytes(b"half a download")
        paths = download_archives(tmp_path / "root", spec)  # fetched again, then verified
        assert sha(paths[0]) == checksum and len(server.seen) == 1
        spec[0]["sha256"] = "ab" * 32  # the server's file is not the expected one
        with pytest.raises(DownloadError, match="hume.zip: sha256 mismatch"):
            download_archives(tmp_path / "other", spec)
    assert list((tmp_path / "other" / ".downloads").iterdir()) == []


def test_a_refused_tar_member_names_archive_and_member_and_leaves_the_root_as_it_was(tmp_path):
    for link in ("/etc/passwd", "../../outside"):
        archive = tmp_path / "links.tar"
        with tarfile.open(archive, "w") as tf:
            data = FILES["train_split.csv"].encode()
            info = tarfile.TarInfo("train_split.csv")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
            info = tarfile.TarInfo("raw/evil")
            info.type, info.linkname = tarfile.SYMTYPE, link
            tf.addfile(info)
        root = tmp_path / "root"
        with pytest.raises(DownloadError, match=r"archive links\.tar: member 'raw/evil' refused"):
            download_archives(root, [{"url": str(archive)}])
        assert not (root / "train_split.csv").exists()
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_dest_outside_the_root_is_refused(tmp_path):
    archive = make_zip(tmp_path / "hume.zip")
    with pytest.raises(DownloadError, match="dest '../elsewhere' lies outside the root"):
        download_archives(tmp_path / "root", [{"url": str(archive), "dest": "../elsewhere"}])
    assert not (tmp_path / "elsewhere").exists()
