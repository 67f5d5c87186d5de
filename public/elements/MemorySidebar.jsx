import { useEffect, useMemo, useRef, useState } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Textarea } from "@/components/ui/textarea";

// The Memories panel. `props` is injected by Chainlit (chatapp/sidebar.py `sidebar_props`, app.py):
// { user, mode, notice, focus, memory_state, categories, limit,
//   memories: [{ id, memory, category, created_at, updated_at, history: [{ ..., source, source_label }],
//                last_read: { by, at, reads } | null (an app's last read, chatapp/api/panel.py) }],
//   deleted: [{ id, memory, deleted_at, source }] }.
// Every change goes through callAction("memory_action"); the server checks the owner.
// Styles that Chainlit's Tailwind build lacks come from public/memory-ui.css (mc-* classes).

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

const EVENT_LABEL = { ADD: "Added", UPDATE: "Changed", DELETE: "Deleted" };
const STATE_NOTE = {
  off: "Memory is off for your chats: they neither read nor write these memories. Turn it on in Settings.",
  temporary: "This is a temporary chat: it neither reads nor writes these memories.",
};

function post(request) {
  window.memoryChatPost(request); // public/memory-ui.js: adds whether the screen is wide
}

function HistoryTimeline({ item, onRestore, busy }) {
  return (
    <ol className="mc-timeline" data-testid="memory-history">
      {item.history.map((h) => {
        const text = h.new_memory || h.old_memory;
        const restorable = h.event !== "DELETE" && h.new_memory && h.new_memory !== item.memory;
        return (
          <li key={h.id} className="text-xs" data-testid="history-entry">
            <div className="text-muted-foreground">
              <span className="font-semibold text-foreground">{EVENT_LABEL[h.event] || h.event}</span>{" "}
              <span data-testid="history-source">{h.source_label}</span> · {when(h.updated_at || h.created_at)}
            </div>
            {h.event === "UPDATE" && h.old_memory ? (
              <div className="mc-struck break-words" data-testid="history-old">{h.old_memory}</div>
            ) : null}
            <div className="break-words">{text}</div>
            {restorable ? (
              <button className="mc-link text-xs" disabled={busy} onClick={() => onRestore(h.id)} data-testid="restore-version">
                Restore this version
              </button>
            ) : null}
          </li>
        );
      })}
    </ol>
  );
}

