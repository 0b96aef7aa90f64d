// Draws the report's stacked bar chart (early, on time, late per row) from the JSON block
// the page carries, so that the page needs no inline script.
(function () {
  "use strict";
  const source = document.getElementById("report-chart");
  const canvas = document.getElementById("report-canvas");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  const chart = JSON.parse(source.textContent);
  const colours = ["#198754", "#0d6efd", "#dc3545"];
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: chart.labels,
      datasets: chart.datasets.map((dataset, index) => ({
        label: dataset.label,
        data: dataset.data,
        backgroundColor: colours[index % colours.length],
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { stacked: true },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });
})();
