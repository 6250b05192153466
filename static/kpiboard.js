// Draws every Plotly figure embedded as JSON, and shows the custom range inputs when
// "Custom range" is picked. Filter state lives in the URL; this only helps the form.
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
  }
});
