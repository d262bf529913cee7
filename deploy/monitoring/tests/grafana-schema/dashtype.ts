// The dashboard type the JSON files are checked against with `tsc --noEmit`: Grafana's own
// schema (@grafana/schema, `Dashboard`), so misspelt or misplaced keys and wrong value
// types are errors at any depth the schema types (dashboard, templating, panels, gridPos,
// fieldConfig.defaults, annotations); panel `options` and `targets` are plugin-specific
// and checked by check_dashboards.py and the live Prometheus instead.
import type { Dashboard, AnnotationQuery } from "@grafana/schema";

// JSON holds string enums as their string values.
type Loose<T> = T extends string ? (string extends T ? string : `${T}`)
  : T extends (infer U)[] ? Loose<U>[]
  : T extends object ? { [K in keyof T]: Loose<T[K]> }
  : T;

// Prometheus annotations as Grafana saves them (query fields at the top level; Grafana's
// Prometheus plugin moves them into `target` when it loads the dashboard).
type PromAnnotation = Loose<AnnotationQuery> & {
  expr?: string; step?: string; titleFormat?: string; textFormat?: string; tagKeys?: string;
  useValueForTime?: boolean;
};

export type CheckedDashboard = Loose<Omit<Dashboard, "annotations">> & {
  annotations?: { list?: PromAnnotation[] };
  // Import metadata of dashboards exported for sharing.
  __inputs?: unknown[];
};
