// Draws every Plotly figure embedded as JSON, shows the custom range inputs when
// "Custom range" is picked, and sends the dataset upload form with a progress bar.
// Filter state lives in the URL; this only helps the form. Every script of the site is in
// this file: the Content-Security-Policy allows no inline script.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-figure]").forEach((el) => {
    const source = document.getElementById(el.dataset.figure);
    if (!source || !window.Plotly) return;
    const figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(el, figure.data, figure.layout, { responsive: true, displaylogo: false })
      .then(() => el.setAttribute("data-rendered", "true"));
  });
  const windowSelect = document.getElementById("id_window");
  const range = document.querySelector(".custom-range");
  if (windowSelect && range) {
    windowSelect.addEventListener("change", () => {
      const custom = windowSelect.value === "";
      range.hidden = !custom;
      range.querySelectorAll("input").forEach((input) => {
        input.disabled = !custom;
      });
      // A named window applies at once; a custom range waits for its dates and Apply.
      if (!custom) windowSelect.form.requestSubmit();
    });
    if (windowSelect.value !== "") {
      range.querySelectorAll("input").forEach((input) => { input.disabled = true; });
    }
  }
  // Submitting a filter: leave out empty fields so shared URLs stay short.
  const bar = document.getElementById("filter-bar");
  if (bar) {
    bar.addEventListener("submit", () => {
      bar.querySelectorAll("select, input").forEach((field) => {
        if (!field.value) field.disabled = true;
      });
    });
    bar.querySelectorAll("select").forEach((select) => {
      if (select.id !== "id_window") select.addEventListener("change", () => bar.requestSubmit());
    });
    // "Compare with previous period" applies at once, like the selects.
    const compare = document.getElementById("id_compare");
    if (compare) compare.addEventListener("change", () => bar.requestSubmit());
  }
  const uploadForm = document.getElementById("upload-form");
  if (uploadForm) uploadFormWire(uploadForm);
});

// The file goes straight to the API (the same endpoint scripts use), so the browser can
// report upload progress; the server then profiles it and answers with the profile's page.
function uploadFormWire(uploadForm) {
  uploadForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    const data = new FormData(form);
    const dataset = data.get("dataset").trim();
    data.delete("dataset");
    for (const [key, value] of [...data.entries()]) { if (value === "") data.delete(key); }
    const progress = document.getElementById("upload-progress");
    const status = document.getElementById("upload-status");
    const request = new XMLHttpRequest();
    request.open("POST", "/api/v1/datasets/" + encodeURIComponent(dataset) + "/versions/");
    request.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    request.setRequestHeader("Accept", "application/json");
    progress.hidden = false; progress.value = 0; status.textContent = "Uploading…";
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) progress.value = Math.round(100 * e.loaded / e.total);
    });
    request.upload.addEventListener("load", () => { progress.value = 100; status.textContent = "Profiling…"; });
    request.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch (e) { body = {}; }
      if (request.status === 201) {
        status.innerHTML = "";
        const link = document.createElement("a");
        link.href = body.page; link.id = "upload-result";
        link.textContent = `Version ${body.version} of ${body.dataset}: ${body.rows.toLocaleString()} rows profiled`;
        status.appendChild(link);
      } else {
        // Every push refuses with {detail, error_count, errors: [{index, field, reason}]};
        // DRF's own refusals (a role that may not write) carry only {detail}.
        const reasons = Array.isArray(body.errors)
          ? body.errors.map((e) => `${e.field}: ${e.reason}`)
          : (body.detail ? [body.detail] : []);
        status.textContent = `Refused (${request.status}): ${reasons.join("; ") || request.statusText}`;
        status.className = "errors";
      }
    });
    request.addEventListener("error", () => { status.textContent = "The upload failed: network error."; status.className = "errors"; });
    status.className = "";
    request.send(data);
  });
}
