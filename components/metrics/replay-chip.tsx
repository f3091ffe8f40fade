import { Chip } from "@/components/ui/badge";

// Marks GPU figures that come from a recorded nvidia-smi capture (AFS_GPU_SOURCE=replay:…).
export function ReplayChip(props: React.HTMLAttributes<HTMLSpanElement>) {
  return (
    <Chip tone="accent" title="Replaying a recorded nvidia-smi capture, not this host's GPU" {...props}>
      replay
    </Chip>
  );
}
