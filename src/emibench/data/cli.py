"""Subcommands of the data stage (see emibench.cli): synth, make-fake-root, check-dataset, download,
manifest, data-report, table1."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from functools import wraps

from emibench.steps import json_arg

log = logging.getLogger(__name__)


def _user_errors(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Bad data (labels, layout, archives, settings) ends the command with its message, exit 1."""

    @wraps(func)
    def run(args: argparse.Namespace) -> int:
        from emibench.data.download import DownloadError

        try:
            return func(args)
        except (ValueError, FileNotFoundError, FileExistsError, DownloadError) as exc:
            log.error("%s failed: %s", args.command, exc)
            return 1

    return run


@_user_errors
def _synth(args: argparse.Namespace) -> int:
    from emibench.data.layout import check_layout, write_layout_report
    from emibench.data.synthetic.generate import generate
    from emibench.data.synthetic.settings import SynthSettings
    from emibench.settings import settings_from

    settings = settings_from(SynthSettings, args.settings, "synthetic")
    table = generate(settings, args.root, threads=args.threads)
    if args.layout_report:
        write_layout_report(check_layout(args.root), args.layout_report)
    log.info("synth done: %d clips in %s", len(table), args.root)
    return 0


@_user_errors
def _make_fake_root(args: argparse.Namespace) -> int:
    from emibench.data.fake_root import FakeRootSettings, make_fake_root
    from emibench.settings import settings_from

    settings = settings_from(FakeRootSettings, args.settings, "fake_root")
    make_fake_root(args.root, settings, threads=args.threads)
    return 0


@_user_errors
def _check_dataset(args: argparse.Namespace) -> int:
    from emibench.data.layout import check_layout, write_layout_report

    report = check_layout(args.root)
    write_layout_report(report, args.output)
    log.info(
        "check-dataset done: %d clips, %d warning(s)",
        sum(s["clips"] for s in report["splits"].values()),
        len(report["warnings"]),
    )
    return 0


@_user_errors
def _download(args: argparse.Namespace) -> int:
    from emibench.data.download import download_archives
    from emibench.data.layout import check_layout, write_layout_report

    spec = args.download or {}
    paths = download_archives(
        args.root,
        spec.get("archives", []),
        spec.get("user_env", "EMIBENCH_DATA_USER"),
        spec.get("password_env", "EMIBENCH_DATA_PASSWORD"),
        bool(spec.get("credentials_over_http", False)),
    )
    report = check_layout(args.root)
    write_layout_report(report, args.output)
    log.info("download done: %d archive(s), %d warning(s)", len(paths), len(report["warnings"]))
    return 0


@_user_errors
def _manifest(args: argparse.Namespace) -> int:
    from emibench.data.manifest import build_manifest
    from emibench.data.tables import write_table

    manifest = build_manifest(args.root, args.shards, threads=args.threads)
    write_table(manifest, args.output)
    log.info(
        "manifest done: %d clips, %d broken, written to %s",
        len(manifest),
        int((manifest["status"] == "broken").sum()),
        args.output,
    )
    return 0


@_user_errors
def _data_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from emibench.data.data_report import data_report
    from emibench.data.tables import read_table
    from emibench.emotions import SPLITS
    from emibench.encoding.media import read_transcripts

    manifest = read_table(args.manifest)
    transcripts: dict[str, dict] = {}  # {set: {split: table}}
    for item in args.transcripts:
        key, sep, path = item.partition("=")
        name, colon, split = key.rpartition(":")
        if not (sep and colon and name and path) or split not in SPLITS:
            raise ValueError(
                f"--transcripts {item!r}: expected SET:SPLIT=PATH, SPLIT one of {'/'.join(SPLITS)}"
            )
        transcripts.setdefault(name, {})[split] = read_transcripts([path])
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(data_report(manifest, args.dataset, transcripts, root=args.root))
    log.info("data-report done: %d clips, %s", len(manifest), out)
    return 0


