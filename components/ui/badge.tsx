import type { HostState, ModelStatus } from "@/lib/schemas/api";

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

// A host's connection state: green when it answers with GPUs, blue while connecting, grey for no
// GPU, amber for a key to confirm, red (with a tinted badge) for what stops the connection.
const HOST_STATE: Record<HostState, { label: string; tone: "success" | "primary" | "muted" | "warning" | "danger" }> = {
  online: { label: "Online", tone: "success" },
  connecting: { label: "Connecting", tone: "primary" },
  no_gpu: { label: "No GPU", tone: "muted" },
  host_key_unknown: { label: "Host key unknown", tone: "warning" },
  unreachable: { label: "Unreachable", tone: "danger" },
  auth_failed: { label: "Authentication failed", tone: "danger" },
  host_key_mismatch: { label: "Host key mismatch", tone: "danger" },
};

export function HostStateBadge({ state, ...rest }: { state: HostState } & React.HTMLAttributes<HTMLSpanElement>) {
  const { label, tone } = HOST_STATE[state];
  const tint = tone === "danger" ? "badge-danger" : tone === "warning" ? "badge-warning" : "";
  return (
    <span className={`badge ${tint}`} data-state={state} {...rest}>
      <span className={`dot dot-${tone}`} aria-hidden="true" />
      {label}
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
