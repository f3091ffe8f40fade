import { z } from "zod";

// A training file's sample count (non-blank lines) and what it is valid for, as the store keeps
// it. `tail_offset` is where the last complete line ends, so a file that only grew is counted on
// from there; JSON validity is checked apart, up to `checked_offset`.
export const sampleCountSchema = z.object({
  ino: z.number(),
  size: z.number(),
  mtime_ms: z.number(),
  tail_offset: z.number(),
  complete_lines: z.number(),
  // The text after the last newline is not blank: a last line without its newline, still a sample.
  partial_line: z.boolean(),
  checked_offset: z.number(),
  checked_lines: z.number(),
  malformed: z.number(),
  first_malformed_line: z.number().nullable(),
});
export type SampleCount = z.infer<typeof sampleCountSchema>;
