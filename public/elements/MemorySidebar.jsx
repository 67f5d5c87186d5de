import { useEffect, useMemo, useState } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Textarea } from "@/components/ui/textarea";

// The user's memories with their history. `props` is injected by Chainlit:
// { user, mode, notice, thread_id, memories: [{ id, memory, category, created_at, updated_at, history: [...] }], limit }.
// Every change goes through callAction("memory_action"); the server checks the owner.

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

const EVENT_LABEL = { ADD: "Added", UPDATE: "Changed", DELETE: "Deleted" };

function HistoryTimeline({ item, onRestore, busy }) {
  return (
    <ol className="mt-2 border-l-2 border-muted pl-3 space-y-2" data-testid="memory-history">
      {item.history.map((h) => {
        const text = h.new_memory || h.old_memory;
        const restorable = h.event !== "DELETE" && h.new_memory && h.new_memory !== item.memory;
        return (
          <li key={h.id} className="text-xs" data-testid="history-entry">
            <div className="text-muted-foreground">
              <span className="font-semibold text-foreground">{EVENT_LABEL[h.event] || h.event}</span>{" "}
              {when(h.updated_at || h.created_at)}
            </div>
            {h.event === "UPDATE" && h.old_memory ? (
              <div className="line-through text-muted-foreground break-words">{h.old_memory}</div>
            ) : null}
            <div className="break-words">{text}</div>
            {restorable ? (
              <button
                className="mt-1 text-xs underline text-primary disabled:opacity-50"
                disabled={busy}
                onClick={() => onRestore(h.id)}
                data-testid="restore-version"
              >
                Restore this version
              </button>
            ) : null}
          </li>
        );
      })}
    </ol>
  );
}

function MemoryCard({ item, act, busy }) {
  const [mode, setMode] = useState("view"); // view | edit | history | confirm-delete
  const [draft, setDraft] = useState(item.memory);
  const changed = item.updated_at ? `Updated ${when(item.updated_at)}` : `Added ${when(item.created_at)}`;
  return (
    <li className="rounded-md border p-3 bg-card" data-testid="memory-item" data-memory-id={item.id}>
      {mode === "edit" ? (
        <div className="space-y-2">
          <Textarea value={draft} onChange={(e) => setDraft(e.target.value)} aria-label="Memory text" data-testid="edit-text" />
          <div className="flex gap-2">
            <Button
              size="sm"
              disabled={busy || !draft.trim()}
              onClick={async () => {
                if (await act({ op: "edit", id: item.id, text: draft })) setMode("view");
              }}
              data-testid="save-edit"
            >
              Save
            </Button>
            <Button size="sm" variant="outline" onClick={() => { setDraft(item.memory); setMode("view"); }}>
              Cancel
            </Button>
          </div>
        </div>
      ) : (
        <p className="text-sm break-words" data-testid="memory-text">{item.memory}</p>
      )}
      <div className="mt-1 flex flex-wrap items-center gap-2 text-xs text-muted-foreground">
        {item.category ? (
          <span className="rounded bg-muted px-1.5 py-0.5 text-foreground" data-testid="memory-category">{item.category}</span>
        ) : null}
        <span>{changed}</span>
      </div>
      {mode === "confirm-delete" ? (
        <div className="mt-2 flex flex-wrap items-center gap-2 text-sm">
          <span>Delete this memory?</span>
          <Button size="sm" variant="destructive" disabled={busy} onClick={async () => { await act({ op: "delete", id: item.id }); setMode("view"); }} data-testid="confirm-delete">
            Delete
          </Button>
          <Button size="sm" variant="outline" onClick={() => setMode("view")}>Keep</Button>
        </div>
      ) : mode !== "edit" ? (
        <div className="mt-2 flex flex-wrap gap-2">
          <Button size="sm" variant="outline" onClick={() => setMode(mode === "history" ? "view" : "history")} data-testid="toggle-history">
            {mode === "history" ? "Hide history" : `History (${item.history.length})`}
          </Button>
          <Button size="sm" variant="outline" onClick={() => setMode("edit")} data-testid="edit-memory">Edit</Button>
          <Button size="sm" variant="outline" onClick={() => setMode("confirm-delete")} data-testid="delete-memory">Delete</Button>
        </div>
      ) : null}
      {mode === "history" ? (
        <HistoryTimeline item={item} busy={busy} onRestore={(historyId) => act({ op: "restore", id: item.id, history_id: historyId })} />
      ) : null}
    </li>
  );
}

