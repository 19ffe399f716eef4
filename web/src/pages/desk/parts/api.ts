/** The desk's exposure query, shared by the floors and exposure pages: refetched every
 * 5 s while the tab is shown (TanStack Query pauses the interval in a hidden tab). */
import { useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../../api/client";

export type Exposure = Schemas["ExposureOut"];
export type NearestFloor = Schemas["NearestFloor"];

export const REFRESH_MS = 5_000;

export function useExposure(top: number, nearest: number = top) {
  return useQuery({
    queryKey: ["desk", "exposure", top, nearest],
    queryFn: () => call(api.GET("/api/v1/analytics/exposure", { params: { query: { top, nearest } } })),
    refetchInterval: REFRESH_MS,
    refetchIntervalInBackground: false,
    staleTime: REFRESH_MS,
  });
}

/** The viewer's own zone, for "last updated". */
export const LOCAL_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
