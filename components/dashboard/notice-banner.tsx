"use client";

import { useId, useMemo } from "react";
import { useLocalStorage } from "@/hooks/use-local-storage";
import { useModelsStatus } from "@/hooks/use-models-status";
import { useNow } from "@/hooks/use-now";
import { useTrainingStatus } from "@/hooks/use-training-status";
import { useActivity } from "./data-provider";
import { addDismissed, buildNotices, parseDismissed, type Notice } from "./notices";

const DISMISSED_KEY = "afs-dismissed-notices";
const NONE: never[] = [];
// Beyond a few lines the banner would push the page down; the rest are counted, not listed.
const MAX_SHOWN = 5;

// What needs attention before the numbers: a broken afs.config.json, a running model whose run
// stopped writing. A dismissal lasts until the message changes. The notices show once hydrated,
// where the dismissals are known, so a dismissed one never flashes in the server's HTML.
export function NoticeBanner() {
  const { serverNow } = useActivity();
  const now = useNow(serverNow, 15_000);
  const warnings = useTrainingStatus().data?.warnings ?? NONE;
  const models = useModelsStatus().data?.models ?? NONE;
  const [stored, setStored] = useLocalStorage(DISMISSED_KEY);
  // Each answer the dashboard receives re-renders the banner; the notices change only with these.
  const notices = useMemo(() => buildNotices({ warnings, models, now }), [warnings, models, now]);
  const dismissed = parseDismissed(stored ?? "");
  const shown = stored === null ? NONE : notices.filter((n) => !dismissed.has(n.id));
  // The live region stays in the page, so a notice that appears later is announced.
  return (
    <div role="status">
      {shown.length > 0 && (
        <div className="banner-warning" data-testid="notice-banner">
          <ul className="mx-auto max-w-7xl px-4 py-2 text-sm">
            {shown.slice(0, MAX_SHOWN).map((n) => (
              <NoticeItem key={n.id} notice={n} onDismiss={() => setStored(addDismissed(stored ?? "", n.id, notices))} />
            ))}
            {shown.length > MAX_SHOWN && (
              <li className="py-1" data-testid="notice-more">
                and {shown.length - MAX_SHOWN} more
              </li>
            )}
          </ul>
        </div>
      )}
    </div>
  );
}

function NoticeItem({ notice, onDismiss }: { notice: Notice; onDismiss: () => void }) {
  const textId = useId();
  return (
    <li className="flex items-center gap-3 py-1">
      <svg aria-hidden="true" viewBox="0 0 24 24" className="h-4 w-4 shrink-0 text-warning" fill="none" stroke="currentColor" strokeWidth="2">
        <path d="M12 9v4M12 17h.01M10.29 3.86 1.82 18a2 2 0 0 0 1.71 3h16.94a2 2 0 0 0 1.71-3L13.71 3.86a2 2 0 0 0-3.42 0z" />
      </svg>
      <p id={textId} className="min-w-0 flex-1 break-words">
        {notice.text}
      </p>
      <button type="button" className="btn btn-ghost btn-sm shrink-0" aria-describedby={textId} onClick={onDismiss}>
        Dismiss
      </button>
    </li>
  );
}
