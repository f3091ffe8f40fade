import type { ModelStatus } from "@/lib/schemas/api";

const STATUS_LABEL: Record<ModelStatus["status"], string> = {
  pending: "Pending",
  running: "Running",
  paused: "Paused",
  completed: "Completed",
  failed: "Failed",
};

const DEPLOYMENT_LABEL: Record<ModelStatus["deployment_status"], string> = {
  none: "Not deployed",
  staging: "Staging",
  ready: "Ready",
  deployed: "Deployed",
};

// The colour is a dot; the words carry the meaning (and the contrast).
export function StatusBadge({ status }: { status: ModelStatus["status"] }) {
  return (
    <span className="badge" data-status={status}>
      <span className={`dot dot-${status}`} aria-hidden="true" />
      {STATUS_LABEL[status]}
    </span>
  );
}

export function DeploymentBadge({ status }: { status: ModelStatus["deployment_status"] }) {
  return (
    <span className="badge" data-deployment={status}>
      <span className={`dot dot-deploy-${status}`} aria-hidden="true" />
      {DEPLOYMENT_LABEL[status]}
    </span>
  );
}

export function Chip({ children, tone = "neutral", ...rest }: { children: React.ReactNode; tone?: "neutral" | "accent" } & React.HTMLAttributes<HTMLSpanElement>) {
  return (
    <span className={`chip ${tone === "accent" ? "chip-accent" : ""}`} {...rest}>
      {children}
    </span>
  );
}
