// The console works without this script; it adds confirmations, the live template preview and
// the composer's show-what-applies behaviour.
"use strict";

document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

function livePreview(form) {
  const pane = document.getElementById("preview");
  let timer = null;
  let asked = 0;
  const refresh = async () => {
    const mine = ++asked;
    const body = new FormData(form);
    body.delete("intent");
    const answer = await fetch(form.dataset.preview, {
      method: "POST", body, credentials: "same-origin",
    });
    if (!answer.ok || mine !== asked) return;
    const focused = document.activeElement;
    const keep = focused && pane.contains(focused) ? focused.id : null;
    const caret = keep ? [focused.selectionStart, focused.selectionEnd] : null;
    pane.innerHTML = await answer.text();
    if (keep) {
      const again = document.getElementById(keep);
      if (again) {
        again.focus();
        again.setSelectionRange(caret[0], caret[1]);
      }
    }
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 150);
  };
  // Sample values sit in the preview pane, outside the form they belong to.
  form.addEventListener("input", later);
  pane.addEventListener("input", later);
}

function showWhatApplies(form) {
  // Fieldsets marked data-when="name=value" (or "name=one|other") show only while that radio or
  // select has that value (one of those values); hidden, their inputs are not sent.
  const update = () => {
    for (const part of form.querySelectorAll("[data-when]")) {
      const [name, values] = part.dataset.when.split("=");
      const chosen = form.querySelector(`[name="${name}"]:checked`) || form.querySelector(`select[name="${name}"]`);
      const on = Boolean(chosen) && values.split("|").includes(chosen.value);
      part.hidden = !on;
      part.disabled = !on;
    }
  };
  form.addEventListener("change", update);
  update();
}

function headerHint(select) {
  // The CSV columns the chosen template needs.
  const hint = document.getElementById(select.dataset.headerHint);
  select.addEventListener("change", () => {
    hint.textContent = select.selectedOptions[0].dataset.header;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-preview]").forEach(livePreview);
  document.querySelectorAll("form[data-shows]").forEach(showWhatApplies);
  document.querySelectorAll("select[data-header-hint]").forEach(headerHint);
});
