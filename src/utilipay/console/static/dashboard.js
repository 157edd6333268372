// The dashboard's chart: payments per day and channel, from the page's JSON (the same
// figures are in the table under it).
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("daily-data").textContent);
  const canvas = document.getElementById("daily-chart");
  if (!canvas || typeof Chart === "undefined") return;
  new Chart(canvas, {
    type: "line",
    data: {
      labels: data.days,
      datasets: Object.entries(data.series).map(([code, counts]) => ({ label: code, data: counts })),
    },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
  });
});
