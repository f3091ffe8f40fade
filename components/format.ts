// Display formatting shared by the components. Locale and currency are explicit so the server
// render and the browser's hydration produce the same text.
const LOCALE = "en-US";

// Making a number formatter costs far more than using one, and a page of models formats
// thousands of figures: one per set of options, kept.
const numberFormats = new Map<string, Intl.NumberFormat>();
function numberFormat(options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = JSON.stringify(options);
  let format = numberFormats.get(key);
  if (!format) numberFormats.set(key, (format = new Intl.NumberFormat(LOCALE, options)));
  return format;
}

export function formatMoney(value: number, currency = "USD"): string {
  try {
    return numberFormat({ style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
  } catch {
    // Not an ISO 4217 code: the number with the configured label.
    return `${value.toFixed(2)} ${currency}`;
  }
}

export function formatNumber(value: number, maximumFractionDigits = 0): string {
  return numberFormat({ maximumFractionDigits }).format(value);
}

export function formatHours(value: number): string {
  return `${formatNumber(value, 2)} h`;
}

// A share in [0, 1] as a percentage with one decimal.
export function formatShare(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

export function formatProgress(percent: number): string {
  return `${formatNumber(percent, 1)}%`;
}

export function formatScore(score: number | null): string {
  return score === null ? "—" : score.toFixed(3);
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

// Elapsed time as a ticking clock: "2:04:09", "3d 02:04:09". Negative (a start in the future) reads 0.
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  return days > 0 ? `${days}d ${two(h)}:${two(m)}:${two(s)}` : `${h}:${two(m)}:${two(s)}`;
}

// "5 s ago", "3 min ago", "2 h ago".
export function formatAgo(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

// A stretch of whole minutes: "0 min", "42 min", "2 h 5 min". Negative reads 0.
export function formatMinutes(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// A date in the viewer's zone, or in UTC (labelled) where the zone is not known yet (server render).
export function formatDateTime(iso: string, { utc = false }: { utc?: boolean } = {}): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const text = new Intl.DateTimeFormat(LOCALE, {
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    ...(utc ? { timeZone: "UTC" } : {}),
  }).format(date);
  return utc ? `${text} UTC` : text;
}

export function formatClockTime(ms: number): string {
  return new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(ms);
}

export function formatCompact(value: number): string {
  return numberFormat({ notation: "compact", maximumFractionDigits: 1 }).format(value);
}
