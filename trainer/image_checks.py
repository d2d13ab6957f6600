"""Will a stored image cell decode when training reads it? A cheap check of every image, a full decode of a sample.

`datasets` decodes an image only when a batch needs it, so a truncated or corrupt file would otherwise end a run
hours in with a raw OSError. The cheap check parses the header (format and size, no pixels) and looks for the
format's end marker (PNG's IEND chunk, JPEG's EOI, GIF's trailer, WebP's RIFF length), which a truncated file lacks;
a file that fails it is decoded to confirm (a JPEG may carry data after its EOI), so a false alarm costs one decode
and no error. Corruption inside the data that leaves the end intact shows only in a full decode, which
`rows_to_decode` samples.
"""

import io
import os

from PIL import Image, UnidentifiedImageError

__all__ = ["DECODE_SAMPLE_ROWS", "image_problem", "rows_to_decode"]

DECODE_SAMPLE_ROWS = 64  # rows whose images are decoded in full: evenly spaced over the dataset
_TAIL_BYTES = 32
_UNREADABLE_FIX = "replace it with the edit as a PNG, JPEG or WebP file, or drop the row"
_TRUNCATED_FIX = "re-export or re-download the image file, or drop the row"


def rows_to_decode(n_rows: int, sample: int | None = None) -> set[int]:
    """`sample` (default `DECODE_SAMPLE_ROWS`) evenly spaced rows of `n_rows`, first and last included; all if fewer."""
    sample = DECODE_SAMPLE_ROWS if sample is None else sample
    if n_rows <= sample:
        return set(range(n_rows))
    return {round(i * (n_rows - 1) / (sample - 1)) for i in range(sample)} if sample > 1 else {0}


def image_problem(cell, decode: bool = False) -> tuple[str, str] | None:
    """`(reason, fix)` when an undecoded image cell (bytes, a local path, or datasets' `{"bytes", "path"}`) would
    not decode, or None. `decode=True` decodes it in full whatever its end looks like. Cells that are no stored
    image (a URL, an object, a missing image: `validate_pairs` names the latter) are not checked."""
    if isinstance(cell, dict):
        cell = cell.get("bytes") if cell.get("bytes") is not None else cell.get("path")
    if isinstance(cell, bytes):
        return _problem(lambda: io.BytesIO(cell), decode)
    if isinstance(cell, str) and cell and "://" not in cell and os.path.isfile(cell):
        return _problem(lambda: open(cell, "rb"), decode)
    return None


def _problem(open_stream, decode: bool) -> tuple[str, str] | None:
    try:
        with open_stream() as stream, Image.open(stream) as image:
            if not decode and _ends_whole(stream, image.format):
                return None
            image.load()
    except UnidentifiedImageError:
        return "not an image file PIL can read (no known image format)", _UNREADABLE_FIX
    except Image.DecompressionBombError as error:
        return f"too large to decode safely ({error})", "downscale the image file, or drop the row"
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        return f"the image data is truncated or corrupt: decoding fails ({error})", _TRUNCATED_FIX
    return None


def _ends_whole(stream, image_format: str | None) -> bool:
    """Whether the stored file ends as a complete file of its format does (True for formats without an end marker)."""
    size = stream.seek(0, os.SEEK_END)
    stream.seek(max(0, size - _TAIL_BYTES))
    tail = stream.read()
    if image_format == "PNG":
        return b"IEND" in tail
    if image_format in ("JPEG", "MPO"):
        return tail.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    if image_format == "GIF":
        return tail.endswith(b"\x3b")
    if image_format == "WEBP":
        stream.seek(4)
        return int.from_bytes(stream.read(4), "little") + 8 <= size
    return True
