"""The six Hume-Vidmimic2 emotions, in the order of the dataset's CSV header."""

EMOTIONS: tuple[str, ...] = (
    "Admiration",
    "Amusement",
    "Determination",
    "Empathic Pain",
    "Excitement",
    "Joy",
)
SPLITS: tuple[str, ...] = ("train", "valid", "test")
ID_WIDTH = 5


def format_id(value: int | str) -> str:
    """Zero-pad a clip id to the dataset's 5-digit file stem (``7`` -> ``"00007"``)."""
    return f"{int(value):0{ID_WIDTH}d}"
