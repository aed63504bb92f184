// Konsulta dashboard: small conveniences only; every page works without this file.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit")) {
    field.form.requestSubmit();
  }
});

// The broadcast form's segment builder: show the fields of each row's kind and the
// options of the row's question, add a blank row once the last one is used, and
// refresh the count of recipients as staff change the rows (the "Count" button does
// the same without JavaScript).
for (const builder of document.querySelectorAll("form[data-segment-builder]")) {
  const list = builder.querySelector(".segment-rows");
  const output = builder.querySelector("output[data-audience]");
  let asked = 0;
  let timer = 0;

  const syncRow = (row) => {
    const kind = row.querySelector("[data-row-kind]").value;
    for (const part of row.querySelectorAll("[data-for]")) {
      part.hidden = part.dataset.for !== kind;
    }
    const step = row.querySelector("[data-row-step]");
    for (const group of row.querySelectorAll("optgroup[data-step]")) {
      const shown = step !== null && group.dataset.step === step.value;
      group.hidden = !shown;
      if (!shown) {
        for (const option of group.querySelectorAll("option")) option.selected = false;
      }
    }
  };

  const addBlankRow = () => {
    const rows = list.querySelectorAll("[data-segment-row]");
    const last = rows[rows.length - 1];
    const most = Number(builder.dataset.maxRows);
    if (last.querySelector("[data-row-kind]").value === "" || rows.length >= most) return;
    const blank = last.cloneNode(true);
    for (const field of blank.querySelectorAll("[name]")) {
      field.name = field.name.replace(/^row-\d+-/, `row-${rows.length}-`);
      if (field.type === "checkbox") field.checked = false;
      if (field instanceof HTMLSelectElement) {
        for (const option of field.options) option.selected = false;
        if (!field.multiple) field.selectedIndex = 0;
      }
    }
    list.append(blank);
    syncRow(blank);
  };

  const refresh = async () => {
    const mine = ++asked;
    const response = await fetch(builder.dataset.countUrl, {
      method: "POST",
      body: new FormData(builder),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok || mine !== asked) return; // a newer count is on its way
    const counted = await response.json();
    output.innerHTML = counted.html; // rendered and escaped by the server's template
    output.dataset.total = String(counted.total);
  };

  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  };

  for (const row of list.querySelectorAll("[data-segment-row]")) syncRow(row);
  builder.addEventListener("change", (event) => {
    const row = event.target.closest("[data-segment-row]");
    if (row) {
      syncRow(row);
      addBlankRow();
    }
    later();
  });
  builder.addEventListener("input", (event) => {
    if (event.target instanceof HTMLTextAreaElement) later(); // texts change the fallbacks
  });
}
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
