/** The firm this site belongs to (from its host): name, colours, logo. Its colours are
 * already on the page from /theme.css; this gives the words and the logo. */
import { useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../api/client";

export type Branding = Schemas["BrandingOut"];

export function useTenant() {
  return useQuery({
    queryKey: ["tenant"],
    queryFn: () => call(api.GET("/api/v1/tenant")),
    staleTime: 5 * 60_000,
  });
}
