// The bank's deliveries per hour, drawn with the vendored Chart.js from the JSON the page embeds.
(function () {
  "use strict";
  var canvas = document.getElementById("delivery-chart");
  var source = document.getElementById("delivery-chart-data");
  if (!canvas || !source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [
        { label: "Delivered", data: data.delivered, backgroundColor: "#00703c", stack: "s" },
        { label: "Not delivered (yet)", data: data.other, backgroundColor: "#d4351c", stack: "s" }
      ]
    },
    options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
  });
})();