function MemoryCard({ item, act, busy, focused, match }) {
  const [mode, setMode] = useState("view"); // view | edit | history | confirm-delete
  const [draft, setDraft] = useState(item.memory);
  const card = useRef(null);
  const editor = useRef(null);
  const changed = item.updated_at ? `Updated ${when(item.updated_at)}` : `Added ${when(item.created_at)}`;

  useEffect(() => {
    if (focused && card.current) card.current.scrollIntoView({ block: "center" });
  }, [focused]);
  useEffect(() => {
    if (mode === "edit" && editor.current) {
      editor.current.scrollIntoView({ block: "nearest" });
      editor.current.focus();
    }
  }, [mode]);

  return (
    <li
      ref={card}
      className={`rounded-md border p-3 bg-card${focused ? " mc-focus" : ""}`}
      data-testid="memory-item"
      data-memory-id={item.id}
      data-focused={focused ? "true" : "false"}
    >
      {mode === "edit" ? (
        <div className="flex flex-col gap-2">
          <Textarea ref={editor} value={draft} onChange={(e) => setDraft(e.target.value)} aria-label="Memory text" data-testid="edit-text" />
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
        <span className="rounded bg-muted px-1.5 py-0.5 text-foreground" data-testid="memory-category">{item.category}</span>
        <span>{changed}</span>
        {match !== undefined ? <span data-testid="meaning-match">by meaning, relevance {match.toFixed(2)}</span> : null}
        {item.last_read ? <span data-testid="last-read">Last read by {item.last_read.by} · {when(item.last_read.at)}</span> : null}
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
        <div className="mc-actions">
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

function RecentlyDeleted({ deleted, act, busy }) {
  const [open, setOpen] = useState(false);
  if (!deleted.length) return null;
  return (
    <section className="flex flex-col gap-2" data-testid="recently-deleted">
      <button type="button" className="mc-link text-sm" style={{ alignSelf: "flex-start" }} onClick={() => setOpen(!open)} data-testid="toggle-deleted">
        {open ? "Hide recently deleted" : `Recently deleted (${deleted.length})`}
      </button>
      {open ? (
        <ul className="flex flex-col gap-2">
          {deleted.map((d) => (
            <li key={d.id} className="rounded-md border p-2 text-sm" data-testid="deleted-item">
              <div className="mc-struck break-words">{d.memory}</div>
              <div className="mt-1 flex items-center gap-2 text-xs text-muted-foreground">
                <span>Deleted {when(d.deleted_at)}</span>
                <button type="button" className="mc-link ml-auto" disabled={busy} onClick={() => act({ op: "undelete", id: d.id })} data-testid="undelete">
                  Restore
                </button>
              </div>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

export default function MemorySidebar() {
  const [filter, setFilter] = useState("");
  const [category, setCategory] = useState("");
  const [source, setSource] = useState("");
  const [meaning, setMeaning] = useState({ query: "", hits: [] });
  const [status, setStatus] = useState(props.notice || "");
  const [busy, setBusy] = useState(false);
  const [confirmForget, setConfirmForget] = useState(false);
  const [adding, setAdding] = useState(false);
  const [newMemory, setNewMemory] = useState("");
  const fileInput = useRef(null);
  const memories = props.memories || [];
  const deleted = props.deleted || [];

  useEffect(() => {
    // A close by the user (the panel's close button, Escape on the phone's sheet, the header's
    // Memories button) is reported at once as "panel-closed": the server then leaves the panel
    // closed, and remembers it. Chainlit also closes the panel by itself, around a new thread's
    // first message (2.12 moves the page from / to /thread/<id>): that is reported as
    // "panel-moved", and the server shows the panel again if it was open. A panel replaced by a
    // refresh is neither.
    let closedByUser = false;
    const closing = () => {
      if (closedByUser) return;
      closedByUser = true;
      post({ memoryChat: "panel-closed" }); // at once, so a memory update in flight does not reopen it
    };
    const onClick = (event) => {
      const target = event.target instanceof Element ? event.target : null;
      const sheet = target?.closest('[role="dialog"]');
      if (
        target?.closest("#side-view-title button") ||
        target?.closest("#memories-button") ||
        (sheet?.querySelector("#side-view-content") && target.closest("button") && !target.closest("#side-view-content"))
      ) {
        closing();
      }
    };
    const onKey = (event) => {
      // Escape closes the phone's sheet, unless another dialog (settings, ...) is on top of it.
      const dialogs = [...document.querySelectorAll('[role="dialog"]')];
      if (event.key === "Escape" && dialogs.length === 1 && dialogs[0].querySelector("#side-view-content")) closing();
    };
    document.addEventListener("click", onClick, true);
    document.addEventListener("keydown", onKey, true);
    return () => {
      document.removeEventListener("click", onClick, true);
      document.removeEventListener("keydown", onKey, true);
      if (closedByUser) return;
      setTimeout(() => {
        if (document.querySelector('[data-testid="memory-sidebar"]')) return; // replaced by a refresh
        const now = Date.now();
        const recent = (window.memoryPanelReopens || []).filter((t) => now - t < 5000);
        if (recent.length >= 3) return; // never fight Chainlit in a loop
        window.memoryPanelReopens = [...recent, now];
        post({ memoryChat: "panel-moved" });
      }, 300);
    };
  }, []);

  // Meaning search: the server's Memory.search, 300 ms after the last keystroke.
  useEffect(() => {
    const query = filter.trim();
    if (!query) {
      setMeaning({ query: "", hits: [] });
      return;
    }
    const timer = setTimeout(async () => {
      try {
        const answer = await callAction({ name: "memory_action", payload: { op: "search", query } });
        const result = (answer && answer.response) || {};
        setMeaning({ query, hits: result.hits || [] });
      } catch (error) {
        setMeaning({ query, hits: [] });
      }
    }, 300);
    return () => clearTimeout(timer);
  }, [filter]);

  // Who changed the memories: "from chat", "edited in the panel", "from Claude Desktop (token 'laptop')", ...
  const sources = useMemo(() => [...new Set(memories.flatMap((m) => m.history.map((h) => h.source_label)))].sort(), [memories]);
  const { shown, scores } = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const inCategory = memories.filter(
      (m) => (!category || m.category === category) && (!source || m.history.some((h) => h.source_label === source))
    );
    if (!needle) return { shown: inCategory, scores: {} };
    const byText = inCategory.filter((m) => m.memory.toLowerCase().includes(needle) || m.category.toLowerCase().includes(needle));
    const textIds = new Set(byText.map((m) => m.id));
    const scores = {};
    const byMeaning = [];
    if (meaning.query.toLowerCase() === needle) {
      for (const hit of meaning.hits) {
        const item = inCategory.find((m) => m.id === hit.id);
        if (item && !textIds.has(item.id)) {
          scores[item.id] = hit.score;
          byMeaning.push(item);
        }
      }
    }
    return { shown: [...byText, ...byMeaning], scores };
  }, [filter, category, source, meaning, memories]);

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

  async function importFile(event) {
    const file = event.target.files && event.target.files[0];
    event.target.value = "";
    if (!file) return;
    if (file.size > 5_000_000) return setStatus("That file is over 5 MB; nothing was imported.");
    await act({ op: "import", json: await file.text() });
  }

  const filtering = Boolean(filter.trim() || category || source);
  const count = memories.length;
  return (
    <div className="flex flex-col gap-3 p-1 text-foreground w-full min-w-0" data-testid="memory-sidebar">
      <div>
        <div className="text-sm font-semibold" data-testid="memory-count">
          {filtering ? `${shown.length} of ${count} memories` : `${count} ${count === 1 ? "memory" : "memories"}`} for {props.user}
        </div>
        <div className="text-xs text-muted-foreground break-words" data-testid="memory-mode">{props.mode}</div>
      </div>
      {STATE_NOTE[props.memory_state] ? (
        <div className="text-xs rounded border p-2" data-testid="memory-state-note">{STATE_NOTE[props.memory_state]}</div>
      ) : null}
      <Input placeholder="Search memories (words or meaning)" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Search memories" data-testid="memory-filter" />
      {(props.categories || []).length > 1 ? (
        <div className="flex flex-wrap gap-1" role="group" aria-label="Categories" data-testid="category-filter">
          <button type="button" className="mc-chip" aria-pressed={!category} onClick={() => setCategory("")}>All</button>
          {props.categories.map((c) => (
            <button key={c} type="button" className="mc-chip" aria-pressed={category === c} onClick={() => setCategory(category === c ? "" : c)} data-testid="category-chip">
              {c}
            </button>
          ))}
        </div>
      ) : null}
      {sources.length > 1 ? (
        <select className="mc-select" value={source} onChange={(e) => setSource(e.target.value)} aria-label="Changed by" data-testid="source-filter">
          <option value="">Changed by anyone</option>
          {sources.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      ) : null}
      <div className="flex flex-wrap gap-2">
        <Button size="sm" variant="outline" disabled={busy} onClick={() => setAdding(!adding)} data-testid="add-memory">
          Add memory
        </Button>
        <Button size="sm" variant="outline" disabled={busy} onClick={() => act({ op: "export" })} data-testid="export-memories">
          Export
        </Button>
        <Button size="sm" variant="outline" disabled={busy} onClick={() => fileInput.current && fileInput.current.click()} data-testid="import-memories">
          Import
        </Button>
        <input ref={fileInput} type="file" accept="application/json,.json" style={{ display: "none" }} onChange={importFile} data-testid="import-file" />
        <Button size="sm" variant="outline" disabled={busy || count === 0} onClick={() => setConfirmForget(true)} data-testid="forget-all">
          Forget everything
        </Button>
      </div>
      {adding ? (
        <div className="flex flex-col gap-2" data-testid="add-form">
          <Textarea value={newMemory} onChange={(e) => setNewMemory(e.target.value)} placeholder="Something to remember, e.g. “Prefers short answers”" aria-label="New memory" data-testid="new-memory-text" />
          <div className="flex gap-2">
            <Button
              size="sm"
              disabled={busy || !newMemory.trim()}
              onClick={async () => {
                if (await act({ op: "add", text: newMemory })) {
                  setNewMemory("");
                  setAdding(false);
                }
              }}
              data-testid="save-new-memory"
            >
              Save
            </Button>
            <Button size="sm" variant="outline" onClick={() => setAdding(false)}>Cancel</Button>
          </div>
        </div>
      ) : null}
      {confirmForget ? (
        <div className="rounded-md border p-3 text-sm flex flex-col gap-2" role="alertdialog" data-testid="forget-dialog">
          <p>
            Forget all {count} {count === 1 ? "memory" : "memories"}? Their history is kept, and they stay in “Recently deleted”, but
            chats will no longer use them. Export them first if you want a copy.
          </p>
          <div className="flex flex-wrap gap-2">
            <Button size="sm" variant="outline" disabled={busy} onClick={() => act({ op: "export" })} data-testid="export-before-forget">
              Export first
            </Button>
            <Button
              size="sm"
              variant="destructive"
              disabled={busy}
              onClick={async () => { await act({ op: "forget_all", confirm: true }); setConfirmForget(false); }}
              data-testid="confirm-forget-all"
            >
              Forget all {count}
            </Button>
            <Button size="sm" variant="outline" onClick={() => setConfirmForget(false)}>Cancel</Button>
          </div>
        </div>
      ) : null}
      {status ? <div role="status" className="text-xs rounded bg-muted p-2" data-testid="memory-status">{status}</div> : null}
      {count === 0 ? (
        <p className="text-sm text-muted-foreground" data-testid="memory-empty">
          No memories yet. Tell me about yourself and I will remember, or add one by hand.
        </p>
      ) : shown.length === 0 ? (
        <p className="text-sm text-muted-foreground" data-testid="memory-no-match">No memory matches “{filter || category || source}”.</p>
      ) : (
        <ul className="flex flex-col gap-2" data-testid="memory-list">
          {shown.map((item) => (
            <MemoryCard
              key={`${item.id}-${item.updated_at || ""}`}
              item={item}
              act={act}
              busy={busy}
              focused={item.id === props.focus}
              match={scores[item.id]}
            />
          ))}
        </ul>
      )}
      <RecentlyDeleted deleted={deleted} act={act} busy={busy} />
    </div>
  );
}
