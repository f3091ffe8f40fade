// The curves the dashboard draws, each found in run files by its tag aliases (lib/runs/tags.ts).
export const SERIES_NAMES = ["train_loss", "val_loss", "samples_per_sec", "tokens_per_sec", "learning_rate"] as const;
export type SeriesName = (typeof SERIES_NAMES)[number];
