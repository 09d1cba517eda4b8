// Every report chart on the page, drawn with the vendored Chart.js from the JSON element its canvas names.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  // Colours that stay apart for people with the common colour-vision deficiencies (Okabe-Ito).
  var palette = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7a5c00", "#000000"];
  var canvases = document.querySelectorAll("canvas[data-chart]");
  Array.prototype.forEach.call(canvases, function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var datasets = data.datasets.map(function (set, index) {
      return {
        label: set.label, data: set.data, backgroundColor: palette[index % palette.length],
        stack: data.stacked ? "s" : undefined, maxBarThickness: 56
      };
    });
    new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { position: "bottom" } },
        scales: {
          x: { stacked: data.stacked },
          y: { stacked: data.stacked, beginAtZero: true, ticks: { precision: 0 } }
        }
      }
    });
  });
})();
