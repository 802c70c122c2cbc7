// The conversation page: keep the newest line in view, and say so when the conversation changes hands.
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
})();
