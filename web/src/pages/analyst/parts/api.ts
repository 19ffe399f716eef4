/** The analyst's pages through the API: report uploads and the account search. */
import { useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../../api/client";
import type { HistoryRange } from "../../trader/account/api";

export type ReportOut = Schemas["ReportOut"];

/** The gateway's limit for an uploaded report (analytics.imports.MAX_REPORT_BYTES). */
export const MAX_REPORT_BYTES = 32 * 1024 * 1024;

/** Why a file is not sent at all (too big, empty), or null. */
export function fileProblem(file: File | null): string | null {
  if (!file) return "Choose a report file.";
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > MAX_REPORT_BYTES) {
    return `${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MiB; a report is read up to ${MAX_REPORT_BYTES / 1024 / 1024} MiB.`;
  }
  return null;
}

/** The file's bytes (FileReader: every browser, and jsdom, whose File lacks arrayBuffer). */
function readBytes(file: File): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(new Error(`${file.name} could not be read: ${reader.error?.message ?? "unknown error"}`));
    reader.readAsArrayBuffer(file);
  });
}

/** The report read by the gateway; `storeAs` keeps its history under that account name. */
export async function uploadReport(file: File, storeAs?: string): Promise<ReportOut> {
  const query: { file: string; store_as?: string } = { file: file.name };
  if (storeAs !== undefined) query.store_as = storeAs;
  const bytes = await readBytes(file);
  return call(api.POST("/api/v1/analytics/reports", {
    params: { query },
    body: bytes as unknown as string, // the file as it is, not JSON
    bodySerializer: (body: unknown) => body as BodyInit,
    headers: { "Content-Type": "application/octet-stream" },
  }));
}


export type AccountFound = Schemas["AccountFound"];

/** The firm's accounts whose login or program contains `text` (the gateway's order). */
export function useAccountSearch(text: string, limit = 20, enabled = true) {
  return useQuery({
    queryKey: ["analyst", "accounts", text, limit],
    enabled,
    queryFn: () => call(api.GET("/api/v1/analytics/accounts", { params: { query: { q: text, limit } } })),
    staleTime: 30_000,
  });
}

/** Cohorts of the firm: `program` a slug or engine id (empty: every program). */
export function useCohorts(period: "day" | "week" | "month", program: string, range: HistoryRange) {
  const query: { period: "day" | "week" | "month"; program?: string; since?: string; until?: string } = { period, ...range };
  if (program) query.program = program;
  return useQuery({
    queryKey: ["analyst", "cohorts", query],
    queryFn: () => call(api.GET("/api/v1/analytics/cohorts", { params: { query } })),
  });
}