export default function MemorySidebar() {
  const [filter, setFilter] = useState("");
  const [status, setStatus] = useState(props.notice || "");
  const [busy, setBusy] = useState(false);
  const [confirmForget, setConfirmForget] = useState(false);
  const memories = props.memories || [];

  useEffect(() => {
    // A new thread's first message moves the page from / to /thread/<id>, and Chainlit closes this
    // panel around that move (before or after it). Unless the user closed it, ask the server to show
    // it again once the page is this session's thread. A panel shown on the thread page, or closed
    // by the user, stays closed (a panel replaced by a refresh is replaced, not closed).
    const shownOn = window.location.pathname;
    const threadPage = `/thread/${props.thread_id}`;
    let closedByUser = false;
    const onClick = (event) => {
      const target = event.target instanceof Element ? event.target : null;
      const sheet = target?.closest('[role="dialog"]');
      if (
        target?.closest("#side-view-title button") ||
        (sheet?.querySelector("#side-view-content") && target.closest("button") && !target.closest("#side-view-content"))
      ) {
        closedByUser = true;
      }
    };
    const onKey = (event) => {
      if (event.key === "Escape") closedByUser = true;
    };
    document.addEventListener("click", onClick, true);
    document.addEventListener("keydown", onKey, true);
    return () => {
      document.removeEventListener("click", onClick, true);
      document.removeEventListener("keydown", onKey, true);
      if (closedByUser || !props.thread_id || shownOn === threadPage) return;
      const since = Date.now();
      const reopenOnThreadPage = () => {
        if (window.location.pathname === threadPage) {
          callAction({ name: "memory_sidebar_moved", payload: {} }).catch(() => {});
        } else if (Date.now() - since < 5000) {
          setTimeout(reopenOnThreadPage, 100);
        }
      };
      reopenOnThreadPage();
    };
  }, []);

  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    if (!needle) return memories;
    return memories.filter((m) => m.memory.toLowerCase().includes(needle) || (m.category || "").toLowerCase().includes(needle));
  }, [filter, memories]);

  async function act(payload) {
    setBusy(true);
    try {
      const answer = await callAction({ name: "memory_action", payload });
      const result = (answer && answer.response) || {};
      setStatus(result.message || "Done.");
      if (payload.op === "export" && result.json) {
        const url = URL.createObjectURL(new Blob([result.json], { type: "application/json" }));
        const link = document.createElement("a");
        link.href = url;
        link.download = "memories.json";
        link.click();
        URL.revokeObjectURL(url);
      }
      return Boolean(result.ok);
    } catch (error) {
      setStatus(`The action failed: ${error}. Nothing was changed.`);
      return false;
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="flex flex-col gap-3 p-1 text-foreground w-full min-w-0" data-testid="memory-sidebar">
      <div>
        <div className="text-sm font-semibold" data-testid="memory-count">
          {memories.length} {memories.length === 1 ? "memory" : "memories"} for {props.user}
        </div>
        <div className="text-xs text-muted-foreground break-words" data-testid="memory-mode">{props.mode}</div>
      </div>
      <Input placeholder="Filter memories" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter memories" data-testid="memory-filter" />
      <div className="flex flex-wrap gap-2">
        <Button size="sm" variant="outline" disabled={busy} onClick={() => act({ op: "export" })} data-testid="export-memories">
          Export JSON
        </Button>
        {confirmForget ? (
          <>
            <Button
              size="sm"
              variant="destructive"
              disabled={busy}
              onClick={async () => { await act({ op: "forget_all", confirm: true }); setConfirmForget(false); }}
              data-testid="confirm-forget-all"
            >
              Yes, forget all {memories.length}
            </Button>
            <Button size="sm" variant="outline" onClick={() => setConfirmForget(false)}>Cancel</Button>
          </>
        ) : (
          <Button size="sm" variant="outline" disabled={busy || memories.length === 0} onClick={() => setConfirmForget(true)} data-testid="forget-all">
            Forget everything
          </Button>
        )}
      </div>
      {status ? <div role="status" className="text-xs rounded bg-muted p-2" data-testid="memory-status">{status}</div> : null}
      {memories.length === 0 ? (
        <p className="text-sm text-muted-foreground" data-testid="memory-empty">
          No memories yet. Tell me about yourself and I will remember.
        </p>
      ) : shown.length === 0 ? (
        <p className="text-sm text-muted-foreground">No memory matches “{filter}”.</p>
      ) : (
        <ul className="flex flex-col gap-2" data-testid="memory-list">
          {shown.map((item) => <MemoryCard key={`${item.id}-${item.updated_at || ""}`} item={item} act={act} busy={busy} />)}
        </ul>
      )}
    </div>
  );
}
