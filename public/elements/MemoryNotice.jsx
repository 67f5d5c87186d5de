import { useState } from "react";

// A turn's memory changes, shown under the reply (app.py `_after_extraction`). Never given to the model.
// props: { changes: [{ id, event, memory, previous_memory }] } or { error }.
// "View" opens the Memories panel on that memory; "Undo" reverses the turn's changes on the server.

const VERB = { ADD: "Added", UPDATE: "Updated", DELETE: "Forgot" };

function openPanel(id) {
  window.memoryChatPost({ memoryChat: "open-panel", focus: id }); // public/memory-ui.js
}

export default function MemoryNotice() {
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const [undone, setUndone] = useState(false);
  if (props.error) {
    return (
      <div className="mc-notice" data-error="true" role="status" data-testid="memory-notice">
        <strong>Memory not updated.</strong>
        <span>{props.error} The chat goes on.</span>
      </div>
    );
  }
  const changes = props.changes || [];

  async function undo() {
    setBusy(true);
    try {
      const answer = await callAction({ name: "memory_undo", payload: { changes } });
      const result = (answer && answer.response) || {};
      setStatus(result.message || "Done.");
      if (result.ok) setUndone(true);
    } catch (error) {
      setStatus(`Undo failed: ${error}. Nothing was changed.`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="mc-notice" role="status" data-testid="memory-notice">
      <strong>{undone ? "Memory change undone:" : "Memory updated:"}</strong>
      {changes.map((change) => (
        <span key={`${change.event}-${change.id}`} data-testid="notice-change" data-event={change.event}>
          {VERB[change.event] || change.event}{" "}
          {change.event === "UPDATE" && change.previous_memory ? (
            <>
              <span className="mc-struck">{change.previous_memory}</span> →{" "}
            </>
          ) : null}
          “{change.memory}”{" "}
          {change.event !== "DELETE" && !undone ? (
            <button type="button" className="mc-link" onClick={() => openPanel(change.id)} data-testid="notice-view">
              View
            </button>
          ) : null}
        </span>
      ))}
      {!undone ? (
        <button type="button" className="mc-link" disabled={busy} onClick={undo} data-testid="notice-undo">
          Undo
        </button>
      ) : null}
      {status ? <span data-testid="notice-status">{status}</span> : null}
    </div>
  );
}
