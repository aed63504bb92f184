// Konsulta dashboard: small conveniences only; every page works without this file.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit")) {
    field.form.requestSubmit();
  }
});

// Builder: a rule's value menu shows only the values of the question picked.
function showValuesFor(form) {
  const question = form.querySelector("select[data-question]");
  const values = form.querySelector("select[data-values]");
  if (!question || !values) return;
  for (const group of values.querySelectorAll("optgroup")) {
    const mine = group.dataset.for === question.value;
    group.hidden = !mine;
    if (!mine) for (const option of group.querySelectorAll("option")) option.selected = false;
  }
}
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-question")) {
    showValuesFor(field.form);
  }
});
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-question]")) showValuesFor(select.form);
});
