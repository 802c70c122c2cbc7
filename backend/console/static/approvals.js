// The approve and reject buttons: decide through the JSON API (naming the request and its amount), then
// show the outcome in place of the buttons, so a decided request never keeps a button to press again.
// Every sentence shown comes from the page (the box's data-said-* attributes, in the reader's language).
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const outcome = { approve: "saidApproved", reject: "saidRejected" };

  async function decide(form) {
    const box = form.closest(".approval");
    const said = box.dataset;
    const result = box.querySelector(".decision-result");
    const buttons = box.querySelectorAll(".decide button");
    buttons.forEach((b) => { b.disabled = true; });
    const decision = form.dataset.decision;
    const amount = form.elements.amount_cny.value;
    let response;
    try {
      response = await fetch(`/console/api/approvals/${box.dataset.request}/${decision}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ amount_cny: amount }),
      });
    } catch (error) {
      buttons.forEach((b) => { b.disabled = false; });
      result.textContent = said.saidUnreachable;
      result.hidden = false;
      return;
    }
    const body = await response.json().catch(() => ({}));
    box.querySelector(".decide").remove();
    if (response.ok) {
      box.classList.remove("approval-pending");
      box.classList.add(`approval-${body.status}`);
      box.querySelector(".approval-state").textContent = said[outcome[decision]];
      result.hidden = true;
    } else {
      // 409: changed or decided by someone else since this page was drawn; the page must be read again.
      // The API's refusal is in the reader's language already.
      result.textContent = `${body.detail || said.saidFailed} ${said.saidReload}`;
      result.hidden = false;
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target.closest(".decide-form");
    if (!form) return;
    event.preventDefault();
    decide(form);
  });
})();