@_user_errors
def _table1(args: argparse.Namespace) -> int:
    from pathlib import Path

    from emibench.data.table1 import build_table1, table1_markdown
    from emibench.data.tables import read_table, write_table

    table = build_table1(read_table(args.manifest), paper_reference=args.paper_reference)
    write_table(table, args.csv)
    md = Path(args.md)
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(table1_markdown(table, args.dataset))
    total = table[table["split"] == "total"].iloc[0]
    log.info("table1 done: %s, %d samples", total["duration"], total["samples"])
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    p = sub.add_parser(
        "synth",
        help="generate the synthetic Hume-Vidmimic2 dataset",
        description="Write a synthetic dataset in the exact Hume-Vidmimic2 layout into --root: split "
        "CSVs, test_labels.csv, raw/{id}.mp4 (H.264 + AAC), audio/{id}.wav, latents.csv, "
        "phrases.txt. Deterministic for a seed.",
    )
    p.add_argument("--root", required=True, help="dataset root to write")
    p.add_argument(
        "--settings", type=json_arg, default={}, help="the config section 'synthetic' as JSON"
    )
    p.add_argument(
        "--threads", type=int, default=1, help="worker processes drawing and encoding clips"
    )
    p.add_argument("--layout-report", default="", help="also check the layout and write this JSON")
    p.set_defaults(func=_synth)

    p = sub.add_parser(
        "make-fake-root",
        help="write a small fake Hume-Vidmimic2 root in the real layout (for rehearsals)",
        description="Write ROOT as a licensed copy is laid out: train/valid split CSVs with labels, "
        "test_split.csv with ids only, raw/{id}.mp4 (H.264 + AAC, varied fps and sizes, speech), "
        "audio/{id}.mp3 for most clips, organiser vit/ (T, 384) and wav2vec2/ (T, 768) pickles, "
        "and one clip each over five minutes, without an audio track and under 0.2 s. "
        "Deterministic for a seed; fake_root.json records the corner ids.",
    )
    p.add_argument("root", help="dataset root to write")
    p.add_argument(
        "--settings",
        type=json_arg,
        default={},
        help='JSON, all keys optional: {"seed": 0, "clips": {"train": 14, "valid": 7, "test": 7}, '
        '"duration_s": [3, 7], "long_clip_s": 310, "audio_file_share": 0.85, ...}',
    )
    p.add_argument(
        "--threads", type=int, default=1, help="worker processes drawing and encoding clips"
    )
    p.set_defaults(func=_make_fake_root)

    p = sub.add_parser(
        "check-dataset",
        help="check a Hume-Vidmimic2 root's layout",
        description="Validate the split CSVs and look for every listed clip's raw/{id}.mp4; missing "
        "media are warnings (the manifest marks such clips broken). Writes a JSON report.",
    )
    p.add_argument("--root", required=True, help="dataset root")
    p.add_argument("--output", required=True, help="JSON layout report to write")
    p.set_defaults(func=_check_dataset)

    p = sub.add_parser(
        "download",
        help="fetch or unpack the dataset archives, then check the layout",
        description="Fetch (http/https; credentials from the configured environment variables, "
        "sent to the archive's own host alone, over https unless credentials_over_http) or "
        "read (file://, local path) each archive, verify its sha256 when given, unpack zip/tar into "
        "the root, then check the layout like check-dataset.",
    )
    p.add_argument("--root", required=True, help="dataset root to unpack into")
    p.add_argument(
        "--download",
        type=json_arg,
        default={},
        help='config dataset.download as JSON: {"archives": [{"url", "sha256", "dest"}], '
        '"user_env", "password_env", "credentials_over_http"}',
    )
    p.add_argument("--output", required=True, help="JSON layout report to write")
    p.set_defaults(func=_download)

    p = sub.add_parser(
        "manifest",
        help="probe every clip and write the manifest",
        description="Probe every listed clip with PyAV (duration, fps, size, frames, audio), join "
        "train/valid labels, assign shards round-robin over sorted ids, and write one table. "
        "Unreadable media stay in it as status=broken with the reason.",
    )
    p.add_argument("--root", required=True, help="dataset root")
    p.add_argument(
        "--shards",
        type=json_arg,
        required=True,
        help='shards per split as JSON, e.g. {"train": 4, "valid": 2, "test": 2}',
    )
    p.add_argument("--threads", type=int, default=1, help="worker processes probing clips")
    p.add_argument("--output", required=True, help="manifest .tsv to write")
    p.set_defaults(func=_manifest)

    p = sub.add_parser(
        "data-report",
        help="Markdown report of the dataset from the manifest",
        description="Clips per split, the clips per split with each modality (a note where one "
        "is missing for most clips), broken clips with reasons, clips without audio, portrait "
        "clips, unusual frame rates, very short and very long clips, duration summary; with "
        "--transcripts, per set and split the clips without speech and how much the text varies "
        "(distinct, most common, shared, nearly constant); with --root, the organiser feature "
        "files per split (how many clips have one; constant across or within clips, from a fixed "
        "number of files read per split and folder, named in the report).",
    )
    p.add_argument("--manifest", required=True, help="manifest .tsv")
    p.add_argument("--dataset", default="dataset", help="dataset name for the title")
    p.add_argument(
        "--transcripts",
        nargs="*",
        default=[],
        metavar="SET:SPLIT=PATH",
        help="merged transcript table of one transcript set and split, e.g. "
        "default:valid=results/synthetic/transcripts/valid.tsv; repeat per set and split",
    )
    p.add_argument(
        "--root",
        default=None,
        help="dataset root: check its organiser feature folders (vit/, wav2vec2/) where present",
    )
    p.add_argument("--output", required=True, help="Markdown file to write")
    p.set_defaults(func=_data_report)

    p = sub.add_parser(
        "table1",
        help="Table 1: duration and samples per split",
        description="Per split total duration (h:mm:ss) and number of samples, and the total, as "
        "CSV and Markdown; with --paper-reference the paper's numbers beside them.",
    )
    p.add_argument("--manifest", required=True, help="manifest .tsv")
    p.add_argument("--dataset", default="dataset", help="dataset name for the title")
    p.add_argument("--csv", required=True, help="CSV to write")
    p.add_argument("--md", required=True, help="Markdown to write")
    p.add_argument(
        "--paper-reference", action="store_true", help="add the paper's numbers (real dataset only)"
    )
    p.set_defaults(func=_table1)
