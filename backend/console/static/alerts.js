// New-conversation alerts on the queue page: a short sound (made with WebAudio, nothing downloaded), a
// desktop notification (permission asked on a click, never on load) and the tab title counting the
// conversations waiting for a person: "(3) 待办队列 · 客服工作台". One mute switch, kept in localStorage,
// silences all three. Every word shown comes from the page (#alerts' data-said-* attributes).
(function () {
  const box = document.getElementById("alerts");
  const rows = document.getElementById("queue-rows");
  if (!box || !rows) return;
  const said = box.dataset;
  const MUTED = "console.alerts.muted";
  const baseTitle = document.title;
  const muteButton = box.querySelector(".mute");
  const notifyButton = box.querySelector(".notify");
  let audio = null;

  function muted() {
    try { return window.localStorage.getItem(MUTED) === "1"; } catch (error) { return false; }
  }

  function waiting() {
    return Array.from(rows.querySelectorAll('tr.queue-row[data-state="queued"]')).map((r) => r.dataset.conversation);
  }

  function showTitle() {
    const count = waiting().length;
    document.title = !muted() && count > 0 ? `(${count}) ${baseTitle}` : baseTitle;
  }

  function showMute() {
    const on = muted();
    muteButton.textContent = on ? said.saidMuted : said.saidUnmuted;
    muteButton.setAttribute("aria-pressed", on ? "true" : "false");
    if (notifyButton) {
      const asked = !("Notification" in window) || window.Notification.permission !== "default";
      notifyButton.hidden = asked;
    }
  }

  // Browsers let a page make sound only after the person has clicked on it: the first click prepares it.
  function prepareSound() {
    if (audio || !(window.AudioContext || window.webkitAudioContext)) return;
    audio = new (window.AudioContext || window.webkitAudioContext)();
  }

  function beep() {
    if (!audio) prepareSound();
    if (!audio) return;
    if (audio.state === "suspended") audio.resume();
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.type = "sine";
    tone.frequency.value = 880;
    volume.gain.setValueAtTime(0.0001, audio.currentTime);
    volume.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
    volume.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35);
    tone.connect(volume).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.4);
  }

  function notify(count) {
    if (!("Notification" in window) || window.Notification.permission !== "granted") return;
    const note = new window.Notification(said.saidTitle, {
      body: said.saidBody.replace("{count}", String(count)),
      tag: "console-queue",
    });
    note.onclick = () => { window.focus(); note.close(); };
  }

  let seen = new Set(waiting());
  function onChange() {
    const now = waiting();
    const fresh = now.filter((id) => !seen.has(id));
    seen = new Set([...seen, ...now]);
    showTitle();
    if (fresh.length > 0 && !muted()) {
      beep();
      notify(now.length);
    }
  }

  new MutationObserver(onChange).observe(rows, { childList: true });
  document.addEventListener("click", prepareSound, { once: true });
  muteButton.addEventListener("click", () => {
    try { window.localStorage.setItem(MUTED, muted() ? "0" : "1"); } catch (error) { /* private mode */ }
    showMute();
    showTitle();
  });
  if (notifyButton) {
    notifyButton.addEventListener("click", () => {
      if (!("Notification" in window)) return;
      Promise.resolve(window.Notification.requestPermission()).then(showMute);
    });
  }
  showMute();
  showTitle();
})();
