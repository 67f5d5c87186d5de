// Memory chat's additions to Chainlit's page (loaded by .chainlit/config.toml's custom_js):
// - a permanent "Memories" button in the header, on desktop and phone, that opens or closes the panel;
// - an indicator in the header when memory is off, or in a temporary chat;
// - links to memories (#memory-<id>, in the "Recalled" step) that open the panel on that memory;
// - on the login page in open mode, a note that any name and password sign in;
// - a clear "not found" instead of a dead page on a thread that is not the user's.
//
// The page talks to the server through window.postMessage: Chainlit forwards every window message
// to the server's @cl.on_window_message, and posts the server's cl.send_window_message to the window.
// Requests carry `memoryChat` (open-panel, panel-closed, panel-moved); the server's state messages
// carry `memoryChat: "state"`, and after every turn `memoryChat: "memory-checked"` (its memory update
// is done, or none was due), which tests wait on instead of waiting for nothing to happen.
(() => {
  const settings = window.memoryChat || {};
  const state = { memory: "on" };
  const WIDE = "(min-width: 768px)";
  const isWide = () => window.matchMedia(WIDE).matches;
  const post = (request) => window.postMessage({ ...request, wide: isWide() }, window.location.origin);
  const panelShown = () => Boolean(document.querySelector('[data-testid="memory-sidebar"]'));
  window.memoryChatPost = post; // the panel and the notices (public/elements/*.jsx) post through it

  const ICON =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" ' +
    'stroke-linejoin="round" aria-hidden="true"><path d="M12 5a3 3 0 1 0-5.997.125 4 4 0 0 0-2.526 5.77 4 4 0 0 0 .556 6.588A4 4 0 1 0 12 18Z"/>' +
    '<path d="M12 5a3 3 0 1 1 5.997.125 4 4 0 0 1 2.526 5.77 4 4 0 0 1-.556 6.588A4 4 0 1 1 12 18Z"/><path d="M12 5v13"/></svg>';
  const STATE_TEXT = {
    off: ["Memory off", "Long-term memory is off: chats neither read nor write your memories. Turn it on in Settings."],
    temporary: ["Temporary chat", "This chat neither reads nor writes memory, and is removed when you leave it."],
  };

  function closePanel() {
    const desktopClose = document.querySelector("#side-view-title button");
    if (desktopClose) return desktopClose.click();
    const sheet = document.querySelector('[role="dialog"]:has(#side-view-content)');
    const sheetClose = sheet && [...sheet.querySelectorAll("button")].find((b) => !b.closest("#side-view-content"));
    if (sheetClose) sheetClose.click();
  }

  function headerControls() {
    const header = document.getElementById("header");
    const right = header && header.lastElementChild;
    if (!right) return;
    let button = document.getElementById("memories-button");
    if (!button) {
      button = document.createElement("button");
      button.id = "memories-button";
      button.type = "button";
      button.title = "Your memories: see, search, edit, undo";
      button.setAttribute("aria-label", "Memories");
      button.innerHTML = `${ICON}<span class="mc-label">Memories</span>`;
      button.addEventListener("click", () => (panelShown() ? closePanel() : post({ memoryChat: "open-panel", byUser: true })));
      right.prepend(button);
    }
    button.setAttribute("aria-pressed", String(panelShown()));
    let indicator = document.getElementById("memory-state");
    if (!indicator) {
      indicator = document.createElement("span");
      indicator.id = "memory-state";
      indicator.setAttribute("role", "status");
      right.prepend(indicator);
    }
    const [text, title] = STATE_TEXT[state.memory] || ["Memory on", ""];
    indicator.dataset.state = state.memory;
    indicator.textContent = text;
    indicator.title = title;
  }

  function loginNote() {
    if (settings.authMode !== "open" || !window.location.pathname.endsWith("/login")) return;
    const form = document.querySelector("form");
    if (!form || document.getElementById("login-mode-note")) return;
    const note = document.createElement("p");
    note.id = "login-mode-note";
    note.textContent =
      "Open mode: any name signs you in, with any password. Each name has its own chats and memories " +
      "(fine on your own machine; set APP_AUTH_MODE=password to require passwords).";
    form.firstElementChild ? form.firstElementChild.after(note) : form.prepend(note);
  }

  // A thread that is not the user's (or no longer exists): Chainlit leaves a "Couldn't resume chat"
  // toast and a "Could not reach the server" banner over an empty chat. Say what happened instead.
  let lastThreadPath = /\/thread\/[^/]+$/.test(window.location.pathname) ? window.location.pathname : "";
  function threadNotFound() {
    if (/\/thread\/[^/]+$/.test(window.location.pathname)) lastThreadPath = window.location.pathname;
    if (!lastThreadPath || document.getElementById("thread-not-found")) return;
    const resumeFailed = [...document.querySelectorAll("[data-sonner-toast]")].some((e) =>
      /couldn.t resume chat/i.test(e.textContent || "")
    );
    if (!resumeFailed) return;
    const box = document.createElement("div");
    box.id = "thread-not-found";
    box.setAttribute("role", "alert");
    box.innerHTML =
      '<div><h1 style="font-size:1.5rem;font-weight:700;margin-bottom:.5rem">Chat not found</h1>' +
      "<p>This chat does not exist, or it belongs to another account.</p>" +
      '<p style="margin-top:1rem"><a href="/" data-testid="back-to-chats">Back to your chats</a></p></div>';
    document.body.append(box);
  }

  let scheduled = false;
  function refresh() {
    scheduled = false;
    headerControls();
    loginNote();
    threadNotFound();
  }
  new MutationObserver(() => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(refresh);
    }
  }).observe(document.documentElement, { childList: true, subtree: true });

  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.origin !== window.location.origin || !data) return;
    if (data.memoryChat === "memory-checked") {
      window.memoryChatChecked = (window.memoryChatChecked || 0) + 1; // a turn's memory update is done
      return;
    }
    if (data.memoryChat !== "state") return;
    state.memory = data.memory || "on";
    window.memoryChatState = data; // what the session said: tests read panelPreferred from it
    // Each new chat session sends its state. Chainlit may connect twice at start (once more when it
    // picks the default chat profile) and reset the panel then, so ask even if a panel is showing.
    if (data.panelPreferred && isWide()) post({ memoryChat: "open-panel" });
    window.memoryChatStateAt = Date.now(); // tests wait for the session to settle on this
    refresh();
  });

  document.addEventListener(
    "click",
    (event) => {
      const link = event.target instanceof Element ? event.target.closest('a[href*="#memory-"]') : null;
      if (!link) return;
      event.preventDefault();
      event.stopPropagation();
      post({ memoryChat: "open-panel", focus: link.getAttribute("href").split("#memory-")[1] });
    },
    true
  );
})();
