import { SERIES_NAMES, type SeriesName } from "@/lib/schemas/series";

export type SeriesAliases = Record<SeriesName, readonly string[]>;

// The tags each writer uses for a series, in order of preference when several hold the same step.
export const DEFAULT_SERIES_ALIASES: SeriesAliases = {
  train_loss: ["loss", "train/loss", "loss/train", "train_loss", "training_loss"],
  val_loss: ["eval_loss", "eval/loss", "val/loss", "loss/val", "val_loss", "validation/loss"],
  samples_per_sec: [
    "samples_per_sec",
    "samples_per_second",
    "throughput/samples_per_sec",
    "train/train_samples_per_second",
    "train_samples_per_second",
  ],
  tokens_per_sec: ["tokens_per_sec", "tokens_per_second", "throughput/tokens_per_sec", "train_tokens_per_second"],
  learning_rate: ["learning_rate", "train/learning_rate", "lr"],
};

// A model's overrides replace the default list of the series they name.
export function resolveAliases({ overrides }: { overrides?: Partial<SeriesAliases> }): SeriesAliases {
  const aliases = { ...DEFAULT_SERIES_ALIASES };
  for (const name of SERIES_NAMES) aliases[name] = overrides?.[name] ?? aliases[name];
  return aliases;
}
