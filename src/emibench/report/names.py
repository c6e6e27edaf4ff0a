"""The names of the report's tables and figures (file stems), shared by the report steps and the
workflow's plan; importing this module loads no plotting or table library."""

PER_EMOTION = "per_emotion"
PAIRWISE = "pairwise"
LEADERBOARD = "leaderboard"
COSTS = "costs"
TABLE1 = "table1"
TABLE_FORMATS: tuple[str, ...] = ("csv", "md", "tex")
# besides report.tables, the tables step writes the per-emotion and pairwise tables
EXTRA_TABLES: tuple[str, ...] = (PER_EMOTION, PAIRWISE)
# tables the steps write beside report.tables: no config table may take their names
GENERATED_TABLES: tuple[str, ...] = (TABLE1, PER_EMOTION, PAIRWISE, LEADERBOARD, COSTS)
FIGURES: tuple[str, ...] = (
    "per_emotion",
    "modality_ablation",
    "scatter",
    "stage1_curves",
    "fusion_weights",
    PAIRWISE,
)
ROBUSTNESS_TABLES: tuple[str, ...] = ("robustness", "robustness_compare", "robustness_weights")
ROBUSTNESS_FIGURES: tuple[str, ...] = ("robustness", "robustness_weights")
