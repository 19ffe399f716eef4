/** Toasts (Radix Toast: announced to screen readers, dismissable by keyboard). */
import { Toast } from "radix-ui";
import { useEffect, useState } from "react";

export type ToastTone = "info" | "good" | "bad";
export interface ToastItem { id: number; title: string; body?: string; tone: ToastTone }

let next = 1;
const listeners = new Set<(item: ToastItem) => void>();

export function toast(title: string, body?: string, tone: ToastTone = "info"): void {
  const item: ToastItem = body === undefined ? { id: next++, title, tone } : { id: next++, title, body, tone };
  for (const listener of listeners) listener(item);
}

const TONE = { info: "border-line", good: "border-good", bad: "border-bad" } as const;

export function Toaster() {
  const [items, setItems] = useState<ToastItem[]>([]);
  useEffect(() => {
    const add = (item: ToastItem) => setItems((all) => [...all.slice(-4), item]);
    listeners.add(add);
    return () => {
      listeners.delete(add);
    };
  }, []);
  return (
    <Toast.Provider swipeDirection="right" duration={8000}>
      {items.map((item) => (
        <Toast.Root
          key={item.id}
          type={item.tone === "bad" ? "foreground" : "background"}
          data-testid="toast"
          data-tone={item.tone}
          className={`relative rounded-lg border-l-4 ${TONE[item.tone]} bg-surface p-3 text-ink shadow-lg`}
          onOpenChange={(open) => {
            if (!open) setItems((all) => all.filter((x) => x.id !== item.id));
          }}
        >
          <Toast.Title className="font-semibold">{item.title}</Toast.Title>
          {item.body ? <Toast.Description className="text-sm text-muted">{item.body}</Toast.Description> : null}
          <Toast.Close aria-label="Dismiss" className="absolute right-2 top-1 text-muted">×</Toast.Close>
        </Toast.Root>
      ))}
      <Toast.Viewport className="fixed bottom-4 right-4 z-50 flex w-[min(24rem,calc(100vw-2rem))] flex-col gap-2 outline-none" />
    </Toast.Provider>
  );
}
