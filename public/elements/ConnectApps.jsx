import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";

// "Connect an app", above the memories in the panel (chatapp/api/panel.py `add_app_props`):
// props = { tokens: [{ id, name, hint, created_at, last_used_at, last_client }], mcp_path, api_path }.
// A token is made and revoked through callAction("app_token"); the server checks the owner and keeps
// only a hash. A new token is shown once: it is kept in window.memoryChatNewToken for ten minutes, so
// a redraw of the panel (a chat turn's memory update) does not hide it before it is copied.

const APPS = {
  claude_desktop: "Claude Desktop",
  claude_code: "Claude Code",
  cursor: "Cursor",
  vscode: "VS Code",
  curl: "A script (curl)",
};
const KEEP_NEW_TOKEN_MS = 10 * 60 * 1000;

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function snippet(app, token) {
  const origin = window.location.origin;
  const mcp = origin + (props.mcp_path || "/memory/mcp");
  const bearer = `Bearer ${token || "<your token>"}`;
  const json = (value) => JSON.stringify(value, null, 2);
  if (app === "claude_desktop") {
    return {
      where: "claude_desktop_config.json (Settings → Developer → Edit Config), then restart Claude Desktop:",
      text: json({ mcpServers: { "memory-chat": { command: "npx", args: ["-y", "mcp-remote", mcp, "--header", "Authorization:${AUTH}"], env: { AUTH: bearer } } } }),
    };
  }
  if (app === "claude_code") return { where: "In a terminal:", text: `claude mcp add --transport http memory-chat ${mcp} --header "Authorization: ${bearer}"` };
  if (app === "cursor") return { where: "~/.cursor/mcp.json:", text: json({ mcpServers: { "memory-chat": { url: mcp, headers: { Authorization: bearer } } } }) };
  if (app === "vscode") return { where: ".vscode/mcp.json (or your user mcp.json):", text: json({ servers: { "memory-chat": { type: "http", url: mcp, headers: { Authorization: bearer } } } }) };
  return {
    where: `The REST API (its page: ${origin}${props.api_path || "/api/v1"}/docs):`,
    text: `curl -H "Authorization: ${bearer}" "${origin}${props.api_path || "/api/v1"}/search?query=coffee"`,
  };
}

function Copy({ text, label }) {
  const [done, setDone] = useState(false);
  return (
    <Button size="sm" variant="outline" onClick={async () => { await navigator.clipboard.writeText(text); setDone(true); }} data-testid="copy">
      {done ? "Copied" : label || "Copy"}
    </Button>
  );
}

function TokenRow({ token, act, busy }) {
  const [confirm, setConfirm] = useState(false);
  const used = token.last_used_at ? `last used ${when(token.last_used_at)}${token.last_client ? ` by ${token.last_client}` : ""}` : "never used";
  return (
    <li className="rounded-md border p-2 text-sm" data-testid="app-token" data-token-name={token.name}>
      <div className="flex flex-wrap items-center gap-2">
        <span className="font-semibold break-words">{token.name}</span>
        <code className="text-xs text-muted-foreground">…{token.hint}</code>
        {confirm ? (
          <span className="ml-auto flex gap-2">
            <Button size="sm" variant="destructive" disabled={busy} onClick={() => act({ op: "revoke", id: token.id })} data-testid="confirm-revoke">Revoke</Button>
            <Button size="sm" variant="outline" onClick={() => setConfirm(false)}>Keep</Button>
          </span>
        ) : (
          <button type="button" className="mc-link ml-auto text-xs" onClick={() => setConfirm(true)} data-testid="revoke-token">Revoke</button>
        )}
      </div>
      <div className="text-xs text-muted-foreground" data-testid="token-use">Made {when(token.created_at)} · {used}</div>
    </li>
  );
}

