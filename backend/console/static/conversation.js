// The conversation page: keep the newest line in view, say so when the conversation changes hands, and
// save internal notes without leaving the page (the note then appears in the timeline by the live stream).
(function () {
  const transcript = document.getElementById("transcript");
  const scrollDown = () => { transcript.scrollTop = transcript.scrollHeight; };
  scrollDown();
  document.body.addEventListener("htmx:sseMessage", (event) => {
    if (event.detail.type === "message") {
      scrollDown();
    } else if (event.detail.type === "state") {
      document.getElementById("changed").hidden = false;
    }
  });
  // A photo the shipper sends while the agent watches joins the Photos panel too, not only the transcript.
  const photosPanel = document.getElementById("photos-panel");
  const photos = document.getElementById("photos");
  document.body.addEventListener("htmx:sseMessage", (event) => {
    if (event.detail.type !== "message" || !photos) return;
    const line = transcript.lastElementChild;
    if (!line) return;
    line.querySelectorAll("a.photo").forEach((link) => {
      if (photos.querySelector(`a.photo[href="${link.getAttribute("href")}"]`)) return;
      photos.appendChild(link.cloneNode(true));
      photosPanel.hidden = false;
    });
  });

  // SLA countdowns: time left to the deadline the agent works against, counted down live; red once past.
  // The words come from the page (data-*), in the reader's language.
  const fill = (pattern, values) => pattern.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
  const countdowns = document.querySelectorAll(".countdown[data-due]");
  const tick = () => {
    countdowns.forEach((element) => {
      const seconds = Math.trunc((new Date(element.dataset.due) - Date.now()) / 1000);
      const minutes = Math.floor(Math.abs(seconds) / 60);
      const hours = Math.floor(minutes / 60);
      const span = hours
        ? fill(element.dataset.hm, {hours, minutes: minutes % 60})
        : fill(element.dataset.m, {minutes});
      element.querySelector(".countdown-text").textContent = fill(seconds >= 0 ? element.dataset.left : element.dataset.over, {time: span});
      element.classList.toggle("breached", seconds < 0);
    });
  };
  if (countdowns.length) {
    tick();
    setInterval(tick, 15000);
  }

  // The live stream may deliver the same line twice (a reconnect): keep the first.
  document.body.addEventListener("htmx:sseBeforeMessage", (event) => {
    const probe = document.createElement("template");
    probe.innerHTML = event.detail.data || "";
    const line = probe.content.firstElementChild;
    if (!line) return;
    const key = line.dataset.note ? `[data-note="${line.dataset.note}"]` : line.dataset.message ? `[data-message="${line.dataset.message}"]` : null;
    if (key && transcript.querySelector(key)) event.preventDefault();
  });

  // Canned replies: "/code" then Tab or Enter in the reply box, or the picker above it. The server fills
  // the variables from the conversation's record; the agent can still edit the text before sending.
  const replyBox = document.getElementById("reply-text");
  const picker = document.getElementById("canned-pick");
  if (replyBox && picker) {
    const codes = new Map(Array.from(picker.options).filter((o) => o.value).map((o) => [o.dataset.code, o.value]));
    const filled = async (id) => {
      const response = await fetch(picker.dataset.url + encodeURIComponent(id), {credentials: "same-origin"});
      if (!response.ok) return null;
      return (await response.json()).text;
    };
    const put = (text, start, end) => {
      replyBox.setRangeText(text, start, end, "end");
      replyBox.dispatchEvent(new Event("input", {bubbles: true}));
      replyBox.focus();
    };
    replyBox.addEventListener("keydown", async (event) => {
      if ((event.key !== "Tab" && event.key !== "Enter") || event.ctrlKey || event.shiftKey || event.altKey || event.metaKey) return;
      const before = replyBox.value.slice(0, replyBox.selectionStart);
      const typed = before.match(/(?:^|\s)\/([\w-]+)$/u);
      const id = typed && codes.get(typed[1].toLowerCase());
      if (!id) return;
      event.preventDefault();
      const start = replyBox.selectionStart - typed[1].length - 1;
      const end = replyBox.selectionStart;
      const text = await filled(id);
      if (text !== null) put(text, start, end);
    });
    picker.addEventListener("change", async () => {
      if (!picker.value) return;
      const text = await filled(picker.value);
      picker.value = "";
      if (text !== null) put(text, replyBox.selectionStart, replyBox.selectionEnd);
    });
  }

  // Keyboard shortcuts, listed on the "?" overlay: Ctrl+Enter sends, Alt+C claims, Alt+H hands back,
  // Alt+N opens the conversation waiting longest, Esc closes the overlay. event.code, not event.key:
  // Alt+C types "ç" on a Mac keyboard.
  const overlay = document.getElementById("shortcuts");
  const showHelp = (shown) => {
    overlay.hidden = !shown;
    if (shown) document.getElementById("shortcuts-close").focus();
  };
  document.getElementById("shortcuts-close").addEventListener("click", () => showHelp(false));
  const submit = (id) => {
    const form = document.getElementById(id);
    if (!form) return false;
    form.requestSubmit();
    return true;
  };
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest && event.target.closest("input, textarea, select, [contenteditable]");
    if (event.key === "Escape" && !overlay.hidden) {
      event.preventDefault();
      showHelp(false);
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.id === "reply-text") {
      event.preventDefault();
      submit("reply-form");
    } else if (event.altKey && !event.ctrlKey && !event.metaKey) {
      const action = {KeyC: () => submit("claim-form"), KeyH: () => submit("hand-back-form"),
        KeyN: () => { window.location.href = "/console/next"; return true; }}[event.code];
      if (action && action()) event.preventDefault();
    } else if (event.key === "?" && !typing) {
      event.preventDefault();
      showHelp(overlay.hidden);
    }
  });

  const noteForm = document.getElementById("note-form");
  if (!noteForm) return;
  const status = document.getElementById("note-status");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  noteForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const field = noteForm.elements.text;
    const button = noteForm.querySelector("button");
    status.textContent = noteForm.dataset.saving;
    button.disabled = true;
    try {
      const response = await fetch(noteForm.dataset.api, {
        method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
        body: JSON.stringify({text: field.value}),
        credentials: "same-origin",
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        status.textContent = body.detail || noteForm.dataset.failed;
        return;
      }
      field.value = "";
      status.textContent = noteForm.dataset.saved;
    } catch (error) {
      status.textContent = noteForm.dataset.failed;
    } finally {
      button.disabled = false;
    }
  });
})();
