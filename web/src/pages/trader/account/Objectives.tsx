/** The objectives panel: each rule of the phase in the program's words, its live state
 * (passing / at risk / failed / met / in progress), a bar and the number behind it. */
import { memo } from "react";
import { STATE_LABEL, type ObjectiveState, type ObjectiveView } from "../../../objectives/rules";
import { Bar } from "../../../ui/kit";

const STATE_CLASS: Record<ObjectiveState, string> = {
  met: "bg-good text-surface",
  passing: "bg-good text-surface",
  at_risk: "bg-warn text-surface",
  failed: "bg-bad text-surface",
  pending: "bg-surface-2 text-muted",
};

const BAR_TONE: Record<ObjectiveState, "good" | "warn" | "bad" | "brand"> = {
  met: "good", passing: "good", at_risk: "warn", failed: "bad", pending: "brand",
};

export const ObjectiveRow = memo(function ObjectiveRow({ view }: { view: ObjectiveView }) {
  return (
    <li className="flex flex-col gap-1.5 py-3" data-testid={`objective-${view.rule}`} data-state={view.state}>
      <div className="flex items-center justify-between gap-2">
        <h3 className="font-medium">{view.title}</h3>
        <span className={`inline-flex min-w-24 justify-center rounded-full px-2 py-0.5 text-xs font-semibold ${STATE_CLASS[view.state]}`}>
          {STATE_LABEL[view.state]}
        </span>
      </div>
      <p className="text-sm text-muted">{view.words}</p>
      {view.progress !== null ? (
        <Bar value={view.progress} tone={BAR_TONE[view.state]}
          label={`${view.title}: ${STATE_LABEL[view.state]}, ${view.detail}`} />
      ) : null}
      <p className="tabular text-sm">{view.detail}</p>
    </li>
  );
});

export function ObjectivesList({ views }: { views: readonly ObjectiveView[] }) {
  return (
    <ul className="divide-y divide-line" aria-label="Objectives">
      {views.map((view) => <ObjectiveRow key={view.rule} view={view} />)}
    </ul>
  );
}
