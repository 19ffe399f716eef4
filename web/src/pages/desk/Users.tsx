/** The firm's users for its admins: search by e-mail or name, change a role, disable or
 * enable, each after a confirmation. The rank rules are the API's: what it refuses is
 * shown in its own words. The risk role has no access (the API answers admins only). */
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { AlertDialog } from "radix-ui";
import { useId, useState } from "react";
import { api, call } from "../../api/client";
import { useSession } from "../../session/store";
import { Button, Empty, ErrorState, Field, FormError, Loading, PageTitle, StatusBadge } from "../../ui/kit";
import { toast } from "../../ui/toast";
import { DeskNav } from "./parts/DeskNav";
import { isAdmin, nextCursor, useDebounced, when, type Role } from "./parts/desk";
import {
  changeBody, changeLabel, changeQuestion, PAGE_SIZE, reasonProblem, ROLES, usersQuery,
  type AdminUser, type UserChange,
} from "./parts/users";
import { DIALOG } from "./parts/controls";

const KEY = ["desk", "users"] as const;

interface Asked { user: AdminUser; change: UserChange }

function ChangeDialog({ asked, onClose }: { asked: Asked | null; onClose(): void }) {
  const client = useQueryClient();
  const [reason, setReason] = useState("");
  const problem = reasonProblem(reason);
  const change = useMutation({
    mutationFn: ({ user, change: c }: Asked) => call(api.PATCH("/api/v1/admin/users/{user_id}", {
      params: { path: { user_id: user.id } }, body: changeBody(c, reason) })),
    onSuccess: (user) => {
      toast(`${user.email} updated`, `Role ${user.role}${user.disabled ? ", disabled" : ""}.`, "good");
      void client.invalidateQueries({ queryKey: KEY });
      close();
    },
  });
  function close() {
    setReason("");
    change.reset();
    onClose();
  }
  return (
    <AlertDialog.Root open={asked !== null} onOpenChange={(open) => { if (!open && !change.isPending) close(); }}>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="fixed inset-0 z-40 bg-black/50" />
        <AlertDialog.Content className={DIALOG}>
          <AlertDialog.Title className="mb-2 text-lg font-semibold">{asked ? changeLabel(asked.change) : ""}: {asked?.user.email}</AlertDialog.Title>
          <AlertDialog.Description className="mb-4 text-sm">{asked ? changeQuestion(asked.user, asked.change) : ""}</AlertDialog.Description>
          <form className="flex flex-col gap-3" onSubmit={(e) => { e.preventDefault(); if (asked && !problem) change.mutate(asked); }}>
            <Field label="Reason (kept in the audit log; optional)" value={reason} error={problem ?? undefined}
              onChange={(e) => setReason(e.target.value)} />
            <FormError error={change.error} />
            <div className="flex flex-wrap justify-end gap-2">
              <AlertDialog.Cancel asChild><Button tone="secondary" disabled={change.isPending}>Cancel</Button></AlertDialog.Cancel>
              <Button type="submit" tone={asked?.change.kind === "disable" ? "danger" : "primary"} disabled={problem !== null}
                busy={change.isPending}>{asked ? changeLabel(asked.change) : ""}</Button>
            </div>
          </form>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}

function UserRow({ user, me, onAsk }: { user: AdminUser; me: boolean; onAsk(asked: Asked): void }) {
  const id = useId();
  const [role, setRole] = useState<Role>(user.role);
  const created = when(user.created_at);
  return (
    <tr data-testid="user-row" data-id={user.id}>
      <td className="p-2"><span className="block break-all">{user.email}{me ? " (you)" : ""}</span>
        {user.display_name ? <span className="block text-xs text-muted">{user.display_name}</span> : null}</td>
      <td className="p-2">{user.role}</td>
      <td className="p-2">{user.disabled ? <StatusBadge status="disabled" /> : <span className="text-muted">active</span>}</td>
      <td className="whitespace-nowrap p-2 tabular"><time dateTime={user.created_at} title={created.utc}>{created.text}</time></td>
      <td className="p-2">
        <div className="flex flex-wrap items-center gap-2">
          <label htmlFor={id} className="sr-only">New role for {user.email}</label>
          <select id={id} value={role} onChange={(e) => setRole(e.target.value as Role)}
            className="min-h-8 rounded-md border border-line bg-surface px-2 text-ink">
            {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
          </select>
          <Button tone="secondary" className="min-h-8 px-3 py-1 text-xs" disabled={role === user.role}
            aria-label={`Change the role of ${user.email}`} onClick={() => onAsk({ user, change: { kind: "role", role } })}>Change role</Button>
          <Button tone={user.disabled ? "secondary" : "danger"} className="min-h-8 px-3 py-1 text-xs"
            aria-label={`${user.disabled ? "Enable" : "Disable"} ${user.email}`}
            onClick={() => onAsk({ user, change: { kind: user.disabled ? "enable" : "disable" } })}>
            {user.disabled ? "Enable" : "Disable"}
          </Button>
        </div>
      </td>
    </tr>
  );
}

export default function Users() {
  const me = useSession((s) => s.user);
  const admin = isAdmin(me?.role);
  const [text, setText] = useState("");
  const q = useDebounced(text);
  const list = useInfiniteQuery({
    queryKey: [...KEY, q],
    enabled: admin,
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) => call(api.GET("/api/v1/admin/users", { params: { query: usersQuery(q, pageParam) } })),
    getNextPageParam: (page) => nextCursor(page, PAGE_SIZE) ?? undefined,
  });
  const [asked, setAsked] = useState<Asked | null>(null);
  const rows = list.data?.pages.flat() ?? [];

  if (!admin) {
    return (
      <div>
        <PageTitle>Users</PageTitle>
        <DeskNav />
        <Empty>Only an admin or the owner manages the firm&apos;s users.</Empty>
      </div>
    );
  }
  return (
    <div>
      <PageTitle>Users</PageTitle>
      <DeskNav />
      <p className="mb-3 text-sm text-muted">You act only on users ranked below you (the owner acts on anyone but themself); the firm&apos;s last owner is never demoted or disabled.</p>
      <form role="search" aria-label="Search the users" className="mb-4" onSubmit={(e) => e.preventDefault()}>
        <Field label="E-mail or name" type="search" value={text} className="w-full max-w-sm" onChange={(e) => setText(e.target.value)} />
      </form>
      {list.isPending ? <Loading label="Loading the users" /> : list.isError ? (
        <ErrorState error={list.error} retry={() => void list.refetch()} />
      ) : rows.length === 0 ? (
        <Empty>{q ? "No user matches this search." : "No user yet."}</Empty>
      ) : (
        <>
          <div className="relative overflow-x-auto rounded-lg border border-line bg-surface" tabIndex={0} role="region" aria-label="Users table">
            <table className="w-full min-w-[44rem] text-sm" data-testid="users">
              <caption className="sr-only">The firm&apos;s users</caption>
              <thead className="text-left text-muted">
                <tr>
                  <th scope="col" className="p-2">User</th>
                  <th scope="col" className="p-2">Role</th>
                  <th scope="col" className="p-2">Access</th>
                  <th scope="col" className="p-2">Joined</th>
                  <th scope="col" className="p-2">Actions</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-line">
                {rows.map((u) => <UserRow key={`${u.id}-${u.role}-${u.disabled}`} user={u} me={u.id === me?.id} onAsk={setAsked} />)}
              </tbody>
            </table>
          </div>
          <div className="mt-3 flex flex-wrap items-center gap-3 text-sm text-muted">
            <span aria-live="polite">{rows.length} user{rows.length === 1 ? "" : "s"} shown</span>
            {list.hasNextPage ? <Button tone="secondary" busy={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>Show more</Button> : null}
          </div>
        </>
      )}
      <ChangeDialog asked={asked} onClose={() => setAsked(null)} />
    </div>
  );
}
