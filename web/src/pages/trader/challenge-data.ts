/** The trader's challenges and the programs they were bought under, shared by pages. */
import { useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";

export type ChallengeOut = Schemas["ChallengeOut"];
export type ProgramOut = Schemas["ProgramOut"];

export function useChallenges() {
  return useQuery({
    queryKey: ["challenges"],
    queryFn: () => call(api.GET("/api/v1/challenges", { params: { query: { all: "0" } } })),
  });
}

export function useChallenge(id: number) {
  return useQuery({
    queryKey: ["challenge", id],
    queryFn: () => call(api.GET("/api/v1/challenges/{challenge_id}", { params: { path: { challenge_id: id } } })),
    enabled: Number.isInteger(id) && id > 0,
  });
}

export function usePrograms() {
  return useQuery({
    queryKey: ["programs"],
    queryFn: () => call(api.GET("/api/v1/programs")),
    staleTime: 60_000,
  });
}

/** The program a challenge was bought under (challenges name it by slug). */
export function programOf(programs: readonly ProgramOut[] | undefined, challenge: ChallengeOut): ProgramOut | undefined {
  return programs?.find((p) => p.slug === challenge.program || p.name === challenge.program);
}

/** The account a challenge trades on now: the newest one. */
export function currentAccount(challenge: ChallengeOut): ChallengeOut["accounts"][number] | undefined {
  return [...challenge.accounts].sort((a, b) => b.created_at.localeCompare(a.created_at))[0];
}
