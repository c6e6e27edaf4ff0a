"""The names of the report's tables and figures (file stems), shared by the report steps and the
workflow's plan; importing this module loads no plotting or table library."""

PER_EMOTION = "per_emotion"
TABLE_FORMATS: tuple[str, ...] = ("csv", "md", "tex")
# besides report.tables, every run of the report writes the per-emotion table
EXTRA_TABLES: tuple[str, ...] = (PER_EMOTION,)
FIGURES: tuple[str, ...] = (
    "per_emotion",
    "modality_ablation",
    "scatter",
    "stage1_curves",
    "fusion_weights",
)
ROBUSTNESS_TABLES: tuple[str, ...] = ("robustness", "robustness_compare", "robustness_weights")
ROBUSTNESS_FIGURES: tuple[str, ...] = ("robustness", "robustness_weights")