export default function ConnectApps() {
  const kept = window.memoryChatNewToken && Date.now() - window.memoryChatNewToken.at < KEEP_NEW_TOKEN_MS ? window.memoryChatNewToken : null;
  const [open, setOpen] = useState(Boolean(kept));
  const [app, setApp] = useState(kept ? kept.app : "claude_desktop");
  const [name, setName] = useState("");
  const [fresh, setFresh] = useState(kept);
  const [tokens, setTokens] = useState(props.tokens || []);
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);

  async function act(payload) {
    setBusy(true);
    try {
      const answer = await callAction({ name: "app_token", payload });
      const result = (answer && answer.response) || {};
      setStatus(result.message || "");
      if (result.tokens) setTokens(result.tokens);
      if (result.ok && result.token) {
        const made = { token: result.token, name: result.created.name, app, at: Date.now() };
        window.memoryChatNewToken = made;
        setFresh(made);
        setName("");
      }
      if (result.ok && payload.op === "revoke" && fresh && !result.tokens.some((t) => t.name === fresh.name)) {
        window.memoryChatNewToken = null;
        setFresh(null);
      }
    } catch (error) {
      setStatus(`That did not work: ${error}. Nothing was changed.`);
    } finally {
      setBusy(false);
    }
  }

  const shown = snippet(app, fresh && fresh.token);
  return (
    <section className="flex flex-col gap-2 p-1 text-foreground w-full min-w-0" data-testid="connect-apps">
      <div className="flex flex-wrap items-center gap-2">
        <Button size="sm" variant={open ? "default" : "outline"} onClick={() => setOpen(!open)} aria-expanded={open} data-testid="connect-app">
          Connect an app
        </Button>
        <span className="text-xs text-muted-foreground" data-testid="token-count">
          {tokens.length ? `${tokens.length} ${tokens.length === 1 ? "token" : "tokens"}` : "For Claude, Cursor, VS Code or a script"}
        </span>
      </div>
      {open ? (
        <div className="flex flex-col gap-2 rounded-md border p-3 text-sm" data-testid="connect-form">
          <p className="text-xs text-muted-foreground">
            Each app gets a token of its own. It reaches only your memories; what it changes shows in the history with its name, and you can revoke it at any time.
          </p>
          <div className="flex flex-wrap gap-1" role="group" aria-label="App">
            {Object.entries(APPS).map(([key, label]) => (
              <button key={key} type="button" className="mc-chip" aria-pressed={app === key} onClick={() => setApp(key)} data-testid="app-choice">{label}</button>
            ))}
          </div>
          <div className="flex flex-wrap gap-2">
            <Input style={{ flex: "1 1 9rem", width: "auto", minWidth: 0 }} value={name} onChange={(e) => setName(e.target.value)} placeholder="Token name, e.g. laptop" aria-label="Token name" data-testid="token-name" />
            <Button size="sm" disabled={busy || !name.trim()} onClick={() => act({ op: "create", name })} data-testid="create-token">Make token</Button>
          </div>
          {fresh ? (
            <div className="flex flex-col gap-1 rounded bg-muted p-2" data-testid="new-token">
              <div className="text-xs font-semibold">Token “{fresh.name}”: copy it now, it is shown only once.</div>
              <code className="mc-snippet" data-testid="new-token-value">{fresh.token}</code>
              <div className="flex gap-2">
                <Copy text={fresh.token} label="Copy token" />
                <Button size="sm" variant="outline" onClick={() => { window.memoryChatNewToken = null; setFresh(null); }} data-testid="token-done">Done</Button>
              </div>
            </div>
          ) : null}
          <div className="text-xs text-muted-foreground">{shown.where}</div>
          <pre className="mc-snippet rounded border p-2" data-testid="app-snippet">{shown.text}</pre>
          <div><Copy text={shown.text} label="Copy" /></div>
          {status ? <div role="status" className="text-xs rounded bg-muted p-2" data-testid="token-status">{status}</div> : null}
          {tokens.length ? (
            <ul className="flex flex-col gap-2" data-testid="token-list">
              {tokens.map((t) => <TokenRow key={t.id} token={t} act={act} busy={busy} />)}
            </ul>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
