// The reports' charts: each canvas drawn from the JSON block that names it (the Chart.js
// config the hub made, collection/charts.py); the same figures are in the table under it.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Chart === "undefined") return;
  for (const block of document.querySelectorAll('script[type="application/json"][data-chart]')) {
    const canvas = document.getElementById(block.dataset.chart);
    if (canvas) new Chart(canvas, JSON.parse(block.textContent));
  }
});
